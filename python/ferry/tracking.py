"""Experiment tracking: runs with params, metric series, tags, inputs and artifacts.

A run's values are queued and sent in batches (one ``log-batch`` request each, one
transaction on the server) by a thread of the run's own, every ``flush_interval`` seconds
or sooner when many are waiting; ``flush()`` waits for them and raises any error the
server gave. Every metric point carries the client's timestamp, so a batch the client
retries after a lost answer is stored once.
"""

from __future__ import annotations

import atexit
import math
import os
import socket
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ._transport import Transport, path_of
from ._util import AtomicOutput, require_pandas, user_name
from .errors import FerryError

# The server's limits per batch (tracking_store.h).
MAX_BATCH_METRICS = 10_000
MAX_BATCH_PARAMS = 1_000
MAX_BATCH_TAGS = 1_000


def _now_micros() -> int:
    return time.time_ns() // 1000


def _metric_value(value: Any) -> Any:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _text(what: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError(f"{what} values must be str, int, float or bool, got {type(value).__name__}")


class ActiveRun:
    """A run being logged. Use as a context manager: on leaving the block the queue is
    flushed and the run ends FINISHED, or FAILED when the block raised (KILLED on
    KeyboardInterrupt)."""

    def __init__(self, transport: Transport, info: Dict[str, Any], flush_interval: float,
                 max_pending: int) -> None:
        self._t = transport
        self.info = info
        self.run_id: str = info["run_id"]
        self._flush_interval = flush_interval
        self._max_pending = max_pending
        self._lock = threading.Condition()
        self._params: Dict[str, str] = {}
        self._logged_params: Dict[str, str] = {}  # every param of the run, to refuse changes
        self._tags: Dict[str, str] = {}
        self._metrics: List[Dict[str, Any]] = []
        self._inputs: List[Dict[str, str]] = []
        self._in_flight = 0
        self._error: Optional[BaseException] = None
        self._closed = False
        self._wake = False
        self._thread = threading.Thread(target=self._loop, name=f"ferry-run-{self.run_id[:8]}",
                                        daemon=True)
        self._thread.start()
        atexit.register(self._flush_at_exit)

    def __repr__(self) -> str:
        return f"ActiveRun({self.run_id}, experiment={self.info.get('experiment')!r})"

    # -- logging (returns at once; values are sent in the background) ---------------------

    def log_param(self, key: str, value: Any) -> None:
        """A parameter; once stored it cannot change (logging another value is an error)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        texts = {str(k): _text("param", v) for k, v in params.items()}
        with self._lock:
            self._check_open()
            for key, value in texts.items():
                # Refused here rather than when its batch reaches the server, so that the
                # line that changed a param is the one that raises.
                known = self._logged_params.get(key)
                if known is not None and known != value:
                    raise ValueError(f"run {self.run_id}: param {key!r} is already {known!r}; "
                                     f"params cannot change (got {value!r})")
            for key, value in texts.items():
                self._logged_params[key] = value
                self._params[key] = value
            self._maybe_wake()

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        with self._lock:
            self._check_open()
            for key, value in tags.items():
                self._tags[str(key)] = _text("tag", value)
            self._maybe_wake()

    def log_metric(self, key: str, value: Any, step: int = 0,
                   timestamp: Optional[int] = None) -> None:
        """One point of a metric series; ``timestamp`` in microseconds (default: now). NaN
        and infinities are kept as such."""
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def log_metrics(self, metrics: Mapping[str, Any], step: int = 0,
                    timestamp: Optional[int] = None) -> None:
        if not isinstance(step, int) or isinstance(step, bool):
            raise TypeError("step must be an int")
        stamp = _now_micros() if timestamp is None else int(timestamp)
        points = [{"key": str(k), "value": _metric_value(v), "step": step, "timestamp": stamp}
                  for k, v in metrics.items()]
        with self._lock:
            self._check_open()
            self._metrics.extend(points)
            self._maybe_wake()

    def log_input(self, dataset: str, role: str = "train") -> None:
        """A dataset version the run read (``"name@3"``, ``"name@latest"``), with its role:
        train, validation or test. Recorded in the lineage graph."""
        if role not in ("train", "validation", "test"):
            raise ValueError(f"role must be train, validation or test, got {role!r}")
        with self._lock:
            self._check_open()
            self._inputs.append({"dataset": dataset, "role": role})
            self._maybe_wake()

    def log_artifact(self, local_path: Any, name: Optional[str] = None,
                     timeout: Optional[float] = None) -> Dict[str, Any]:
        """Uploads a file as an artifact (streamed; stored by content hash) under ``name``
        (default: the file's name). Synchronous: returns ``{"path", "digest", "size"}``."""
        path = os.fspath(local_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        self.flush()
        with open(path, "rb") as body:
            return self._t.request(
                "POST", path_of("api", "v1", "runs", self.run_id, "artifacts"),
                query={"path": name or os.path.basename(path)}, body=body,
                content_type="application/octet-stream", timeout=timeout).json()

    def log_artifacts(self, local_dir: Any, prefix: str = "",
                      timeout: Optional[float] = None) -> List[Dict[str, Any]]:
        """Uploads every file under a folder, named by their paths relative to it (under
        ``prefix/`` when given), in sorted order. Symbolic links are not followed."""
        root = os.fspath(local_dir)
        if not os.path.isdir(root):
            raise NotADirectoryError(f"{root}: not a folder")
        stored = []
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                stored.append(self.log_artifact(
                    path, f"{prefix.strip('/')}/{relative}" if prefix else relative, timeout))
        return stored

    # -- flushing and ending --------------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until everything logged so far is stored; raises the first error the
        server gave for a batch (the batch is then dropped: nothing of it is stored)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._wake = True
            self._lock.notify_all()
            while (self._has_pending() or self._in_flight) and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"run {self.run_id}: values not flushed within {timeout} s")
                self._lock.wait(remaining if remaining is not None else 1.0)
            self._raise_error()

    def end(self, status: str = "FINISHED") -> Dict[str, Any]:
        """Flushes, then marks the run FINISHED, FAILED or KILLED. Returns the run's info."""
        if self._closed:
            raise RuntimeError(f"run {self.run_id} has ended")
        error: Optional[BaseException] = None
        try:
            self.flush()
        except FerryError as e:  # the run still ends; the error is raised after
            error = e
        finally:
            with self._lock:
                self._closed = True
                self._lock.notify_all()
            self._thread.join()
            atexit.unregister(self._flush_at_exit)
        answer = self._t.request("POST", path_of("api", "v1", "runs", self.run_id, "status"),
                                 json_body={"status": status}, idempotent=True).json()
        self.info = answer["run"]
        if error is not None:
            raise error
        return self.info

    def _flush_at_exit(self) -> None:
        # A run never ended (no with-block) keeps what was logged; it stays RUNNING, as
        # the process cannot tell whether it succeeded.
        try:
            self.flush(timeout=10)
        except (FerryError, TimeoutError) as e:
            print(f"ferry: run {self.run_id}: values not stored at exit: {e}", file=sys.stderr)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.end("FINISHED")
            return
        status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        try:
            self.end(status)
        except FerryError as e:  # keep the block's own exception the one raised
            print(f"ferry: ending run {self.run_id} as {status} failed: {e}", file=sys.stderr)

    # -- the background thread ------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"run {self.run_id} has ended")
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _has_pending(self) -> bool:
        return bool(self._params or self._tags or self._metrics or self._inputs)

    def _maybe_wake(self) -> None:
        if len(self._metrics) >= self._max_pending:
            self._wake = True
            self._lock.notify_all()

    def _take_batch(self) -> Dict[str, Any]:
        batch: Dict[str, Any] = {}
        if self._params:
            keys = list(self._params)[:MAX_BATCH_PARAMS]
            batch["params"] = {k: self._params.pop(k) for k in keys}
        if self._tags:
            keys = list(self._tags)[:MAX_BATCH_TAGS]
            batch["tags"] = {k: self._tags.pop(k) for k in keys}
        if self._metrics:
            batch["metrics"] = self._metrics[:MAX_BATCH_METRICS]
            del self._metrics[:MAX_BATCH_METRICS]
        if self._inputs:
            batch["inputs"], self._inputs = self._inputs, []
        return batch

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._wake and not self._closed:
                    self._lock.wait(self._flush_interval)
                self._wake = False
                if not self._has_pending():
                    self._lock.notify_all()
                    if self._closed:
                        return
                    continue
                batch = self._take_batch()
                self._in_flight += 1
                if self._has_pending():
                    self._wake = True  # more than one batch's worth: go on at once
            try:
                # Retrying is safe: points are keyed by their timestamps, params and tags
                # are set to the same values again.
                self._t.request("POST", path_of("api", "v1", "runs", self.run_id, "log-batch"),
                                json_body=batch, idempotent=True)
                error = None
            except BaseException as e:  # noqa: BLE001 (handed to the logging thread)
                error = e
            with self._lock:
                self._in_flight -= 1
                if error is not None and self._error is None:
                    self._error = error
                self._lock.notify_all()


class Tracking:
    """Experiments and runs (``client.start_run`` is the usual way in)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def experiments(self) -> List[Dict[str, Any]]:
        return self._t.request("GET", "/api/v1/experiments").json()["experiments"]

    def create_experiment(self, name: str, description: str = "") -> Dict[str, Any]:
        return self._t.request("POST", "/api/v1/experiments",
                               json_body={"name": name, "description": description}).json()

    def start_run(self, experiment: str = "Default", name: Optional[str] = None, *,
                  params: Optional[Mapping[str, Any]] = None,
                  tags: Optional[Mapping[str, Any]] = None,
                  source_name: Optional[str] = None, flush_interval: float = 1.0,
                  max_pending: int = 1000) -> ActiveRun:
        """Creates a run (and its experiment if new) and returns it to log into."""
        if flush_interval <= 0 or max_pending < 1:
            raise ValueError("flush_interval must be positive and max_pending 1 or more")
        body: Dict[str, Any] = {"experiment": experiment, "user": user_name(),
                                "host": socket.gethostname()}
        if name is not None:
            body["name"] = name
        if source_name is None and sys.argv and sys.argv[0] and os.path.isfile(sys.argv[0]):
            source_name = os.path.basename(sys.argv[0])
        if source_name:
            body["source_name"] = source_name
        if params:
            body["params"] = {str(k): _text("param", v) for k, v in params.items()}
        if tags:
            body["tags"] = {str(k): _text("tag", v) for k, v in tags.items()}
        info = self._t.request("POST", "/api/v1/runs", json_body=body).json()["run"]
        run = ActiveRun(self._t, info, flush_interval, max_pending)
        run._logged_params.update(body.get("params", {}))
        return run

    def get_run(self, run_id: str) -> Dict[str, Any]:
        """``{"info", "params", "metrics" (latest per key), "tags", "inputs", "artifacts"}``."""
        return self._t.request("GET", path_of("api", "v1", "runs", run_id)).json()

    def artifacts(self, run_id: str) -> List[Dict[str, Any]]:
        """A run's artifacts: ``[{"path", "digest", "size"}]``."""
        return self._t.request("GET", path_of("api", "v1", "runs", run_id,
                                              "artifacts")).json()["artifacts"]

    def download_artifact(self, run_id: str, path: str, destination: Any = None, *,
                          timeout: Optional[float] = None) -> str:
        """Writes an artifact to ``destination`` (default: its base name in the current
        folder) by way of a temporary file, checking its SHA-256; returns the path."""
        output = AtomicOutput(destination)
        with output as sink:
            self._t.download(path_of("api", "v1", "runs", run_id, "artifacts"), sink,
                             f"artifact {path} of run {run_id}", query={"path": path},
                             timeout=timeout)
            if output.path is None:
                output.path = path.rsplit("/", 1)[-1]
        assert output.path is not None
        return output.path

    def metric_history(self, run_id: str, key: str) -> List[Dict[str, Any]]:
        """Every point of a metric series: ``[{"value", "step", "timestamp"}]``."""
        points = self._t.request(
            "GET", path_of("api", "v1", "runs", run_id, "metrics", key)).json()["points"]
        for p in points:
            if isinstance(p["value"], str):
                p["value"] = float(p["value"].replace("Infinity", "inf"))
        return points

    def search_runs(self, experiments: Optional[List[str]] = None, filter: str = "",
                    order_by: str = "", max_results: Optional[int] = None,
                    page_size: int = 1000) -> Iterator[Dict[str, Any]]:
        """Runs matching an MLflow-style filter (``"metrics.auc > 0.9 AND params.depth =
        '3'"``) in order (``"metrics.auc DESC"``), fetched a page at a time."""
        token = ""
        yielded = 0
        while True:
            size = page_size if max_results is None else min(page_size, max_results - yielded)
            if size <= 0:
                return
            body: Dict[str, Any] = {"filter": filter, "order_by": order_by, "max_results": size,
                                    "page_token": token}
            if experiments:
                body["experiments"] = list(experiments)
            page = self._t.request("POST", "/api/v1/runs/search", json_body=body,
                                   idempotent=True).json()
            for run in page["runs"]:
                yield run
                yielded += 1
            token = page.get("next_page_token") or ""
            if not token:
                return

    def search_runs_df(self, experiments: Optional[List[str]] = None, filter: str = "",
                       order_by: str = "", max_results: Optional[int] = None) -> Any:
        """search_runs as a DataFrame, one row per run, as MLflow's: run_id, experiment,
        name, status, start_time, end_time, then ``params.K``, ``metrics.K`` (latest
        values) and ``tags.K`` columns."""
        pandas = require_pandas("search_runs_df")
        rows = []
        for run in self.search_runs(experiments, filter, order_by, max_results):
            info = run["info"]
            row: Dict[str, Any] = {k: info.get(k) for k in (
                "run_id", "experiment", "name", "status", "start_time", "end_time")}
            row.update({f"params.{k}": v for k, v in run.get("params", {}).items()})
            for k, point in run.get("metrics", {}).items():
                value = point["value"]
                row[f"metrics.{k}"] = float(value.replace("Infinity", "inf")) \
                    if isinstance(value, str) else value
            row.update({f"tags.{k}": v for k, v in run.get("tags", {}).items()})
            rows.append(row)
        frame = pandas.DataFrame(rows)
        for column in ("start_time", "end_time"):
            if column in frame:
                frame[column] = pandas.to_datetime(frame[column], utc=True)
        return frame
