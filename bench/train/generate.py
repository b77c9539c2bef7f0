#!/usr/bin/python3
"""Generates the train benchmark's data (fixed seed) as CSV: 30 numeric feature columns
f00..f29 (24 floats with 4 decimals, 4 integer counts, 2 floats with 5% missing values
written as empty fields) and a binary label `y` that depends non-linearly on many of them
(a linear part, interactions, thresholds, a sine) plus noise, so the trees keep finding
splits. The training file and the held-out file come from one stream, so they share the
distribution.

Usage: generate.py TRAIN_ROWS HOLDOUT_ROWS OUT_DIR   (writes train.csv and holdout.csv)
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = 30


def frame(rng, n):
    x = rng.normal(0.0, 1.0, (n, FEATURES))
    x[:, 24:28] = rng.poisson(3.0, (n, 4))  # counts: int64 columns
    signal = (
        x[:, :8].sum(axis=1) * 0.4
        + np.sin(2.0 * x[:, 8]) * x[:, 9]
        + (x[:, 10] > 0.5) * (x[:, 11] < 0.0) * 1.5
        + 0.3 * x[:, 12] * x[:, 13]
        - 0.25 * (x[:, 24] - 3.0)
        + 0.2 * np.abs(x[:, 14])
        + rng.normal(0.0, 1.0, n)
    )
    y = (signal > np.median(signal)).astype(np.int64)
    columns = {}
    for f in range(FEATURES):
        name = "f%02d" % f
        if 24 <= f < 28:
            columns[name] = x[:, f].astype(np.int64)
        else:
            values = np.round(x[:, f], 4)
            if f >= 28:
                values[rng.random(n) < 0.05] = np.nan
            columns[name] = values
    columns["y"] = y
    return pd.DataFrame(columns)


def main():
    train_rows, holdout_rows, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    frame(rng, train_rows).to_csv(out / "train.csv", index=False, float_format="%.4f")
    frame(rng, holdout_rows).to_csv(out / "holdout.csv", index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
