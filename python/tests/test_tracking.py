"""client.start_run: params, metric series, tags, inputs and artifacts, sent in batches
by a background thread; runs end FINISHED / FAILED; search pages."""

from __future__ import annotations

import hashlib
import math
import time

import pytest

import ferry


def test_run_logs_everything_and_finishes(client, tmp_path, unique):
    client.datasets.upload(f"{unique}-data", b"id,x\n1,2\n", filename="d.csv")
    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(b"\x01\x02" * 5000)
    with client.start_run(experiment=unique, name="first", params={"seed": 7},
                          tags={"team": "risk"}) as run:
        assert isinstance(run, ferry.ActiveRun) and len(run.run_id) == 32
        run.log_param("max_depth", 3)
        run.log_params({"eta": 0.1, "booster": "gbtree", "early": True})
        for step in range(10):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metrics({"auc": 0.93, "nan": float("nan"), "inf": float("inf")}, step=9)
        run.set_tag("stage", "dev")
        run.log_input(f"{unique}-data@1", role="train")
        stored = run.log_artifact(artifact, name="model/weights.bin")
        assert stored["size"] == 10000
        assert stored["digest"].endswith(hashlib.sha256(artifact.read_bytes()).hexdigest())

    got = client.tracking.get_run(run.run_id)
    assert got["info"]["status"] == "FINISHED" and got["info"]["experiment"] == unique
    assert got["params"] == {"seed": "7", "max_depth": "3", "eta": "0.1", "booster": "gbtree",
                             "early": "true"}
    assert got["tags"]["team"] == "risk" and got["tags"]["stage"] == "dev"
    assert got["metrics"]["auc"]["value"] == 0.93
    assert got["metrics"]["loss"]["step"] == 9
    history = client.tracking.metric_history(run.run_id, "loss")
    assert [p["step"] for p in history] == list(range(10))
    assert history[3]["value"] == 0.25
    assert math.isnan(client.tracking.metric_history(run.run_id, "nan")[0]["value"])
    assert client.tracking.metric_history(run.run_id, "inf")[0]["value"] == math.inf
    assert got["inputs"][0]["dataset_version"] == f"{unique}-data@1"
    assert got["inputs"][0]["role"] == "train"
    assert [a["path"] for a in got["artifacts"]] == ["model/weights.bin"]
    assert [a["path"] for a in client.tracking.artifacts(run.run_id)] == ["model/weights.bin"]
    copy = client.tracking.download_artifact(run.run_id, "model/weights.bin", tmp_path / "w.bin")
    assert (tmp_path / "w.bin").read_bytes() == artifact.read_bytes() and copy.endswith("w.bin")
    with pytest.raises(ferry.NotFound):
        client.tracking.download_artifact(run.run_id, "model/nope.bin", tmp_path / "n.bin")
    with pytest.raises(ferry.BadRequest):
        client.tracking.download_artifact(run.run_id, "../etc/passwd", tmp_path / "n.bin")
    assert not (tmp_path / "n.bin").exists()
    assert unique in [e["name"] for e in client.tracking.experiments()]


def test_metrics_go_in_batches_in_the_background(client, unique):
    with client.start_run(experiment=unique, flush_interval=0.2, max_pending=500) as run:
        start = time.monotonic()
        for step in range(12_000):  # more than one batch's worth (the server takes 10,000)
            run.log_metric("x", step * 0.5, step=step)
        assert time.monotonic() - start < 5  # logging does not wait for the server
        run.flush()
        # Flushed means stored: visible before the run ends.
        assert len(client.tracking.metric_history(run.run_id, "x")) == 12_000
        run.log_metric("late", 1.0)
        time.sleep(0.6)  # the interval flush sends it without being asked
        assert client.tracking.get_run(run.run_id)["metrics"]["late"]["value"] == 1.0


def test_a_failing_block_marks_the_run_failed(client, unique):
    with pytest.raises(ZeroDivisionError):
        with client.start_run(experiment=unique) as run:
            run.log_metric("before", 1.0)
            1 / 0
    got = client.tracking.get_run(run.run_id)
    assert got["info"]["status"] == "FAILED"
    assert got["metrics"]["before"]["value"] == 1.0  # logged values are kept
    with pytest.raises(RuntimeError, match="has ended"):
        run.log_metric("after", 1.0)


def test_a_changed_param_is_refused_where_it_is_logged(client, unique):
    with client.start_run(experiment=unique, params={"seed": 1}) as run:
        run.log_param("depth", 3)
        run.log_param("depth", 3)  # the same value again is fine
        with pytest.raises(ValueError, match="'depth' is already '3'"):
            run.log_param("depth", 4)  # params are immutable
        with pytest.raises(ValueError, match="'seed' is already '1'"):
            run.log_params({"seed": 2, "other": 5})
        run.log_metric("ok", 1.0)  # the run goes on
    got = client.tracking.get_run(run.run_id)
    assert got["params"] == {"seed": "1", "depth": "3"} and got["info"]["status"] == "FINISHED"


def test_a_batch_the_server_refuses_is_raised_on_flush(client, unique):
    with client.start_run(experiment=unique) as run:
        run.log_metric("m", 1.0)
        run.log_param("p" * 300, 1)  # a name the server refuses
        with pytest.raises(ferry.BadRequest):
            run.flush()
        run.log_metric("ok", 1.0)  # the run goes on
    got = client.tracking.get_run(run.run_id)
    assert "m" not in got["metrics"] and got["metrics"]["ok"]["value"] == 1.0


def test_bad_values_are_refused_where_they_are_logged(client, unique):
    with client.start_run(experiment=unique) as run:
        with pytest.raises(TypeError):
            run.log_param("p", [1, 2])
        with pytest.raises(TypeError):
            run.log_metric("m", 1.0, step=1.5)
        with pytest.raises(ValueError):
            run.log_metric("m", "high")
        with pytest.raises(ValueError):
            run.log_input("d@1", role="holdout")
    with pytest.raises(ferry.NotFound):
        client.tracking.get_run("0" * 32)
    with pytest.raises(ferry.BadRequest):
        client.start_run(experiment="x" * 300)


def test_search_runs_pages_filters_and_orders(client, unique):
    for auc in (0.7, 0.9, 0.8, 0.95, 0.6):
        with client.start_run(experiment=unique, params={"auc_was": auc}) as run:
            run.log_metric("auc", auc)
    runs = list(client.tracking.search_runs([unique], filter="metrics.auc > 0.65",
                                            order_by="metrics.auc DESC", page_size=2))
    assert [r["metrics"]["auc"]["value"] for r in runs] == [0.95, 0.9, 0.8, 0.7]
    assert len(list(client.tracking.search_runs([unique], max_results=3, page_size=2))) == 3
    with pytest.raises(ferry.BadRequest):
        list(client.tracking.search_runs([unique], filter="metrics.auc >>> 1"))


def test_end_raises_a_refused_batch_after_ending_the_run(client, unique):
    run = client.start_run(experiment=unique)
    run.log_param("k" * 300, "a")
    with pytest.raises(ferry.ApiError):
        run.end()
    assert client.tracking.get_run(run.run_id)["info"]["status"] == "FINISHED"
    with pytest.raises(RuntimeError):
        run.end()


def test_values_of_a_run_never_ended_are_flushed_at_exit(client, unique, world):
    import subprocess
    import sys
    from pathlib import Path
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); import ferry\n"
        "run = ferry.Client(sys.argv[1]).start_run(experiment=sys.argv[3], flush_interval=60)\n"
        "[run.log_metric('m', i, step=i) for i in range(50)]\n"
        "print(run.run_id)\n")
    package = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", script, world[1].url, package, unique],
                         capture_output=True, text=True, timeout=60, check=True)
    run_id = out.stdout.strip()
    assert len(client.tracking.metric_history(run_id, "m")) == 50
    assert client.tracking.get_run(run_id)["info"]["status"] == "RUNNING"


def test_log_artifacts_uploads_a_folder(client, tmp_path, unique):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text("{}")
    (folder / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    (folder / "link").symlink_to(folder / "a.json")
    with client.start_run(experiment=unique) as run:
        stored = run.log_artifacts(folder, prefix="model")
        with pytest.raises(NotADirectoryError):
            run.log_artifacts(folder / "a.json")
    assert [a["path"] for a in stored] == ["model/a.json", "model/sub/b.bin"]
    got = client.tracking.get_run(run.run_id)["artifacts"]
    assert sorted(a["path"] for a in got) == ["model/a.json", "model/sub/b.bin"]


def test_search_runs_as_a_dataframe(client, unique):
    for depth, auc in ((3, 0.8), (5, 0.9)):
        with client.start_run(experiment=unique, params={"depth": depth},
                              tags={"team": "risk"}) as run:
            run.log_metric("auc", auc)
            run.log_metric("loss", float("inf"))
    frame = client.tracking.search_runs_df([unique], order_by="metrics.auc DESC")
    assert frame["params.depth"].tolist() == ["5", "3"]
    assert frame["metrics.auc"].tolist() == [0.9, 0.8]
    assert frame["metrics.loss"].tolist() == [math.inf, math.inf]
    assert frame["tags.team"].tolist() == ["risk", "risk"]
    assert (frame["status"] == "FINISHED").all()
    assert str(frame["start_time"].dtype).startswith("datetime64")
