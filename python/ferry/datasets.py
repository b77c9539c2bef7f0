"""Datasets: versioned files with content hashes (``ferry data`` over HTTP)."""

from __future__ import annotations

import tempfile
from typing import Any, Dict, List, Optional

from ._tables import read_rows, read_table, table_body
from ._transport import Transport, path_of
from ._util import AtomicOutput


class Datasets:
    """``client.datasets``: list, versions, upload, download."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> List[Dict[str, Any]]:
        """Every dataset: ``{"name", "versions", "latest": {...}}``."""
        return self._t.request("GET", "/api/v1/datasets").json()["datasets"]

    def versions(self, name: str) -> List[Dict[str, Any]]:
        """The versions of a dataset, newest first."""
        return self._t.request("GET", path_of("api", "v1", "datasets", name, "versions")).json()[
            "versions"]

    def get(self, name: str, ref: Any = "latest") -> Dict[str, Any]:
        """One version by number, tag or ``"latest"``: hash, size, rows, schema digest..."""
        return self._t.request(
            "GET", path_of("api", "v1", "datasets", name, "versions", ref)).json()

    def profile(self, name: str, ref: Any = "latest") -> Optional[Dict[str, Any]]:
        """The version's schema and per-column statistics (counts, nulls, min/max/mean,
        quantiles, histogram, top values); None for an opaque version."""
        return self._t.request(
            "GET", path_of("api", "v1", "datasets", name, "versions", ref, "profile")).json()[
            "profile"]

    def lineage(self, name: str, ref: Any = "latest") -> Dict[str, Any]:
        """``{"version", "made_from": [...], "used_by": [...]}``, one step each way."""
        return self._t.request(
            "GET", path_of("api", "v1", "datasets", name, "versions", ref, "lineage")).json()

    def diff(self, name: str, ref: Any, to: str) -> Dict[str, Any]:
        """From ``name@ref`` to ``to`` (``"OTHER@REF"``): bytes shared and new, columns
        added, removed or retyped, rows and statistics that changed."""
        return self._t.request(
            "GET", path_of("api", "v1", "datasets", name, "versions", ref, "diff"),
            query={"to": to}).json()

    def upload(self, name: str, data: Any, *, filename: Optional[str] = None,
               message: Optional[str] = None, tag: Optional[str] = None,
               format: Optional[str] = None, lenient: bool = False,
               timeout: Optional[float] = None) -> Dict[str, Any]:
        """Adds a version of ``name`` from a file path, a pandas DataFrame (sent as CSV), a
        list of dicts (sent as JSON Lines), bytes or an open binary file. The body is
        streamed; the server stores it once complete. Returns ``{"created", "version",
        "new_chunks", "reused_chunks", "new_bytes"}``; ``created`` is False when the content
        equals the latest version's."""
        with tempfile.TemporaryFile(prefix="ferry-upload-") as spool:
            body, kind, base = table_body(data, spool)
            try:
                fmt = format or kind
                if filename is None:
                    filename = base or (f"{name}.{fmt}" if fmt in ("csv", "jsonl") else name)
                query = {"filename": filename, "message": message, "tag": tag, "format": fmt,
                         "lenient": True if lenient else None}
                return self._t.request(
                    "POST", path_of("api", "v1", "datasets", name, "versions"), query=query,
                    body=body, content_type="application/octet-stream", timeout=timeout).json()
            finally:
                if body is not spool and body is not data:
                    body.close()

    def download(self, name: str, ref: Any = "latest", path: Optional[Any] = None, *,
                 timeout: Optional[float] = None) -> str:
        """Writes the version's file, byte-identical, to ``path`` (default: its source file
        name in the current folder) by way of a temporary file, checking its SHA-256 against
        the server's before it appears. Returns the path written."""
        output = AtomicOutput(path)
        with output as sink:
            answer = self._download_into(name, ref, sink, timeout)
            if output.path is None:
                output.path = _safe_name(answer.headers.get("Content-Disposition"), name, ref)
        assert output.path is not None
        return output.path

    def to_df(self, name: str, ref: Any = "latest", *, timeout: Optional[float] = None) -> Any:
        """The version as a pandas DataFrame (CSV and JSON Lines versions)."""
        with tempfile.TemporaryFile(prefix="ferry-download-") as scratch:
            kind = self._download_kind(name, ref, scratch, timeout)
            scratch.seek(0)
            return read_table(scratch, kind)

    def rows(self, name: str, ref: Any = "latest", *,
             timeout: Optional[float] = None) -> List[Dict[str, Any]]:
        """The version as a list of dicts, without pandas (CSV values are strings)."""
        with tempfile.TemporaryFile(prefix="ferry-download-") as scratch:
            kind = self._download_kind(name, ref, scratch, timeout)
            scratch.seek(0)
            return read_rows(scratch, kind)

    def _download_kind(self, name: str, ref: Any, sink: Any, timeout: Optional[float]) -> str:
        answer = self._download_into(name, ref, sink, timeout)
        content_type = answer.headers.get("Content-Type", "")
        if "csv" in content_type:
            return "csv"
        if "ndjson" in content_type or "jsonl" in content_type:
            return "jsonl"
        raise ValueError(f"dataset {name}@{ref} is not a table (its content type is "
                         f"{content_type or 'unknown'}); use download() for opaque versions")

    def _download_into(self, name: str, ref: Any, sink: Any, timeout: Optional[float]) -> Any:
        answer = self._t.download(
            path_of("api", "v1", "datasets", name, "versions", ref, "content"), sink,
            f"dataset {name}@{ref}", timeout=timeout)
        sink.flush()
        return answer


def _safe_name(disposition: Optional[str], name: str, ref: Any) -> str:
    """The file name from Content-Disposition when it is a plain name, else NAME-REF."""
    if disposition and "filename=" in disposition:
        value = disposition.split("filename=", 1)[1].strip().strip('"')
        if value and value not in (".", "..") and "/" not in value and "\\" not in value \
                and not any(ord(c) < 0x20 for c in value):
            return value
    return f"{name}-{ref}"
