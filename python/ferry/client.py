"""The ferry client: one object per server."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Union

from ._transport import Transport
from .datasets import Datasets
from .features import Features
from .models import Models
from .pipelines import Pipelines
from .serving import InferResult, Prediction, Serving
from .tracking import ActiveRun, Tracking


class Client:
    """Talks to a ``ferry server`` over its HTTP API.

    Args:
        url: the server, ``http://HOST:PORT`` or ``https://HOST:PORT`` (default:
            ``$FERRY_URL``, else ``http://127.0.0.1:8080``).
        token: an API token (``ferry token create``); default ``$FERRY_TOKEN``. Sent as
            ``Authorization: Bearer``; never logged or shown in errors.
        timeout: seconds to wait for a connection or an answer (per call; calls that take
            long, like uploads, accept their own ``timeout=``).
        max_retries: how often a call is retried after a failure that is safe to retry:
            reads, PUT/DELETE and other idempotent calls after connection errors, timeouts,
            502/503/504; every call after a refused connection or a 429. Waits grow
            exponentially from ``backoff`` seconds (with jitter), or as ``Retry-After`` says.
        verify: for https, ``True`` (system CAs), ``False`` (no check), or a CA file path.

    Parts: ``datasets``, ``features``, ``tracking`` (and ``start_run``), ``models``,
    ``serving`` (and ``deploy``, ``predict``, ``infer``, ``feedback``), ``pipelines``.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *,
                 timeout: float = 30.0, max_retries: int = 3, backoff: float = 0.2,
                 verify: Union[bool, str] = True) -> None:
        url = url or os.environ.get("FERRY_URL") or "http://127.0.0.1:8080"
        token = token if token is not None else (os.environ.get("FERRY_TOKEN") or None)
        self._transport = Transport(url, token, timeout, max_retries, backoff, verify)
        self.url = self._transport.url
        self.datasets = Datasets(self._transport)
        self.features = Features(self._transport)
        self.tracking = Tracking(self._transport)
        self.models = Models(self._transport)
        self.serving = Serving(self._transport)
        self.pipelines = Pipelines(self._transport)

    def __repr__(self) -> str:
        return f"ferry.Client({self.url!r})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # -- the server -----------------------------------------------------------------------

    def health(self) -> bool:
        """True when the server answers its readiness probe."""
        answer = self._transport.request("GET", "/readyz", ok_statuses=(503,))
        return answer.status == 200

    def workspace(self) -> Dict[str, Any]:
        """The workspace's id, version, stores, and the leader among servers."""
        return self._transport.request("GET", "/api/v1/workspace").json()

    # -- shortcuts for the calls a notebook makes most ------------------------------------

    def start_run(self, experiment: str = "Default", name: Optional[str] = None,
                  **kwargs: Any) -> ActiveRun:
        """``with client.start_run(experiment="fraud") as run: run.log_metric(...)``;
        see Tracking.start_run."""
        return self.tracking.start_run(experiment, name, **kwargs)

    def deploy(self, endpoint: str, model: str, **kwargs: Any) -> Dict[str, Any]:
        return self.serving.deploy(endpoint, model, **kwargs)

    def predict(self, endpoint: str, instances: Any) -> Prediction:
        return self.serving.predict(endpoint, instances)

    def infer(self, endpoint: str, inputs: Any, **kwargs: Any) -> InferResult:
        return self.serving.infer(endpoint, inputs, **kwargs)

    def feedback(self, labels: Any) -> Dict[str, Any]:
        return self.serving.feedback(labels)
