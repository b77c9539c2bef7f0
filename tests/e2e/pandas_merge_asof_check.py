#!/usr/bin/python3
"""Checks `ferry features historical` against pandas.merge_asof on random data.

pandas' as-of join is what Feast's pandas offline store does per view. The reference
here: drop feature rows without a key or time, sort each view by (time, created time
with nulls first), stably, so source order breaks exact ties; merge_asof backward with
exact matches allowed and the view's ttl as an inclusive tolerance; then restore the
entity rows' order. Exit status 0 when ferry's training set equals it, 1 otherwise
(printing the first differences).

Usage: pandas_merge_asof_check.py FERRY_BINARY WORKDIR SEED
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BASE = pd.Timestamp("2026-01-01T00:00:00Z")


def times(rng, n, hours, null_rate=0.0):
    t = BASE + pd.to_timedelta(rng.integers(0, hours, n), unit="h")
    t = pd.Series(t)
    if null_rate:
        t[rng.random(n) < null_rate] = pd.NaT
    return t


def iso(series):
    return series.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(series.notna(), "")


def feature_frames(rng):
    n = int(rng.integers(3000, 6000))
    customer = pd.DataFrame({
        "customer_id": ["c%d" % i for i in rng.integers(0, 60, n)],
        "event_timestamp": times(rng, n, 72, 0.01),
        "created": times(rng, n, 6, 0.3),
        "spend": np.round(rng.normal(50, 20, n), 3),
        "visits": rng.integers(0, 100, n),
    })
    m = int(rng.integers(1000, 2000))
    merchant = pd.DataFrame({
        "merchant_id": rng.integers(-5, 20, m),
        "ts": times(rng, m, 72),
        "risk": np.round(rng.random(m), 4),
    })
    return customer, merchant


def reference(entities, view, keys, on, created, columns, ttl_hours):
    right = view.dropna(subset=[on] + keys).copy()
    sort_by = [on] + ([created] if created else [])
    right = right.sort_values(sort_by, na_position="first", kind="mergesort")
    right = right.rename(columns={on: "__ts"})
    left = entities.copy()
    left["__row"] = np.arange(len(left))
    left = left.sort_values("event_timestamp", kind="mergesort")
    tolerance = pd.Timedelta(hours=ttl_hours) if ttl_hours else None
    joined = pd.merge_asof(left, right[keys + ["__ts"] + columns], left_on="event_timestamp",
                           right_on="__ts", by=keys, direction="backward",
                           allow_exact_matches=True, tolerance=tolerance)
    return joined.sort_values("__row")[columns].reset_index(drop=True)


def main():
    ferry, work, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    work.mkdir(parents=True, exist_ok=True)
    customer, merchant = feature_frames(rng)
    out = customer.copy()
    out["event_timestamp"] = iso(customer["event_timestamp"])
    out["created"] = iso(customer["created"])
    out.to_csv(work / "customer.csv", index=False)
    out = merchant.copy()
    out["ts"] = iso(merchant["ts"])
    out.to_csv(work / "merchant.csv", index=False)
    k = int(rng.integers(2000, 4000))
    entities = pd.DataFrame({
        "customer_id": ["c%d" % i for i in rng.integers(0, 70, k)],
        "merchant_id": rng.integers(-6, 21, k),
        "event_timestamp": times(rng, k, 80),
        "label": rng.integers(0, 2, k),
    })
    out = entities.copy()
    out["event_timestamp"] = iso(entities["event_timestamp"])
    out.to_csv(work / "entities.csv", index=False)
    ttl = int(rng.integers(1, 24))
    (work / "features.yaml").write_text(f"""
entities:
  - {{name: customer, join_keys: [{{name: customer_id, type: string}}]}}
  - {{name: merchant, join_keys: [{{name: merchant_id, type: int64}}]}}
feature_views:
  - name: customer_stats
    entities: [customer]
    source: customer_daily
    timestamp_field: event_timestamp
    created_timestamp_field: created
    features: [{{name: spend, type: float64}}, {{name: visits, type: int64}}]
  - name: merchant_risk
    entities: [merchant]
    source: merchant_daily
    timestamp_field: ts
    ttl: {ttl}h
    features: [{{name: risk, type: float64}}]
""")
    ws = work / "ws"

    def run(*args):
        subprocess.run([ferry, "-C", str(ws)] + list(args), check=True, stdout=subprocess.DEVNULL)

    subprocess.run([ferry, "init", str(ws)], check=True, stdout=subprocess.DEVNULL)
    run("data", "add", "customer_daily", str(work / "customer.csv"))
    run("data", "add", "merchant_daily", str(work / "merchant.csv"))
    run("features", "apply", str(work / "features.yaml"))
    run("features", "historical", "--entities", str(work / "entities.csv"), "--features",
        "customer_stats:spend,merchant_risk:risk,customer_stats:visits", "--out", "train")
    run("data", "export", "train@1", str(work / "train.csv"))

    got = pd.read_csv(work / "train.csv")
    want = pd.concat([
        reference(entities, customer, ["customer_id"], "event_timestamp", "created", ["spend"], 0),
        reference(entities, merchant, ["merchant_id"], "ts", None, ["risk"], ttl),
        reference(entities, customer, ["customer_id"], "event_timestamp", "created", ["visits"], 0),
    ], axis=1)
    bad = 0
    for column in ["spend", "risk", "visits"]:
        g = got[column].astype(float).to_numpy()
        w = want[column].astype(float).to_numpy()
        same = (g == w) | (np.isnan(g) & np.isnan(w))
        for row in np.flatnonzero(~same)[:5]:
            print(f"row {row + 1} {column}: ferry {g[row]} pandas {w[row]}")
        bad += int((~same).sum())
    matched = int(want["spend"].notna().sum() + want["risk"].notna().sum())
    print(f"seed {seed}: {len(got)} rows, {matched} matched values, {bad} differences")
    if len(got) != len(entities) or matched == 0:
        print("unexpected shape")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
