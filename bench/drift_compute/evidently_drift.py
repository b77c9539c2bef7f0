"""The peer of bench/drift_compute: Evidently's default drift tests on raw arrays.

    evidently_drift.py DIR FEATURES [--rows N] [--out FILE]

Reads DIR/reference.f32 and the first N rows of DIR/current.f32 (float32, row-major,
FEATURES columns; what drift_compute_data wrote) into one float64 array per column, as
a pandas DataFrame would hold them, then times the loop over the features alone (the
reading is outside the timing). Per feature, what Evidently does by default for a
numeric column when the reference has more than 1000 rows:

  n_values = the distinct values of reference and current together
  n_values > 5:  Wasserstein distance (scipy.stats.wasserstein_distance) normed by the
                 reference's standard deviation (np.std, at least 0.001); drift >= 0.1
  otherwise:     Jensen-Shannon distance (scipy.spatial.distance.jensenshannon, natural
                 log) of the shares of each value, zero shares set to 0.0001; drift >= 0.1

Prints seconds=... (the loop), features_drifted=..., and writes the verdicts to --out as
TSV: name, method, statistic, drifted (1 or 0).
"""

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.spatial import distance

THRESHOLD = 0.1
BLOCK_ROWS = 65536


def read_columns(path, features, rows=None):
    """float64 columns of the first `rows` rows of a row-major float32 file."""
    data = np.memmap(path, dtype="<f4", mode="r").reshape(-1, features)
    if rows is not None:
        data = data[:rows]
    columns = np.empty((features, len(data)), dtype=np.float64)
    for start in range(0, len(data), BLOCK_ROWS):
        columns[:, start:start + BLOCK_ROWS] = data[start:start + BLOCK_ROWS].T
    return columns


def shares(values, keys):
    found, counts = np.unique(values, return_counts=True)
    out = np.zeros(len(keys))
    out[np.searchsorted(keys, found)] = counts
    out /= len(values)
    out[out == 0] = 0.0001
    return out


def column_drift(reference, current):
    keys = np.unique(np.concatenate((reference, current)))
    if len(keys) > 5:
        norm = max(np.std(reference), 0.001)
        return "wasserstein", stats.wasserstein_distance(reference, current) / norm
    return "jensenshannon", distance.jensenshannon(shares(reference, keys),
                                                   shares(current, keys))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("features", type=int)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    reference = read_columns(args.dir / "reference.f32", args.features)
    current = read_columns(args.dir / "current.f32", args.features, args.rows)

    start = time.perf_counter()
    results = [column_drift(reference[i], current[i]) for i in range(args.features)]
    seconds = time.perf_counter() - start

    drifted = [statistic >= THRESHOLD for _, statistic in results]
    print(f"rows={current.shape[1]}")
    print(f"seconds={seconds:.6f}")
    print(f"features_drifted={sum(drifted)}")
    if args.out:
        with open(args.out, "w") as out:
            for i, ((method, statistic), drift) in enumerate(zip(results, drifted)):
                out.write(f"f{i:03d}\t{method}\t{statistic:.9g}\t{int(drift)}\n")


if __name__ == "__main__":
    main()
