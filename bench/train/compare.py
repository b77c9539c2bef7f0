#!/usr/bin/python3
"""Scores two saved XGBoost models on the held-out CSV (label `y`) and prints
"OURS_AUC PEER_AUC SAME" where SAME says whether the two models hold the same trees,
feature names and types: their UBJSON bytes once the attributes are dropped (Python's
xgboost.train records best_iteration and best_ntree_limit as attributes even without
early stopping; ferry's step records them only when it stops early).

Usage: compare.py HOLDOUT_CSV OURS_MODEL PEER_MODEL
"""
import sys

import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def main():
    holdout, ours, peer = sys.argv[1:4]
    frame = pd.read_csv(holdout)
    label = frame.pop("y")
    matrix = xgb.DMatrix(frame)
    aucs, models = [], []
    for path in (ours, peer):
        booster = xgb.Booster(model_file=path)
        if booster.feature_names != list(frame.columns):
            sys.exit("%s names features %s" % (path, booster.feature_names))
        aucs.append(roc_auc_score(label, booster.predict(matrix)))
        booster.set_attr(**{key: None for key in booster.attributes()})
        models.append(booster.save_raw("ubj"))
    same = "identical" if models[0] == models[1] else "different"
    print("%.6f %.6f %s" % (aucs[0], aucs[1], same))


if __name__ == "__main__":
    main()
