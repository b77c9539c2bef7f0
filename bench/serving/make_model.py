#!/usr/bin/python3
"""Data, model and request bodies for bench/serving (fixed seed).

Writes into OUT_DIR:
  model.json            XGBoost JSON model: binary:logistic, 100 trees of depth 6 (checked),
                        30 float features named f00..f29, trained on 20k synthetic rows
  features.csv          one row per customer: customer_id (int, 1..CUSTOMERS),
                        event_timestamp (ISO 8601), f00..f29 (4 decimals)
  features.yaml         entity `customer` (join key customer_id, int64), feature view
                        `customer_features` on dataset `customers`, feature service `bench`
  signature.json        {"feature_service": "bench"}: the enriched model's signature (its
                        inputs come from the service, in order f00..f29)
  v2_single.json        Open Inference Protocol v2, one row, shape [1, 30], FP32
  v2_batch100.json      v2, 100 rows, shape [100, 30]
  v1_single.json        {"instances": [[...30 numbers...]]}
  v2_entity.json        v2 with only the entity key: customer_id, shape [1], INT64
  v1_entity.json        {"instances": [{"customer_id": N}]}
  v2_entity_row.json    v2 single row holding the features of that same customer
  expected.json         libxgboost's predictions for the bodies above, for the run script's
                        agreement checks

The label depends non-linearly on many features (interactions, thresholds, a sine) plus
noise, so every tree keeps finding splits down to depth 6; the script fails if any tree
is shallower. The training rows are the first 20k customers of the features file.

Usage: make_model.py OUT_DIR [--customers N]   (default 100000)
"""

import argparse
import json
import os
import sys

import numpy as np
import xgboost as xgb

FEATURES = 30
TRAIN_ROWS = 20_000
ROUNDS = 100
DEPTH = 6
SEED = 42
CHECK_CUSTOMER = 4242


def feature_names():
    return [f"f{i:02d}" for i in range(FEATURES)]


def make_rows(customers, rng):
    # Rounded to 4 decimals and held as float32: the CSV, the JSON bodies and the training
    # matrix then all carry the same values.
    x = rng.normal(0.0, 1.0, size=(customers, FEATURES))
    x[:, 10:20] = rng.uniform(-2.0, 2.0, size=(customers, 10))
    return np.round(x, 4).astype(np.float32)


def make_labels(x, rng):
    x = x.astype(np.float64)
    logit = (
        1.5 * np.sin(2.0 * x[:, 0])
        + x[:, 1] * x[:, 2]
        + np.where(x[:, 3] > 0.5, x[:, 4], -0.5 * x[:, 5])
        + 0.6 * (x[:, 6] ** 2 - 1.0)
        + 0.8 * np.tanh(x[:, 7] * x[:, 8])
        + 0.4 * np.abs(x[:, 10:20]).sum(axis=1)
        - 0.4 * 10.0
        + 0.3 * x[:, 20:30] @ np.linspace(-1.0, 1.0, 10)
        + np.where((x[:, 11] > 0) & (x[:, 12] < 0), 1.0, 0.0)
    )
    p = 1.0 / (1.0 + np.exp(-logit))
    return (rng.uniform(size=len(p)) < p).astype(np.float32)


def tree_depths(booster):
    """Depth of each tree (a single leaf has depth 0), from the JSON dump."""

    def depth(node):
        children = node.get("children")
        if not children:
            return 0
        return 1 + max(depth(c) for c in children)

    return [depth(json.loads(t)) for t in booster.get_dump(dump_format="json")]


def fmt_row(row):
    return ",".join(f"{v:.4f}" for v in row)


def v2_body(rows):
    data = ",".join(fmt_row(r) for r in rows)
    return (
        '{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","data":[%s]}]}'
        % (len(rows), FEATURES, data)
    )


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    if args.customers < TRAIN_ROWS:
        sys.exit(f"make_model.py: --customers must be at least {TRAIN_ROWS}")
    out = args.out_dir
    os.makedirs(out, exist_ok=True)

    rng = np.random.default_rng(SEED)
    x = make_rows(args.customers, rng)
    y = make_labels(x[:TRAIN_ROWS], rng)

    train = xgb.DMatrix(x[:TRAIN_ROWS], label=y, feature_names=feature_names())
    params = {
        "objective": "binary:logistic",
        "max_depth": DEPTH,
        "eta": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "tree_method": "hist",
        "eval_metric": "logloss",
        "seed": SEED,
        "nthread": 1,
    }
    booster = xgb.train(params, train, num_boost_round=ROUNDS)
    depths = tree_depths(booster)
    if len(depths) != ROUNDS or min(depths) != DEPTH or max(depths) != DEPTH:
        sys.exit(f"make_model.py: expected {ROUNDS} trees of depth {DEPTH}, got depths {depths}")
    booster.save_model(os.path.join(out, "model.json"))

    # Features file for the online store: one row per customer, ids 1..N (row i is id i+1).
    with open(os.path.join(out, "features.csv"), "w") as f:
        f.write("customer_id,event_timestamp," + ",".join(feature_names()) + "\n")
        for i, row in enumerate(x):
            f.write(f"{i + 1},2026-01-01T00:00:00Z,{fmt_row(row)}\n")
    yaml = [
        "entities:",
        "  - name: customer",
        "    join_keys: [{name: customer_id, type: int64}]",
        "feature_views:",
        "  - name: customer_features",
        "    entities: [customer]",
        "    source: customers",
        "    timestamp_field: event_timestamp",
        "    features:",
    ]
    yaml += [f"      - {{name: {n}, type: float64}}" for n in feature_names()]
    yaml += [
        "feature_services:",
        "  - name: bench",
        '    features: ["customer_features:*"]',
    ]
    write(os.path.join(out, "features.yaml"), "\n".join(yaml))
    write(os.path.join(out, "signature.json"), json.dumps({"feature_service": "bench"}))

    # Request bodies.
    write(os.path.join(out, "v2_single.json"), v2_body(x[:1]))
    write(os.path.join(out, "v2_batch100.json"), v2_body(x[:100]))
    write(os.path.join(out, "v1_single.json"), '{"instances":[[%s]]}' % fmt_row(x[0]))
    write(
        os.path.join(out, "v2_entity.json"),
        '{"inputs":[{"name":"customer_id","shape":[1],"datatype":"INT64","data":[%d]}]}'
        % CHECK_CUSTOMER,
    )
    write(os.path.join(out, "v1_entity.json"), '{"instances":[{"customer_id":%d}]}' % CHECK_CUSTOMER)
    check_row = x[CHECK_CUSTOMER - 1 : CHECK_CUSTOMER]
    write(os.path.join(out, "v2_entity_row.json"), v2_body(check_row))

    # libxgboost's own predictions, the reference both servers must agree with.
    reference = xgb.Booster()
    reference.load_model(os.path.join(out, "model.json"))
    reference.set_param({"nthread": 1})
    expected = {
        "single": reference.inplace_predict(x[:1]).tolist(),
        "batch100": reference.inplace_predict(x[:100]).tolist(),
        "check_customer": CHECK_CUSTOMER,
        "entity": reference.inplace_predict(check_row).tolist(),
    }
    write(os.path.join(out, "expected.json"), json.dumps(expected))

    pred = reference.inplace_predict(x[:TRAIN_ROWS])
    logloss = -np.mean(y * np.log(pred) + (1 - y) * np.log(1 - pred))
    print(
        f"make_model.py: {ROUNDS} trees, depth {DEPTH} each, {FEATURES} features, "
        f"{TRAIN_ROWS} training rows (positive rate {y.mean():.3f}, train logloss "
        f"{logloss:.4f}), {args.customers} customers -> {out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
