"""client.datasets against a real server: upload in every form, versions, download."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

import ferry


def test_upload_file_list_versions_and_get(client, tmp_path, unique):
    path = tmp_path / "scores.csv"
    path.write_text("id,score\n1,0.5\n2,0.25\n")
    added = client.datasets.upload(unique, path, message="first", tag="v-one")
    assert added["created"] is True
    version = added["version"]
    assert version["ref"] == f"{unique}@1"
    assert version["rows"] == 2
    assert version["source"] == "scores.csv"
    assert version["tags"] == ["v-one"]
    assert version["content_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    again = client.datasets.upload(unique, path)
    assert again["created"] is False  # same content as the latest version: no new version

    names = {d["name"]: d for d in client.datasets.list()}
    assert names[unique]["versions"] == 1
    assert [v["version"] for v in client.datasets.versions(unique)] == [1]
    assert client.datasets.get(unique, "v-one")["version"] == 1
    assert client.datasets.get(unique)["content_sha256"] == version["content_sha256"]


def test_upload_dataframe_rows_bytes_and_file_object(client, tmp_path, unique):
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None],
                          "at": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-02T12:30:00Z",
                                                "2026-01-03T00:00:00Z"], utc=True)})
    v1 = client.datasets.upload(unique, frame)["version"]
    assert v1["rows"] == 3 and v1["format"] == "csv" and v1["source"] == f"{unique}.csv"
    types = {c["name"]: c["type"] for c in v1["schema"]}
    assert types["id"] == "int64" and types["name"] == "string"

    v2 = client.datasets.upload(unique, [{"id": 1, "x": 0.5}, {"id": 2, "x": None}])["version"]
    assert v2["version"] == 2 and v2["format"] == "jsonl" and v2["rows"] == 2

    v3 = client.datasets.upload(unique, b"id,x\n9,1.5\n", filename="b.csv")["version"]
    assert v3["version"] == 3 and v3["source"] == "b.csv"

    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(3000))
    with open(path, "rb") as f:
        v4 = client.datasets.upload(unique, f, filename="blob.bin", format="opaque")["version"]
    assert v4["format"] == "opaque" and v4["size"] == 3000


def test_download_is_byte_identical_and_atomic(client, tmp_path, unique, monkeypatch):
    source = tmp_path / "big.csv"
    with open(source, "w") as f:
        f.write("id,value,label\n")
        for i in range(200_000):
            f.write(f"{i},{i * 0.5},{'abc'[i % 3]}\n")
    client.datasets.upload(unique, source)
    out = tmp_path / "out" / "copy.csv"
    out.parent.mkdir()
    written = client.datasets.download(unique, 1, out)
    assert written == str(out)
    assert out.read_bytes() == source.read_bytes()
    assert not [p for p in out.parent.iterdir() if p.name != "copy.csv"]  # no temp files

    # Without a path: the version's source file name, in the current folder.
    monkeypatch.chdir(tmp_path / "out")
    name = client.datasets.download(unique)
    assert os.path.basename(name) == "big.csv"
    assert (tmp_path / "out" / "big.csv").read_bytes() == source.read_bytes()


def test_to_df_and_rows(client, unique):
    client.datasets.upload(unique, b"id,score,who\n1,0.5,x\n2,,y\n", filename="s.csv")
    frame = client.datasets.to_df(unique)
    assert list(frame.columns) == ["id", "score", "who"]
    assert frame["id"].tolist() == [1, 2]
    assert frame["score"].iloc[0] == 0.5 and pd.isna(frame["score"].iloc[1])
    assert client.datasets.rows(unique) == [{"id": "1", "score": "0.5", "who": "x"},
                                            {"id": "2", "score": None, "who": "y"}]
    client.datasets.upload(unique, [{"a": 1, "b": "z"}])
    assert client.datasets.to_df(unique, 2).to_dict(orient="records") == [{"a": 1, "b": "z"}]


def test_opaque_version_is_not_a_table(client, unique):
    client.datasets.upload(unique, b"\x00\x01binary", filename="x.bin", format="opaque")
    with pytest.raises(ValueError, match="not a table"):
        client.datasets.to_df(unique)


def test_errors_name_the_problem_and_store_nothing(client, tmp_path, unique):
    with pytest.raises(ferry.NotFound) as e:
        client.datasets.versions(f"{unique}-missing")
    assert e.value.status == 404 and e.value.code == "not_found"
    assert f"{unique}-missing" in e.value.message

    with pytest.raises(ferry.BadRequest) as e:
        client.datasets.upload("bad name!", b"id\n1\n")
    assert e.value.code == "invalid_argument" and "bad name!" in e.value.message

    with pytest.raises(ferry.BadRequest) as e:
        client.datasets.upload(unique, b"id,score\n1,0.5\n2,0.5,extra\n", filename="bad.csv")
    assert "line 3" in e.value.message or "row" in e.value.message
    with pytest.raises(ferry.NotFound):
        client.datasets.get(unique)  # the refused upload stored nothing

    client.datasets.upload(unique, b"id\n1\n", filename="a.csv", tag="t")
    with pytest.raises(ferry.AlreadyExists) as e:
        client.datasets.upload(unique, b"id\n2\n", filename="a.csv", tag="t")
    assert isinstance(e.value, ferry.Conflict) and e.value.status == 409
    assert [v["version"] for v in client.datasets.versions(unique)] == [1]

    with pytest.raises(ferry.NotFound):
        client.datasets.download(unique, 7, tmp_path / "nothing.csv")
    assert not (tmp_path / "nothing.csv").exists()
    assert not list(tmp_path.glob(".ferry-download-*"))

    with pytest.raises(FileNotFoundError):
        client.datasets.upload(unique, tmp_path / "no-such-file.csv")
    with pytest.raises(TypeError):
        client.datasets.upload(unique, 42)


def test_profile_lineage_and_diff(client, unique):
    client.datasets.upload(unique, b"id,score\n1,0.5\n2,1.5\n", filename="s.csv")
    client.datasets.upload(unique, b"id,score,who\n1,0.5,x\n2,2.5,y\n", filename="s.csv")
    profile = client.datasets.profile(unique, 1)
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["score"]["min"] == 0.5 and columns["score"]["max"] == 1.5
    assert sum(columns["score"]["histogram"]["counts"]) == 2
    diff = client.datasets.diff(unique, 1, to=f"{unique}@2")
    assert diff["before"] == f"{unique}@1" and diff["after"] == f"{unique}@2"
    assert diff["profile"]["added_columns"] == [{"name": "who", "type": "string"}]
    assert client.datasets.lineage(unique, 2)["version"] == f"{unique}@2"
    client.datasets.upload(unique, b"\x00", filename="x.bin", format="opaque")
    assert client.datasets.profile(unique) is None
    with pytest.raises(ferry.BadRequest):
        client.datasets.diff(unique, 1, to="not a ref")
    with pytest.raises(ferry.NotFound):
        client.datasets.profile(unique, 99)
