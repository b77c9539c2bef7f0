"""Pipelines: start runs of applied pipelines, follow them, cancel them."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional

from ._transport import Transport, path_of
from ._util import user_name
from .errors import FerryError

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


class PipelineRunFailed(FerryError):
    """A pipeline run ended failed or cancelled; ``run`` is its record (steps included)."""

    def __init__(self, run: Dict[str, Any]) -> None:
        self.run = run
        failed = [f"{s['step']}: {s['error']}" for s in run.get("steps", []) if s.get("error")]
        detail = "; ".join(failed) or run.get("error") or "no step error recorded"
        super().__init__(f"pipeline {run['pipeline']} run {run['number']} {run['state']}: "
                         f"{detail}")


class Pipelines:
    """``client.pipelines``: the server runs them (``pipelines.enabled``)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> List[Dict[str, Any]]:
        """Applied pipelines with their triggers and last run."""
        return self._t.request("GET", "/api/v1/pipelines").json()["pipelines"]

    def get(self, name: str) -> Dict[str, Any]:
        """The applied pipeline: params, triggers, the YAML spec, and its steps as a DAG
        (``inputs``, ``outputs``, ``depends_on``)."""
        return self._t.request("GET", path_of("api", "v1", "pipelines", name)).json()

    def runs(self, name: str, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """A pipeline's runs, newest first."""
        return self._t.request("GET", path_of("api", "v1", "pipelines", name, "runs"),
                               query={"limit": limit}).json()["runs"]

    def triggers(self, name: str, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """What started (or did not start) the pipeline's runs, newest first."""
        return self._t.request("GET", path_of("api", "v1", "pipelines", name, "triggers"),
                               query={"limit": limit}).json()["triggers"]

    def run(self, name: str, params: Optional[Mapping[str, Any]] = None, *,
            force: bool = False, wait: bool = False, timeout: float = 3600.0,
            poll: float = 0.5) -> Dict[str, Any]:
        """Starts a run (params override the pipeline's defaults; ``force`` runs cached
        steps again). Returns ``{"outcome": started|queued|coalesced|refused, "run": {...}}``;
        with ``wait``, the finished run's record, raising PipelineRunFailed if it failed."""
        body: Dict[str, Any] = {"params": dict(params or {}), "force": force,
                                "actor": user_name()}
        answer = self._t.request("POST", path_of("api", "v1", "pipelines", name, "runs"),
                                 json_body=body).json()
        if not wait:
            return answer
        if answer["outcome"] == "refused":
            raise FerryError(f"pipeline {name}: the run was refused: "
                             f"{answer['run'].get('error') or 'see its triggers'}")
        return self.wait(answer["run"]["id"], timeout=timeout, poll=poll)

    def get_run(self, run_id: str) -> Dict[str, Any]:
        """One run with its steps (state, attempts, cached_from, outputs, error)."""
        return self._t.request("GET", path_of("api", "v1", "pipeline-runs", run_id)).json()

    def cancel(self, run_id: str) -> Dict[str, Any]:
        return self._t.request("POST", path_of("api", "v1", "pipeline-runs", run_id, "cancel"),
                               json_body={}, idempotent=True).json()

    def wait(self, run_id: str, *, timeout: float = 3600.0, poll: float = 0.5,
             check: bool = True) -> Dict[str, Any]:
        """Polls a run until it ends; raises PipelineRunFailed (with ``check``) when it did
        not succeed, TimeoutError when it has not ended within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(run_id)
            if run["state"] in FINAL_STATES:
                if check and run["state"] != "succeeded":
                    raise PipelineRunFailed(run)
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(f"pipeline run {run_id} still {run['state']} after "
                                   f"{timeout:g} s")
            time.sleep(poll)
