#!/usr/bin/python3
"""Generates the pit_join benchmark's data (fixed seed): three feature views' sources
and an entity table, as CSV for ferry and as pickled DataFrames for pandas (its
fastest stored form, so the peer pays no CSV parsing).

  customer_daily   40% of FEATURE_ROWS  customer_id (string), event_timestamp, 3 features
  merchant_daily   30%                  merchant_id (int64), ts, 2 features
  customer_hourly  30%                  customer_id, event_timestamp, created, 2 features
  entities         ENTITY_ROWS          customer_id, merchant_id, event_timestamp, label

Usage: generate.py FEATURE_ROWS ENTITY_ROWS OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-01-01T00:00:00Z")
SPAN_S = 90 * 86400


def times(rng, n, span=SPAN_S):
    return START + pd.to_timedelta(rng.integers(0, span, n), unit="s")


def write(frame, time_columns, path):
    frame.to_pickle(path.with_suffix(".pkl"))
    out = frame.copy()
    for c in time_columns:
        out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path.with_suffix(".csv"), index=False)


def main():
    feature_rows, entity_rows, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    customers = max(1000, entity_rows // 5)
    merchants = max(100, entity_rows // 50)
    cust_names = np.array(["c%07d" % i for i in range(customers)])

    n = feature_rows * 4 // 10
    write(pd.DataFrame({
        "customer_id": cust_names[rng.integers(0, customers, n)],
        "event_timestamp": times(rng, n),
        "avg_amount_7d": np.round(rng.gamma(2.0, 30.0, n), 2),
        "txn_count_7d": rng.integers(0, 60, n),
        "max_amount_7d": np.round(rng.gamma(3.0, 40.0, n), 2),
    }), ["event_timestamp"], out / "customer_daily")
    n = feature_rows * 3 // 10
    write(pd.DataFrame({
        "merchant_id": rng.integers(0, merchants, n),
        "ts": times(rng, n),
        "fraud_rate_30d": np.round(rng.beta(1, 60, n), 5),
        "txn_count_30d": rng.integers(0, 5000, n),
    }), ["ts"], out / "merchant_daily")
    n = feature_rows - feature_rows * 4 // 10 - feature_rows * 3 // 10
    t = times(rng, n)
    write(pd.DataFrame({
        "customer_id": cust_names[rng.integers(0, customers, n)],
        "event_timestamp": t,
        "created": t + pd.to_timedelta(rng.integers(0, 3600, n), unit="s"),
        "amount_1h": np.round(rng.gamma(1.5, 20.0, n), 2),
        "txn_count_1h": rng.integers(0, 10, n),
    }), ["event_timestamp", "created"], out / "customer_hourly")
    write(pd.DataFrame({
        "customer_id": cust_names[rng.integers(0, customers, entity_rows)],
        "merchant_id": rng.integers(0, merchants, entity_rows),
        "event_timestamp": times(rng, entity_rows),
        "label": rng.integers(0, 2, entity_rows),
    }), ["event_timestamp"], out / "entities")


if __name__ == "__main__":
    main()
