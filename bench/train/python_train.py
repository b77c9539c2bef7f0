#!/usr/bin/python3
"""The train benchmark's peer: what a user would write with python3-xgboost. Reads the
CSV with pandas, builds an xgboost.DMatrix, trains with the same params as ferry's step
(binary:logistic, hist, max_depth 6, eta 0.1, seed 42, max_bin 256, ROUNDS rounds,
THREADS threads), evaluating on the training set each round as ferry's step does, and
saves the model as UBJSON. Prints the time of each phase to stderr (the run script times
the whole process, Python's start and imports included).

Usage: python_train.py TRAIN_CSV MODEL_OUT ROUNDS THREADS
"""
import sys
import time

import pandas as pd
import xgboost as xgb


def main():
    csv, out, rounds, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    start = time.monotonic()
    frame = pd.read_csv(csv)
    label = frame.pop("y")
    read = time.monotonic()
    dtrain = xgb.DMatrix(frame, label=label, nthread=threads)
    del frame
    built = time.monotonic()
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6,
              "eta": 0.1, "seed": 42, "max_bin": 256, "nthread": threads}
    booster = xgb.train(params, dtrain, rounds, evals=[(dtrain, "train")], verbose_eval=False)
    trained = time.monotonic()
    booster.save_model(out)
    saved = time.monotonic()
    print("read=%.3f matrix=%.3f train=%.3f save=%.3f" % (read - start, built - read,
                                                          trained - built, saved - trained),
          file=sys.stderr)


if __name__ == "__main__":
    main()
