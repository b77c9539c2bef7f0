"""client.features: historical retrieval (the server's point-in-time join), online
lookups, pushes, materialization."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import ferry

ENTITIES = pd.DataFrame({
    "customer_id": ["c1", "c1", "c2", "c2", "c3", "c4"],
    "event_timestamp": ["2026-01-02T12:00:00Z", "2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z",
                        "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z"],
    "label": [0, 1, 0, 1, 0, 1],
})
# Each row's latest values at or before its time, within the 30-day ttl: c2 has nothing
# before 01-02, c3's only row is two months old, c4 is unknown.
EXPECTED_AMOUNT = [10.5, 13.0, None, 8.0, None, None]
EXPECTED_COUNT = [3, 5, None, 2, None, None]


def _values(series):
    return [None if (isinstance(v, float) and math.isnan(v)) else v for v in series.tolist()]


def test_historical_with_a_service_into_a_dataframe(client):
    frame = client.features.historical(ENTITIES, service="fraud")
    assert list(frame.columns) == ["customer_id", "event_timestamp", "label", "avg_amount",
                                   "txn_count"]
    assert frame["customer_id"].tolist() == ENTITIES["customer_id"].tolist()  # input order
    assert frame["label"].tolist() == ENTITIES["label"].tolist()
    assert _values(frame["avg_amount"]) == EXPECTED_AMOUNT
    assert _values(frame["txn_count"]) == EXPECTED_COUNT


def test_historical_with_features_full_names_and_timestamps(client):
    entities = ENTITIES.copy()
    entities["event_timestamp"] = pd.to_datetime(entities["event_timestamp"], utc=True)
    frame = client.features.historical(entities, features=["customer_stats:segment",
                                                           "customer_stats:avg_amount"],
                                       full_feature_names=True)
    assert list(frame.columns)[-2:] == ["customer_stats__segment", "customer_stats__avg_amount"]
    assert _values(frame["customer_stats__segment"]) == ["gold", "silver", None, "bronze",
                                                          None, None]


def test_historical_from_rows_and_as_rows(client):
    rows = ENTITIES.head(2).to_dict(orient="records")
    out = client.features.historical(rows, service="fraud", as_rows=True)
    assert [r["avg_amount"] for r in out] == ["10.5", "13.0"]


def test_historical_from_a_stored_dataset_and_into_one(client, unique):
    client.datasets.upload(f"{unique}-labels", ENTITIES)
    stored = client.features.historical(entity_dataset=f"{unique}-labels@latest",
                                        service="everything", out=f"{unique}-train",
                                        tag="first")
    version = stored["version"]
    assert version["ref"] == f"{unique}-train@1" and version["rows"] == 6
    assert stored["rows"] == 6
    assert stored["columns"][-3:] == ["avg_amount", "txn_count", "segment"]
    assert stored["views"][0]["view"] == "customer_stats"
    frame = client.datasets.to_df(f"{unique}-train", "first")
    assert _values(frame["avg_amount"]) == EXPECTED_AMOUNT


def test_historical_errors(client, unique):
    with pytest.raises(ferry.BadRequest) as e:
        client.features.historical(ENTITIES.drop(columns=["event_timestamp"]), service="fraud")
    assert "event_timestamp" in e.value.message
    with pytest.raises(ferry.BadRequest) as e:
        client.features.historical(ENTITIES.drop(columns=["customer_id"]), service="fraud")
    assert "customer_id" in e.value.message
    with pytest.raises(ferry.NotFound) as e:
        client.features.historical(ENTITIES, service="no_such_service")
    assert "no_such_service" in e.value.message
    with pytest.raises(ferry.NotFound):
        client.features.historical(ENTITIES, features=["customer_stats:nope"])
    with pytest.raises(ferry.BadRequest):
        client.features.historical(
            pd.DataFrame({"customer_id": ["c1"], "event_timestamp": ["yesterday"]}),
            service="fraud", out=f"{unique}-never")
    with pytest.raises(ferry.NotFound):
        client.datasets.versions(f"{unique}-never")  # nothing stored
    with pytest.raises(ValueError):
        client.features.historical(ENTITIES, service="fraud", features=["customer_stats:*"])
    with pytest.raises(ValueError):
        client.features.historical(service="fraud")


def test_definitions(client):
    listing = client.features.list()
    assert [v["name"] for v in listing["feature_views"]] == ["customer_stats"]
    assert {s["name"] for s in listing["feature_services"]} == {"fraud", "everything"}
    view = client.features.view("customer_stats")
    assert [f["name"] for f in view["features"]] == ["avg_amount", "txn_count", "segment"]
    with pytest.raises(ferry.NotFound):
        client.features.view("nope")


def test_materialize_push_and_online(client):
    report = client.features.materialize(end="2026-01-05T00:00:00Z")
    assert report["views"][0]["keys_written"] == 3

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    pushed = client.features.push("customer_stats", pd.DataFrame({
        "customer_id": ["p1", "p2"], "event_timestamp": [now.isoformat(), now.isoformat()],
        "avg_amount": [1.5, 2.5], "txn_count": [1, 2], "segment": ["gold", None]}))
    assert pushed["written"] == 2

    online = client.features.online({"customer_id": ["p1", "p2", "nobody"]}, service="fraud")
    assert online.to_dict() == {"customer_id": ["p1", "p2", "nobody"],
                                "avg_amount": [1.5, 2.5, None], "txn_count": [1, 2, None]}
    assert online.statuses()["avg_amount"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert len(online) == 3
    frame = client.features.online(pd.DataFrame({"customer_id": ["p2"]}),
                                   features=["customer_stats:segment"],
                                   full_feature_names=True).to_df()
    assert list(frame.columns) == ["customer_id", "customer_stats__segment"]

    with pytest.raises(ferry.BadRequest) as e:
        client.features.online({"customer_id": [42]}, service="fraud")
    assert "customer_id" in e.value.message
    with pytest.raises(ferry.BadRequest):
        client.features.push("customer_stats", [{"customer_id": "p3",
                                                 "event_timestamp": now.isoformat(),
                                                 "avg_amount": "twelve"}])
    assert client.features.online({"customer_id": ["p3"]}, service="fraud").statuses()[
        "avg_amount"] == ["NOT_FOUND"]
