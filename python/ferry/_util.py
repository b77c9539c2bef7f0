"""Small helpers shared by the client's parts: optional pandas/numpy, files, hashing."""

from __future__ import annotations

import getpass
import hashlib
import io
import os
import tempfile
from typing import Any, BinaryIO, Optional

from .errors import IntegrityError


def user_name() -> str:
    """Who is logging or moving things, as the CLI names them ($USER)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def optional_pandas() -> Any:
    try:
        import pandas  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return None
    return pandas


def require_pandas(what: str) -> Any:
    pandas = optional_pandas()
    if pandas is None:
        raise ImportError(f"{what} needs pandas, which is not installed "
                          "(Debian: apt install python3-pandas)")
    return pandas


def is_dataframe(value: Any) -> bool:
    pandas = optional_pandas()
    return pandas is not None and isinstance(value, pandas.DataFrame)


def optional_numpy() -> Any:
    try:
        import numpy  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return None
    return numpy


class HashingWriter(io.RawIOBase):
    """A write-only file that passes bytes on to another file and hashes them."""

    def __init__(self, sink: BinaryIO) -> None:
        super().__init__()
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.sha256.update(view)
        self._sink.write(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Only "start over": the transport rewinds a download it retries.
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("HashingWriter can only rewind to the start")
        self._sink.seek(0)
        self.sha256 = hashlib.sha256()
        self.size = 0
        return 0

    def truncate(self, size: Optional[int] = None) -> int:
        return self._sink.truncate(0 if size is None else size)


def check_sha256(expected: Optional[str], writer: HashingWriter, what: str) -> None:
    if not expected:
        return
    expected = expected.strip().strip('"')
    if expected.startswith("sha256:"):
        expected = expected[len("sha256:"):]
    actual = writer.sha256.hexdigest()
    if actual != expected.lower():
        raise IntegrityError(f"{what}: downloaded content has sha256 {actual}, the server "
                             f"announced {expected}")


class AtomicOutput:
    """Writes a file by way of a temporary file in the same folder: fsync, then rename;
    on error the temporary file is removed and the destination is untouched."""

    def __init__(self, path: "Optional[os.PathLike[str] | str]", folder: str = ".") -> None:
        # Without a path yet, the file is made in `folder`; set .path before the end.
        self.path = os.fspath(path) if path is not None else None
        self._folder = os.path.dirname(os.path.abspath(self.path)) if self.path else folder
        self._late = path is None
        self._file: Optional[BinaryIO] = None
        self._tmp = ""

    def __enter__(self) -> BinaryIO:
        folder = self._folder
        fd, self._tmp = tempfile.mkstemp(prefix=".ferry-download-", dir=folder)
        self._file = os.fdopen(fd, "w+b")
        return self._file

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        assert self._file is not None
        try:
            if kind is None:
                self._file.flush()
                os.fsync(self._file.fileno())
        finally:
            self._file.close()
        if kind is not None:
            os.unlink(self._tmp)
            return
        assert self.path is not None
        if self._late:
            self.path = os.path.join(self._folder, self.path)
        os.replace(self._tmp, self.path)
        dir_fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
