"""The feature store: definitions, historical retrieval (the server does the
point-in-time join), online lookups, pushes and materialization."""

from __future__ import annotations

import tempfile
from typing import Any, Dict, List, Optional, Sequence

from ._tables import read_rows, read_table, table_body
from ._transport import Transport, path_of
from ._util import is_dataframe, require_pandas


class OnlineFeatures:
    """The answer of an online lookup, Feast-style: one column per entity key and feature,
    each with a status (PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE, ...) and event time."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        self.raw = answer
        self.feature_names: List[str] = answer["metadata"]["feature_names"]
        self._results = answer["results"]

    def to_dict(self) -> Dict[str, List[Any]]:
        """``{name: [value per entity row]}``, as Feast's ``to_dict()``."""
        return {n: r["values"] for n, r in zip(self.feature_names, self._results)}

    def statuses(self) -> Dict[str, List[str]]:
        return {n: r["statuses"] for n, r in zip(self.feature_names, self._results)}

    def event_timestamps(self) -> Dict[str, List[str]]:
        return {n: r["event_timestamps"] for n, r in zip(self.feature_names, self._results)}

    def to_df(self) -> Any:
        pandas = require_pandas("OnlineFeatures.to_df")
        return pandas.DataFrame(self.to_dict(), columns=self.feature_names)

    def __len__(self) -> int:
        return len(self._results[0]["values"]) if self._results else 0

    def __repr__(self) -> str:
        return f"OnlineFeatures({len(self)} rows, {self.feature_names})"


class Features:
    """``client.features``."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self) -> Dict[str, Any]:
        """Entities, feature views (with freshness and materialization) and services."""
        return self._t.request("GET", "/api/v1/features").json()

    def view(self, name: str) -> Dict[str, Any]:
        return self._t.request("GET", path_of("api", "v1", "features", "views", name)).json()

    def historical(self, entities: Any = None, *, service: Optional[str] = None,
                   features: Optional[Sequence[str]] = None,
                   entity_dataset: Optional[str] = None, full_feature_names: bool = False,
                   out: Optional[str] = None, tag: Optional[str] = None,
                   message: Optional[str] = None, as_rows: bool = False,
                   timeout: Optional[float] = None) -> Any:
        """Builds a training set by the server's point-in-time join of an entity table
        (join keys and ``event_timestamp`` per row) with a feature service or a list of
        ``"view:feature"`` / ``"view:*"``: for each row, each view's latest value at or
        before that time within its ttl.

        The entity table is a DataFrame, a list of dicts, a CSV / JSON Lines path, or a
        stored dataset version (``entity_dataset="labels@3"``). Returns a DataFrame (or, with
        ``as_rows``, a list of dicts) with one row per entity row, in order. With ``out``,
        the server stores the training set as a new version of that dataset, with lineage
        to what it read, and this returns the version's record instead."""
        if (service is None) == (features is None):
            raise ValueError("give exactly one of service= and features=")
        if (entities is None) == (entity_dataset is None):
            raise ValueError("give exactly one of entities and entity_dataset=")
        query: Dict[str, Any] = {
            "service": service,
            "features": ",".join(features) if features is not None else None,
            "entities": entity_dataset,
            "full_feature_names": True if full_feature_names else None,
            "out": out, "tag": tag, "message": message,
        }
        with tempfile.TemporaryFile(prefix="ferry-entities-") as spool:
            body = None
            if entities is not None:
                body, kind, _ = table_body(entities, spool)
                query["format"] = kind or "csv"
            try:
                if out is not None:
                    return self._t.request("POST", "/api/v1/features/historical", query=query,
                                           body=body, content_type=_content(query),
                                           timeout=timeout).json()
                with tempfile.TemporaryFile(prefix="ferry-training-") as result:
                    self._t.request("POST", "/api/v1/features/historical", query=query,
                                    body=body, content_type=_content(query), stream_to=result,
                                    timeout=timeout, idempotent=True)
                    result.seek(0)
                    return read_rows(result, "csv") if as_rows else read_table(result, "csv")
            finally:
                if body is not None and body is not spool and body is not entities:
                    body.close()

    def online(self, entities: Any, *, service: Optional[str] = None,
               features: Optional[Sequence[str]] = None,
               full_feature_names: bool = False) -> OnlineFeatures:
        """Online lookup: ``entities`` maps each join key to its values
        (``{"customer_id": ["c1", "c2"]}``), or is a DataFrame of join-key columns."""
        if (service is None) == (features is None):
            raise ValueError("give exactly one of service= and features=")
        if is_dataframe(entities):
            entities = {c: entities[c].tolist() for c in entities.columns}
        if not isinstance(entities, dict) or not entities:
            raise TypeError("entities must be a non-empty dict of join key -> list of values")
        body: Dict[str, Any] = {"entities": {k: list(v) for k, v in entities.items()},
                                "full_feature_names": full_feature_names}
        if service is not None:
            body["feature_service"] = service
        else:
            body["features"] = list(features or [])
        return OnlineFeatures(self._t.request("POST", "/api/v1/features/online",
                                              json_body=body, idempotent=True).json())

    def push(self, view: str, rows: Any) -> Dict[str, Any]:
        """Writes rows (dicts or a DataFrame with join keys, timestamp field and features)
        straight into the online store; a bad row refuses the whole push."""
        if is_dataframe(rows):
            rows = _frame_records(rows)
        return self._t.request("POST", "/api/v1/features/push",
                               json_body={"view": view, "rows": list(rows)},
                               idempotent=True).json()

    def materialize(self, *, start: Optional[str] = None, end: Optional[str] = None,
                    views: Optional[Sequence[str]] = None, incremental: bool = False,
                    timeout: Optional[float] = None) -> Dict[str, Any]:
        """Loads feature values of a time window (or, incrementally, since the last run)
        into the online store, in the server."""
        body: Dict[str, Any] = {}
        if incremental:
            body["incremental"] = True
        elif start is not None:
            body["start"] = start
        if end is not None:
            body["end"] = end
        if views is not None:
            body["views"] = list(views)
        return self._t.request("POST", "/api/v1/features/materialize", json_body=body,
                               timeout=timeout, idempotent=True).json()


def _content(query: Dict[str, Any]) -> Optional[str]:
    if query.get("entities") is not None:
        return None
    return "application/x-ndjson" if query.get("format") == "jsonl" else "text/csv"


def _frame_records(frame: Any) -> List[Dict[str, Any]]:
    pandas = require_pandas("a DataFrame")
    records = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, pandas.Timestamp):
                v = v.isoformat()
            elif v is not None and v != v:  # NaN: a missing value
                v = None
            elif hasattr(v, "item"):
                v = v.item()  # numpy scalar
            clean[k] = v
        records.append(clean)
    return records
