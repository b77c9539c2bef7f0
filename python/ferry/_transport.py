"""HTTP transport: keep-alive connections, timeouts, retries with backoff, error mapping.

Written on ``http.client`` rather than ``urllib.request`` because the client streams
uploads from files and downloads to files with a bounded buffer and reuses connections;
the package has no dependencies beyond the standard library.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import select
import socket
import ssl
import stat
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Mapping, Optional, Union

from . import __version__
from ._util import HashingWriter, check_sha256
from .errors import ApiError, FerryConnectionError, FerryTimeout, error_class

Body = Union[None, bytes, BinaryIO]

# Methods whose repetition has the same effect as one call: retried after any failure.
# Other calls are retried only when the server certainly did not act on them: the
# connection was refused, or the answer was 429 (refused before the handler ran).
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({502, 503, 504})
_CHUNK = 256 * 1024


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def quote(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def path_of(*parts: Any) -> str:
    """'/api/v1/models/' + each part percent-encoded ('/' included)."""
    return "/" + "/".join(quote(p) if i else str(p) for i, p in enumerate(parts))


def _error_from(method: str, path: str, status: int, headers: Mapping[str, str],
                body: bytes) -> ApiError:
    code = None
    message = body.decode("utf-8", "replace").strip() or http.client.responses.get(status, "")
    parsed: Any = None
    try:
        parsed = json.loads(body)
    except ValueError:
        pass
    if isinstance(parsed, dict) and "error" in parsed:
        error = parsed["error"]
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message", message))
        else:
            message = str(error)
    retry_after = None
    if headers.get("Retry-After"):
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    cls = error_class(status, code)
    return cls(status, message, code, method=method, path=path, retry_after=retry_after,
               body=parsed)


class Transport:
    """Sends requests to one ferry server. Safe to share between threads: each thread
    keeps its own keep-alive connection."""

    def __init__(self, url: str, token: Optional[str], timeout: float, max_retries: int,
                 backoff: float, verify: Union[bool, str] = True) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"server URL must be http://HOST[:PORT] or https://HOST[:PORT], "
                             f"got {url!r}")
        if parsed.query or parsed.fragment or parsed.username or parsed.password:
            raise ValueError("server URL must not carry a query, fragment or credentials "
                             "(pass token= instead)")
        if token is not None and (not token or any(c in token for c in "\r\n ")):
            raise ValueError("token must be a non-empty string without spaces or line breaks")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.url = url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._prefix = parsed.path.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._ssl: Optional[ssl.SSLContext] = None
        if self._scheme == "https":
            if verify is False:
                self._ssl = ssl._create_unverified_context()  # noqa: S323 (asked for)
            elif isinstance(verify, str):
                self._ssl = ssl.create_default_context(cafile=verify)
            else:
                self._ssl = ssl.create_default_context()
        self._local = threading.local()
        self._user_agent = f"ferry-python/{__version__}"

    # -- connections ----------------------------------------------------------------------

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and self._closed_by_peer(conn.sock):
            # The server closes idle keep-alive connections; sending on one would fail
            # in a way a non-idempotent call could not safely retry.
            conn.close()
            conn = None
        if conn is None:
            if self._scheme == "https":
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                                   context=self._ssl)
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            conn.blocksize = _CHUNK
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    @staticmethod
    def _closed_by_peer(sock: socket.socket) -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)  # an idle connection is readable only at EOF (or garbage)

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        """Closes this thread's connection (others close when their threads end)."""
        self._drop_connection()

    # -- requests -------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Optional[Mapping[str, Any]] = None,
                json_body: Any = None, body: Body = None, content_type: Optional[str] = None,
                timeout: Optional[float] = None, idempotent: Optional[bool] = None,
                headers: Optional[Dict[str, str]] = None, stream_to: Optional[BinaryIO] = None,
                ok_statuses: tuple = ()) -> Response:
        """Sends one request and returns the answer; raises ApiError for a status of 400 or
        more (unless in ok_statuses). With ``stream_to``, a 2xx body is written there in
        chunks instead of being kept (Response.body is then empty)."""
        target = self._prefix + path
        if query:
            pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
            if pairs:
                target += "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
        send_headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        if self._token:
            send_headers["Authorization"] = f"Bearer {self._token}"
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode("utf-8")
            content_type = content_type or "application/json"
        if content_type:
            send_headers["Content-Type"] = content_type
        if headers:
            send_headers.update(headers)
        start_offset = None
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            start_offset = body.tell()
            send_headers["Content-Length"] = str(_remaining_size(body, start_offset))
        elif body is not None:
            send_headers["Content-Length"] = str(len(body))
        elif method in ("POST", "PUT", "PATCH"):
            send_headers["Content-Length"] = "0"
        retry_all = method in _IDEMPOTENT if idempotent is None else idempotent
        timeout = self.timeout if timeout is None else timeout
        short_path = self._prefix + path

        sink_start = stream_to.tell() if stream_to is not None else 0
        attempt = 0
        while True:
            if start_offset is not None:
                body.seek(start_offset)  # type: ignore[union-attr]
            delay: Optional[float] = None
            try:
                conn = self._connection(timeout)
                conn.request(method, target, body=body, headers=send_headers)
                answer = conn.getresponse()
                status = answer.status
                if 200 <= status < 300 and stream_to is not None:
                    _copy(answer, stream_to)
                    data = b""
                else:
                    data = answer.read()
                if answer.will_close:
                    self._drop_connection()
            except ConnectionRefusedError as e:
                self._drop_connection()
                error: Exception = FerryConnectionError(
                    f"{method} {short_path}: cannot connect to {self.url}: {e}")
                refused = True
            except (socket.timeout, TimeoutError) as e:
                self._drop_connection()
                error = FerryTimeout(
                    f"{method} {short_path}: no answer from {self.url} within {timeout:g} s ({e})")
                refused = False
            except (OSError, http.client.HTTPException) as e:
                self._drop_connection()
                error = FerryConnectionError(
                    f"{method} {short_path}: connection to {self.url} failed: "
                    f"{type(e).__name__}: {e}")
                refused = False
            else:
                if status < 400 or status in ok_statuses:
                    return Response(status, answer.headers, data)
                error = _error_from(method, short_path, status, answer.headers, data)
                refused = status == 429
                if status in _RETRY_STATUSES and retry_all:
                    refused = True
                delay = getattr(error, "retry_after", None)
                if not refused:
                    raise error
            if not (refused or retry_all) or attempt >= self.max_retries:
                raise error
            if stream_to is not None and stream_to.tell() != sink_start:
                stream_to.seek(sink_start)  # a broken download starts over
                stream_to.truncate()
            attempt += 1
            time.sleep(self._backoff_delay(attempt, delay))

    def download(self, path: str, sink: BinaryIO, what: str, *,
                 query: Optional[Mapping[str, Any]] = None,
                 timeout: Optional[float] = None) -> Response:
        """GETs a body into `sink`, checking it against the X-Ferry-Sha256 the server
        announced (IntegrityError otherwise)."""
        writer = HashingWriter(sink)
        answer = self.request("GET", path, query=query, stream_to=writer, timeout=timeout)
        check_sha256(answer.headers.get("X-Ferry-Sha256"), writer, what)
        return answer

    def _backoff_delay(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), 30.0)
        # Exponential with full jitter: retries from many clients spread out.
        return random.uniform(0, min(10.0, self.backoff * (2 ** (attempt - 1))))


def _remaining_size(body: BinaryIO, start: int) -> int:
    try:
        st = os.fstat(body.fileno())
        if stat.S_ISREG(st.st_mode):
            return st.st_size - start
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    end = body.seek(0, io.SEEK_END)
    body.seek(start)
    return end - start


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


def _copy(source: http.client.HTTPResponse, sink: BinaryIO) -> None:
    # One buffer for the whole body: readinto spares an allocation and a copy per piece.
    buffer = memoryview(bytearray(_CHUNK))
    while True:
        got = source.readinto(buffer)
        if not got:
            return
        sink.write(buffer[:got])
