"""Turning the client's table inputs (files, DataFrames, lists of dicts) into request
bodies, and CSV / JSON Lines answers into DataFrames or rows."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

from ._util import is_dataframe, require_pandas


def frame_to_csv(frame: Any, sink: BinaryIO) -> None:
    """Writes a DataFrame as CSV without its index. Timestamps are written in ISO 8601
    (tz-aware ones converted to UTC and marked Z; ferry reads naive ones as UTC)."""
    pandas = require_pandas("writing a DataFrame")
    out = frame
    converted = False
    for column in frame.columns:
        series = frame[column]
        if pandas.api.types.is_datetime64_any_dtype(series.dtype):
            if not converted:
                out = frame.copy()
                converted = True
            aware = getattr(series.dt, "tz", None) is not None
            if aware:
                series = series.dt.tz_convert("UTC")
            text = series.dt.strftime("%Y-%m-%dT%H:%M:%S")
            micros = series.dt.microsecond
            # Fractions only where there are some; NaT stays empty (a missing value).
            text = text.where(micros == 0, text + "." + micros.astype("Int64").astype(str)
                              .str.zfill(6))
            out[column] = text + "Z" if aware else text
    text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
    try:
        out.to_csv(text, index=False)
        text.flush()
    finally:
        text.detach()


def rows_to_jsonl(rows: List[Dict[str, Any]], sink: BinaryIO) -> None:
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"rows must be dicts, got {type(row).__name__}")
        sink.write(json.dumps(row, allow_nan=False, default=str).encode("utf-8"))
        sink.write(b"\n")


def table_body(data: Any, spool: BinaryIO) -> Tuple[BinaryIO, str, Optional[str]]:
    """The body to send for a table given as a path, a DataFrame, a list of dicts, bytes
    or an open binary file: (file to send, format "csv"/"jsonl"/None, file name or None).
    DataFrames and rows are written to `spool` first."""
    if is_dataframe(data):
        frame_to_csv(data, spool)
        spool.seek(0)
        return spool, "csv", None
    if isinstance(data, list):
        rows_to_jsonl(data, spool)
        spool.seek(0)
        return spool, "jsonl", None
    if isinstance(data, (bytes, bytearray, memoryview)):
        spool.write(data)
        spool.seek(0)
        return spool, None, None
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        return open(path, "rb"), format_of(path), os.path.basename(path)
    if hasattr(data, "read"):
        return data, None, None
    raise TypeError("expected a file path, a pandas DataFrame, a list of dicts, bytes or a "
                    f"binary file; got {type(data).__name__}")


def format_of(path: str) -> Optional[str]:
    lower = path.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def read_table(source: BinaryIO, kind: str) -> Any:
    """A DataFrame from CSV or JSON Lines bytes."""
    pandas = require_pandas("reading a table into a DataFrame")
    if kind == "jsonl":
        return pandas.read_json(source, lines=True, dtype=False)
    # Columns pandas cannot type stay strings; join keys like "007" stay as written.
    return pandas.read_csv(source, keep_default_na=True)


def read_rows(source: BinaryIO, kind: str) -> List[Dict[str, Any]]:
    """Rows as dicts, without pandas: CSV values stay strings (empty ones None)."""
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    try:
        if kind == "jsonl":
            return [json.loads(line) for line in text if line.strip()]
        return [{k: (v if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(text)]
    finally:
        text.detach()
