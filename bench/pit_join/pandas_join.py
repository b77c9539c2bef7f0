#!/usr/bin/python3
"""The peer: Feast's pandas offline store, in essence. Loads the stored inputs
(pickled DataFrames), joins each feature view with pandas.merge_asof (sorting both
sides by time, as merge_asof requires; ties broken by the created column where the
view has one), restores the entity order and writes the training set (pickle).

Usage: pandas_join.py DATA_DIR OUT.pkl
"""
import sys
from pathlib import Path

import pandas as pd

VIEWS = [
    ("customer_daily", ["customer_id"], "event_timestamp", None,
     ["avg_amount_7d", "txn_count_7d", "max_amount_7d"], None),
    ("merchant_daily", ["merchant_id"], "ts", None, ["fraud_rate_30d", "txn_count_30d"],
     pd.Timedelta(days=30)),
    ("customer_hourly", ["customer_id"], "event_timestamp", "created",
     ["amount_1h", "txn_count_1h"], pd.Timedelta(days=2)),
]


def main():
    data, out = Path(sys.argv[1]), sys.argv[2]
    entities = pd.read_pickle(data / "entities.pkl")
    entities["__row"] = range(len(entities))
    left = entities.sort_values("event_timestamp", kind="mergesort")
    result = left
    for name, keys, on, created, features, ttl in VIEWS:
        right = pd.read_pickle(data / f"{name}.pkl")
        right = right.sort_values([on] + ([created] if created else []), kind="mergesort")
        right = right.rename(columns={on: "__ts_" + name})[keys + ["__ts_" + name] + features]
        result = pd.merge_asof(result, right, left_on="event_timestamp", right_on="__ts_" + name,
                               by=keys, direction="backward", allow_exact_matches=True,
                               tolerance=ttl)
        result = result.drop(columns=["__ts_" + name])
    result = result.sort_values("__row").drop(columns=["__row"]).reset_index(drop=True)
    result.to_pickle(out)


if __name__ == "__main__":
    main()
