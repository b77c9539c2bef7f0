#!/usr/bin/python3
"""Trains the small XGBoost models the model runtime tests load, with Debian's
python3-xgboost (1.7), and writes what Python predicts for them.

    make_models.py OUT_DIR

For every case NAME (the CASES table below) OUT_DIR gets:
    NAME.json or NAME.ubj   the model, as Booster.save_model writes it
    NAME.rows               probe rows, one per line, values separated by spaces: the
                            float32 values written with repr (exact), "nan" for missing
    NAME.expected           Booster.predict on those rows through a DMatrix (not the
                            in-place path ferry's libxgboost evaluator uses), one row
                            per line, float32 values written with repr
and OUT_DIR/deprecated.bin holds one model in the deprecated binary format (refused).

The probe rows mix values drawn like the training data, NaN (15%), and values exactly
at, just below and just above the model's own split thresholds. Seeds are fixed.
"""

import json
import sys

import numpy as np
import xgboost as xgb

# name, objective, extra params, features, classes, rounds, depth, options
CASES = [
    ("binary_logistic", "binary:logistic", {}, 30, 2, 40, 5, {"nan": 0.1, "names": True}),
    ("multi_softprob", "multi:softprob", {}, 8, 4, 15, 4, {"ubj": True}),
    ("multi_softmax", "multi:softmax", {}, 6, 3, 12, 3, {"nan": 0.05}),
    ("reg_squarederror", "reg:squarederror", {}, 10, 0, 30, 6, {"nan": 0.2}),
    ("reg_squarederror_ubj", "reg:squarederror", {"base_score": 3.5}, 5, 0, 10, 4, {"ubj": True}),
    ("binary_logitraw", "binary:logitraw", {"base_score": 0.3}, 7, 2, 10, 3, {}),
    ("reg_logistic", "reg:logistic", {"base_score": 0.2}, 7, 0, 10, 3, {}),
    ("count_poisson", "count:poisson", {}, 6, 0, 10, 3, {}),
    ("reg_gamma", "reg:gamma", {"base_score": 2.0}, 6, 0, 10, 3, {}),
    ("reg_pseudohubererror", "reg:pseudohubererror", {}, 6, 0, 10, 3, {}),
    ("rank_pairwise", "rank:pairwise", {}, 6, 0, 10, 3, {"groups": True}),
    ("random_forest", "binary:logistic", {"num_parallel_tree": 4, "subsample": 0.8,
                                          "colsample_bynode": 0.8}, 9, 2, 3, 4, {}),
    # Served by libxgboost whatever the options ask.
    ("dart", "binary:logistic", {"booster": "dart", "rate_drop": 0.2}, 6, 2, 8, 3, {}),
    ("gblinear", "reg:squarederror", {"booster": "gblinear"}, 6, 0, 8, 0, {}),
    ("categorical", "reg:squarederror", {"tree_method": "hist", "max_cat_to_onehot": 1}, 4, 0,
     8, 3, {"categorical": True}),
]


def labels(rng, x, objective, classes):
    signal = x[:, 0] * 2.0 - np.nan_to_num(x[:, 1]) + np.sin(np.nan_to_num(x[:, 2]) * 3.0)
    signal = np.nan_to_num(signal) + rng.normal(0.0, 0.3, len(x))
    if objective.startswith("multi:"):
        return np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))
    if objective.startswith("binary:"):
        return (signal > np.median(signal)).astype(np.float32)
    if objective == "reg:logistic":
        return 1.0 / (1.0 + np.exp(-signal))
    if objective == "count:poisson":
        return rng.poisson(np.exp(signal / 3.0))
    if objective == "reg:gamma":
        return np.exp(signal / 3.0) + 0.1
    if objective.startswith("rank:"):
        return np.clip(np.round(signal + 1.0), 0, 4)
    return signal * 10.0


def thresholds(booster):
    model = json.loads(booster.save_raw("json"))
    cuts = {}
    booster_json = model["learner"]["gradient_booster"]
    booster_json = booster_json.get("gbtree", booster_json)  # dart wraps a gbtree
    trees = booster_json.get("model", {}).get("trees", [])  # gblinear has none
    for tree in trees:
        for node, left in enumerate(tree["left_children"]):
            if left != -1:
                cuts.setdefault(tree["split_indices"][node], []).append(
                    np.float32(tree["split_conditions"][node]))
    return cuts


def probe_rows(rng, booster, features, categorical):
    rows = rng.normal(0.0, 1.0, (200, features)).astype(np.float32)
    if categorical:
        rows[:, 0] = rng.integers(0, 5, len(rows))
    for f, cuts in thresholds(booster).items():
        for r in range(0, len(rows), 3):
            cut = cuts[rng.integers(len(cuts))]
            rows[r, f] = [cut, np.nextafter(cut, np.float32(-np.inf)),
                          np.nextafter(cut, np.float32(np.inf))][r % 3]
    rows[rng.random(rows.shape) < 0.15] = np.nan
    rows[0, :] = np.nan
    return rows


def write_rows(path, rows):
    with open(path, "w") as out:
        for row in np.atleast_2d(rows):
            out.write(" ".join(repr(float(v)) for v in row) + "\n")


def make(out_dir, case, seed):
    name, objective, extra, features, classes, rounds, depth, options = case
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (600, features)).astype(np.float32)
    if options.get("categorical"):
        x[:, 0] = rng.integers(0, 5, len(x))
    if options.get("nan"):
        x[rng.random(x.shape) < options["nan"]] = np.nan
    y = labels(rng, x, objective, classes)
    names = [f"f_{i}" for i in range(features)] if options.get("names") else None
    types = ["c"] + ["q"] * (features - 1) if options.get("categorical") else None
    train = xgb.DMatrix(x, label=y, feature_names=names, feature_types=types,
                        enable_categorical=bool(types))
    if options.get("groups"):
        train.set_group([100] * 6)
    params = {"objective": objective, "eta": 0.3, "seed": seed, "nthread": 1, **extra}
    if depth:
        params["max_depth"] = depth
    if objective.startswith("multi:"):
        params["num_class"] = classes
    booster = xgb.train(params, train, rounds)
    path = f"{out_dir}/{name}.{'ubj' if options.get('ubj') else 'json'}"
    booster.save_model(path)
    # Predict with the model as ferry reads it (reloaded from the file).
    loaded = xgb.Booster(model_file=path)
    rows = probe_rows(rng, loaded, features, bool(types))
    probe = xgb.DMatrix(rows, missing=np.nan, feature_names=names, feature_types=types,
                        enable_categorical=bool(types))
    write_rows(f"{out_dir}/{name}.rows", rows)
    write_rows(f"{out_dir}/{name}.expected",
               loaded.predict(probe).reshape(len(rows), -1).astype(np.float32))
    return booster


def main():
    out_dir = sys.argv[1]
    for seed, case in enumerate(CASES, start=7):
        booster = make(out_dir, case, seed)
        if case[0] == "binary_logistic":
            with open(f"{out_dir}/deprecated.bin", "wb") as out:
                out.write(booster.save_raw("deprecated"))


if __name__ == "__main__":
    main()
