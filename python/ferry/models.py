"""The model registry: immutable numbered versions, aliases with history, lineage."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Union

from ._transport import Transport, path_of
from ._util import user_name


def _model_bytes_or_path(model: Any) -> Union[str, bytes]:
    """A registrable artifact from a path, bytes, an xgboost Booster or an xgboost
    scikit-learn estimator (XGBClassifier, XGBRegressor...)."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        return path
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    booster = model
    if hasattr(model, "get_booster") and callable(model.get_booster):
        booster = model.get_booster()  # the scikit-learn wrapper's trained Booster
    if hasattr(booster, "save_raw") and callable(booster.save_raw):
        # JSON keeps feature names, which the registry checks against the signature.
        return bytes(booster.save_raw(raw_format="json"))
    raise TypeError("model must be a file path, bytes, an xgboost Booster or an xgboost "
                    f"scikit-learn model; got {type(model).__name__} (the registry serves "
                    "the xgboost flavor)")


class Models:
    """``client.models``."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> List[Dict[str, Any]]:
        return self._t.request("GET", "/api/v1/models").json()["models"]

    def get(self, name: str) -> Dict[str, Any]:
        """The model with ``model_versions`` and ``alias_history``."""
        return self._t.request("GET", path_of("api", "v1", "models", name)).json()

    def version(self, name: str, ref: Any = "latest") -> Dict[str, Any]:
        """One version by number or alias (``"production"``)."""
        return self._t.request("GET", path_of("api", "v1", "models", name, "versions",
                                              ref)).json()

    def register(self, name: str, model: Any, *, flavor: str = "xgboost",
                 run: Any = None, signature: Optional[Dict[str, Any]] = None,
                 reference: Optional[str] = None, description: Optional[str] = None,
                 timeout: Optional[float] = None) -> Dict[str, Any]:
        """Registers a new version of ``name`` from a file, bytes, or an in-memory xgboost
        Booster / scikit-learn xgboost model. ``run`` (an ActiveRun or a run id) links the
        version to the run that trained it: its metrics become the version's evaluation
        metrics and its training set the drift reference (or name one: ``reference=``).
        ``signature``: ``{"feature_service": "S", "inputs": [...], "outputs": [...]}``."""
        artifact = _model_bytes_or_path(model)
        run_id = getattr(run, "run_id", run)
        if run is not None and hasattr(run, "flush"):
            run.flush()  # the version takes the run's metrics as they are now
        query = {"flavor": flavor, "run": run_id, "reference": reference, "actor": user_name(),
                 "description": description,
                 "signature": json.dumps(signature) if signature is not None else None}
        target = path_of("api", "v1", "models", name, "versions")
        if isinstance(artifact, bytes):
            return self._t.request("POST", target, query=query, body=artifact,
                                   content_type="application/octet-stream",
                                   timeout=timeout).json()
        with open(artifact, "rb") as body:
            return self._t.request("POST", target, query=query, body=body,
                                   content_type="application/octet-stream",
                                   timeout=timeout).json()

    def delete_version(self, name: str, version: int) -> None:
        self._t.request("DELETE", path_of("api", "v1", "models", name, "versions", version))

    def aliases(self, name: str) -> Dict[str, Any]:
        """``{"aliases": {alias: version}, "history": [changes, oldest first]}``."""
        return self._t.request("GET", path_of("api", "v1", "models", name, "aliases")).json()

    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "",
                  actor: Optional[str] = None) -> Dict[str, Any]:
        """Points ``alias`` at ``version`` (moving it if it pointed elsewhere); the change
        is kept in the alias history with ``actor`` (default: the user name) and reason."""
        body: Dict[str, Any] = {"version": int(version), "reason": reason,
                                "actor": actor or user_name()}
        return self._t.request("PUT", path_of("api", "v1", "models", name, "aliases", alias),
                               json_body=body).json()

    def delete_alias(self, name: str, alias: str, *, reason: str = "",
                     actor: Optional[str] = None) -> Dict[str, Any]:
        return self._t.request("DELETE", path_of("api", "v1", "models", name, "aliases", alias),
                               query={"reason": reason or None,
                                      "actor": actor or user_name()}).json()

    def set_tag(self, name: str, ref: Any, key: str, value: str) -> None:
        self._t.request("PUT", path_of("api", "v1", "models", name, "versions", ref, "tags", key),
                        json_body={"value": str(value)})

    def delete_tag(self, name: str, ref: Any, key: str) -> None:
        self._t.request("DELETE",
                        path_of("api", "v1", "models", name, "versions", ref, "tags", key))

    def lineage(self, name: str, ref: Any = "latest",
                direction: str = "upstream") -> Dict[str, Any]:
        """The lineage graph from a version, ``upstream`` (what it was made from, down to
        dataset content hashes) or ``downstream``: ``{"root", "nodes", "edges"}``."""
        return self._t.request("GET", path_of("api", "v1", "models", name, "versions", ref,
                                              "lineage"),
                               query={"direction": direction}).json()
