#!/usr/bin/python3
"""Checks that ferry's training set (CSV) equals the peer's (pickle), column by column.

Usage: compare.py FERRY.csv PANDAS.pkl
"""
import sys

import numpy as np
import pandas as pd

ours = pd.read_csv(sys.argv[1])
peer = pd.read_pickle(sys.argv[2])
assert list(ours.columns) == list(peer.columns), (list(ours.columns), list(peer.columns))
assert len(ours) == len(peer), (len(ours), len(peer))
for column in ours.columns:
    if column in ("customer_id",):
        assert (ours[column].astype(str) == peer[column].astype(str)).all(), column
        continue
    if column == "event_timestamp":
        a = pd.to_datetime(ours[column], utc=True)
        assert (a == peer[column]).all(), column
        continue
    a = ours[column].astype(float).to_numpy()
    b = peer[column].astype(float).to_numpy()
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    assert same.all(), f"{column}: {int((~same).sum())} rows differ, first at {np.flatnonzero(~same)[0]}"
print(f"equal: {len(ours)} rows, {len(ours.columns)} columns")
