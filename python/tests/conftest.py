"""Fixtures: a real `ferry server` on a workspace of its own, started for the tests.

FERRY_BIN names the ferry binary (CTest sets it). Each server listens on 127.0.0.1 on a
port the OS picks, in a temporary folder, and is stopped with SIGTERM afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ferry  # noqa: E402


def ferry_bin() -> str:
    path = os.environ.get("FERRY_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.exit("FERRY_BIN must name the ferry binary (make test sets it)", returncode=2)
    return path


def run_ferry(workspace: Path, *args: str, check: bool = True,
              env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    result = subprocess.run([ferry_bin(), "--workspace", str(workspace), *args],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"ferry {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


class Server:
    """A `ferry server` process on a workspace; .url once it listens."""

    def __init__(self, workspace: Path, *extra: str) -> None:
        self.workspace = workspace
        self.lines: List[str] = []
        self.process = subprocess.Popen(
            [ferry_bin(), "--workspace", str(workspace), "server", "--listen", "127.0.0.1:0",
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._listening = threading.Event()
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(60):
            self.stop()
            raise AssertionError("ferry server did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = re.search(r"listening on (https?://127\.0\.0\.1:\d+)", line)
            if match and not self.url:
                self.url = match.group(1)
                self._listening.set()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)


CUSTOMER_DAILY = textwrap.dedent("""\
    customer_id,event_timestamp,created,avg_amount,txn_count,segment
    c1,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,10.5,3,gold
    c1,2026-01-03T00:00:00Z,2026-01-03T01:00:00Z,13.0,5,silver
    c2,2026-01-02T00:00:00Z,2026-01-02T01:00:00Z,7.25,1,bronze
    c2,2026-01-04T00:00:00Z,2026-01-04T01:00:00Z,8.0,2,bronze
    c3,2025-11-01T00:00:00Z,2025-11-01T01:00:00Z,99.0,9,gold
    """)

FEATURES_YAML = textwrap.dedent("""\
    entities:
      - name: customer
        join_keys: [{name: customer_id, type: string}]
    feature_views:
      - name: customer_stats
        entities: [customer]
        source: customer_daily
        timestamp_field: event_timestamp
        created_timestamp_field: created
        ttl: 30d
        features:
          - {name: avg_amount, type: float64}
          - {name: txn_count, type: int64}
          - {name: segment, type: string}
    feature_services:
      - name: fraud
        features: ["customer_stats:avg_amount", "customer_stats:txn_count"]
      - name: everything
        features: ["customer_stats:*"]
    """)


def make_world(root: Path) -> Path:
    """A workspace with the customer_daily dataset and its feature definitions."""
    workspace = root / "ws"
    subprocess.run([ferry_bin(), "init", str(workspace)], check=True, capture_output=True)
    (root / "customer_daily.csv").write_text(CUSTOMER_DAILY)
    (root / "features.yaml").write_text(FEATURES_YAML)
    run_ferry(workspace, "data", "add", "customer_daily", str(root / "customer_daily.csv"))
    run_ferry(workspace, "features", "apply", str(root / "features.yaml"))
    return workspace


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory):
    """(workspace, server) shared by the tests that only add to it."""
    root = tmp_path_factory.mktemp("world")
    workspace = make_world(root)
    server = Server(workspace)
    yield workspace, server
    server.stop()


@pytest.fixture
def client(world) -> ferry.Client:
    _, server = world
    with ferry.Client(server.url, timeout=30) as c:
        yield c


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A name no other test uses: tests share one workspace."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-").lower()
    return f"{name[:60]}-{int(time.monotonic_ns() % 1_000_000)}"
