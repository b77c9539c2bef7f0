"""How tables are written for the server and read back, without a server."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from ferry._tables import frame_to_csv, read_rows, rows_to_jsonl


def test_timestamps_are_written_in_iso_8601_utc():
    frame = pd.DataFrame({
        "aware": pd.to_datetime(["2026-01-02T13:00+01:00", None, "2026-01-03T00:00:00.25Z"],
                                utc=True),
        "naive": pd.to_datetime(["2026-01-02", "2026-01-02T01:02:03.000001", None]),
        "n": [1, 2, 3]})
    out = io.BytesIO()
    frame_to_csv(frame, out)
    assert out.getvalue().decode() == (
        "aware,naive,n\n"
        "2026-01-02T12:00:00Z,2026-01-02T00:00:00,1\n"
        ",2026-01-02T01:02:03.000001,2\n"
        "2026-01-03T00:00:00.250000Z,,3\n")
    assert frame["aware"].dt.tz is not None  # the caller's frame is left as it was


def test_rows_are_json_lines_and_read_back():
    out = io.BytesIO()
    rows_to_jsonl([{"a": 1, "b": "x"}, {"a": None}], out)
    assert out.getvalue() == b'{"a": 1, "b": "x"}\n{"a": null}\n'
    out.seek(0)
    assert read_rows(out, "jsonl") == [{"a": 1, "b": "x"}, {"a": None}]
    with pytest.raises(ValueError):
        rows_to_jsonl([{"a": float("nan")}], io.BytesIO())
    with pytest.raises(TypeError):
        rows_to_jsonl([["not", "a", "dict"]], io.BytesIO())


def test_csv_rows_without_pandas_keep_text():
    rows = read_rows(io.BytesIO(b"id,v\n007,\n1,2.5\n"), "csv")
    assert rows == [{"id": "007", "v": None}, {"id": "1", "v": "2.5"}]
