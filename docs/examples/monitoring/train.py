"""Makes a synthetic card-transaction training set (train.csv) and trains an XGBoost
fraud model on it (fraud.json), for the monitoring walkthrough in the README.

Usage: python3 train.py [--rows N]
"""
import argparse

import numpy as np
import xgboost as xgb

FEATURES = ["amount", "age", "foreign", "hour"]


def transactions(rng, n, amount_log_mean=3.0, foreign_share=0.2):
    amount = rng.lognormal(amount_log_mean, 1.0, n)
    age = rng.integers(18, 80, n)
    foreign = rng.binomial(1, foreign_share, n)
    hour = rng.integers(0, 24, n)
    fraud = ((amount > 60) & (foreign == 1)) | (hour < 4)
    return np.column_stack([amount, age, foreign, hour]), fraud.astype(int)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    x, y = transactions(np.random.default_rng(7), args.rows)
    with open("train.csv", "w") as f:
        f.write(",".join(FEATURES) + ",fraud\n")
        for row, label in zip(x, y):
            f.write(f"{row[0]:.2f},{int(row[1])},{int(row[2])},{int(row[3])},{label}\n")
    data = xgb.DMatrix(x.astype(np.float32), label=y, feature_names=FEATURES)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 1},
                        data, 30)
    booster.save_model("fraud.json")
    print(f"train.csv: {args.rows} rows; fraud.json: 30 trees on {', '.join(FEATURES)}")


if __name__ == "__main__":
    main()
