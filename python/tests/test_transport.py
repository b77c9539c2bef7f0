"""Errors, retries, timeouts and tokens: against a scripted HTTP server in the test (to
make the failures happen on cue) and against a real ferry server with tokens required."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import List, Tuple

import pytest

import ferry
from conftest import Server, make_world, run_ferry


class Scripted:
    """Answers each request with the next (status, headers, body, delay) of a script and
    records what it was asked."""

    def __init__(self, script: List[Tuple[int, dict, bytes, float]]) -> None:
        self.script = list(script)
        self.seen: List[Tuple[str, str, dict, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append((self.command, self.path, dict(self.headers), body))
                status, headers, payload, delay = outer.script.pop(0)
                time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


@pytest.fixture
def scripted():
    servers = []

    def make(*script):
        server = Scripted(list(script))
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.close()


def test_errors_map_to_typed_exceptions(scripted):
    cases = [(400, "invalid_argument", ferry.BadRequest, ValueError),
             (401, "unauthenticated", ferry.Unauthenticated, PermissionError),
             (403, "permission_denied", ferry.PermissionDenied, PermissionError),
             (404, "not_found", ferry.NotFound, LookupError),
             (409, "already_exists", ferry.AlreadyExists, ferry.Conflict),
             (409, "failed_precondition", ferry.FailedPrecondition, ferry.Conflict),
             (413, "payload_too_large", ferry.PayloadTooLarge, ValueError),
             (500, "data_loss", ferry.ServerError, ferry.ApiError)]
    server = scripted(*[(s, {}, _error(c, f"message {c}"), 0) for s, c, _, _ in cases])
    client = ferry.Client(server.url, max_retries=0)
    for status, code, cls, base in cases:
        with pytest.raises(cls) as e:
            client.models.list()
        assert isinstance(e.value, base) and isinstance(e.value, ferry.FerryError)
        assert (e.value.status, e.value.code, e.value.message) == (status, code, f"message {code}")
        assert str(e.value) == f"GET /api/v1/models: {status} {code}: message {code}"


def test_inference_errors_and_plain_text_bodies_keep_their_message(scripted):
    server = scripted((400, {}, b'{"error": "input \\"x\\" has 3 values"}', 0),
                      (502, {}, b"bad gateway from the proxy", 0))
    client = ferry.Client(server.url, max_retries=0)
    with pytest.raises(ferry.BadRequest) as e:
        client.infer("m", [[1.0, 2.0, 3.0]])
    assert e.value.message == 'input "x" has 3 values' and e.value.code is None
    with pytest.raises(ferry.ServerError) as e:
        client.models.list()
    assert e.value.status == 502 and "bad gateway" in e.value.message


def test_reads_are_retried_with_backoff_and_retry_after(scripted):
    ok = json.dumps({"models": []}).encode()
    server = scripted((503, {"Retry-After": "0"}, _error("unavailable", "busy"), 0),
                      (502, {}, b"", 0), (200, {}, ok, 0))
    client = ferry.Client(server.url, max_retries=3, backoff=0.01)
    assert client.models.list() == []
    assert len(server.seen) == 3

    server = scripted(*[(503, {}, b"", 0)] * 3)
    client = ferry.Client(server.url, max_retries=2, backoff=0.01)
    with pytest.raises(ferry.Unavailable):
        client.models.list()
    assert len(server.seen) == 3  # one try and two retries


def test_writes_are_not_repeated_unless_the_server_refused_them(scripted):
    created = json.dumps({"run": {"run_id": "a" * 32}}).encode()
    server = scripted((503, {}, b"", 0))
    client = ferry.Client(server.url, max_retries=3, backoff=0.01)
    with pytest.raises(ferry.Unavailable):
        client.tracking.create_experiment("e")
    assert len(server.seen) == 1  # a POST that may have been acted on is not repeated

    server = scripted((429, {"Retry-After": "0"}, _error("resource_exhausted", "slow down"), 0),
                      (201, {}, created, 0))
    client = ferry.Client(server.url, max_retries=3, backoff=0.01)
    assert client.tracking.create_experiment("e") == {"run": {"run_id": "a" * 32}}
    assert [s[0] for s in server.seen] == ["POST", "POST"]  # 429: refused, so retried
    assert server.seen[0][3] == server.seen[1][3]  # the same body again

    server = scripted(*[(429, {"Retry-After": "0"}, _error("resource_exhausted", "slow"), 0)] * 2)
    client = ferry.Client(server.url, max_retries=1, backoff=0.01)
    with pytest.raises(ferry.RateLimited) as e:
        client.models.list()
    assert e.value.retry_after == 0


def test_timeouts(scripted):
    server = scripted((200, {}, b"{}", 2.0), (200, {}, b"{}", 2.0))
    client = ferry.Client(server.url, timeout=0.3, max_retries=1, backoff=0.01)
    start = time.monotonic()
    with pytest.raises(ferry.FerryTimeout) as e:
        client.models.list()
    assert isinstance(e.value, TimeoutError)
    assert time.monotonic() - start < 1.9
    assert "within 0.3 s" in str(e.value)


def test_connection_refused_is_retried_then_raised():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    client = ferry.Client(f"http://127.0.0.1:{port}", max_retries=2, backoff=0.01)
    with pytest.raises(ferry.FerryConnectionError) as e:
        client.tracking.create_experiment("e")
    assert "cannot connect" in str(e.value)


def test_uploads_are_streamed_and_resent_whole_on_retry(scripted, tmp_path):
    ok = json.dumps({"created": True, "version": {"ref": "d@1"}}).encode()
    server = scripted((429, {"Retry-After": "0"}, b"", 0), (201, {}, ok, 0))
    path = tmp_path / "d.csv"
    path.write_bytes(b"id\n" + b"".join(b"%d\n" % i for i in range(100_000)))
    client = ferry.Client(server.url, backoff=0.01)
    client.datasets.upload("d", path, tag="t")
    method, target, headers, body = server.seen[1]
    assert (method, body) == ("POST", path.read_bytes())
    assert target == "/api/v1/datasets/d/versions?filename=d.csv&tag=t&format=csv"
    assert headers["Content-Length"] == str(path.stat().st_size)


def test_download_checks_the_announced_hash(scripted, tmp_path):
    body = b"id\n1\n"
    server = scripted((200, {"Content-Type": "text/csv", "X-Ferry-Sha256": "0" * 64}, body, 0))
    client = ferry.Client(server.url)
    with pytest.raises(ferry.IntegrityError):
        client.datasets.download("d", 1, tmp_path / "d.csv")
    assert not (tmp_path / "d.csv").exists()
    assert list(tmp_path.iterdir()) == []


def test_names_are_escaped_in_paths(scripted):
    server = scripted((404, {}, _error("not_found", "no"), 0))
    with pytest.raises(ferry.NotFound):
        ferry.Client(server.url).models.version("a/../b c", "x?y")
    assert server.seen[0][1] == "/api/v1/models/a%2F..%2Fb%20c/versions/x%3Fy"


def test_client_arguments_are_checked():
    for url in ("ftp://h", "localhost:8080", "http://u:p@h:1", "http://h:1/?q=1"):
        with pytest.raises(ValueError):
            ferry.Client(url)
    with pytest.raises(ValueError):
        ferry.Client("http://127.0.0.1:1", token="two words")
    with pytest.raises(ValueError):
        ferry.Client("http://127.0.0.1:1", timeout=0)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    root = tmp_path_factory.mktemp("secured")
    workspace = make_world(root)
    config = workspace / ".ferry" / "config.yaml"
    config.write_text(config.read_text().replace("auth: auto", "auth: on"))
    tokens = {}
    for scope in ("read", "write"):
        out = run_ferry(workspace, "token", "create", f"py-{scope}", "--scope", scope, "--json")
        tokens[scope] = json.loads(out.stdout)["token"]
    server = Server(workspace)
    yield server, tokens
    server.stop()


def test_tokens_are_sent_and_refusals_are_typed(secured, monkeypatch):
    server, tokens = secured
    with pytest.raises(ferry.Unauthenticated) as e:
        ferry.Client(server.url).datasets.list()
    assert e.value.status == 401
    with pytest.raises(ferry.Unauthenticated):
        ferry.Client(server.url, token="ferry_000000000000_" + "0" * 64).datasets.list()

    reader = ferry.Client(server.url, token=tokens["read"])
    assert [d["name"] for d in reader.datasets.list()] == ["customer_daily"]
    with pytest.raises(ferry.PermissionDenied) as e:
        reader.datasets.upload("new", b"id\n1\n", filename="n.csv")
    assert "write" in e.value.message and tokens["read"] not in str(e.value)

    monkeypatch.setenv("FERRY_TOKEN", tokens["write"])
    writer = ferry.Client(server.url)  # the token from the environment
    assert writer.datasets.upload("new", b"id\n1\n", filename="n.csv")["created"]
    assert writer.health() is True


def test_binary_tensors_are_sent_and_read_back(scripted):
    import numpy as np
    header = json.dumps({"model_name": "m", "model_version": "1", "outputs": [
        {"name": "predict", "datatype": "FP32", "shape": [2],
         "parameters": {"binary_data_size": 8}}]}).encode()
    out = np.array([0.25, 0.5], dtype="<f4").tobytes()
    server = scripted((200, {"Inference-Header-Content-Length": str(len(header))},
                       header + out, 0),
                      (200, {"Inference-Header-Content-Length": str(len(header))},
                       header + out[:5], 0))
    client = ferry.Client(server.url)
    inputs = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    result = client.infer("m", inputs)
    assert result.as_numpy("predict").tolist() == [0.25, 0.5]
    _, _, headers, body = server.seen[0]
    size = int(headers["Inference-Header-Content-Length"])
    sent = json.loads(body[:size])
    assert sent["inputs"][0]["shape"] == [2, 2] and sent["inputs"][0]["datatype"] == "FP32"
    assert sent["parameters"]["binary_data_output"] is True
    assert body[size:] == inputs.astype("<f4").tobytes()
    with pytest.raises(ValueError, match="cut short"):
        client.infer("m", inputs)
