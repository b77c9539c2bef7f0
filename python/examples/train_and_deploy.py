# %% [markdown]
# # From a notebook to a served model with ferry
#
# Runs as a script (`python3 train_and_deploy.py --url http://127.0.0.1:8080`) or cell by
# cell in an editor that understands `# %%` cells. It needs a running `ferry server`
# (`ferry init demo && ferry --workspace demo server`), and pandas, scikit-learn and
# xgboost (Debian: python3-pandas python3-sklearn python3-xgboost).
#
# 1. make a labelled dataset and version it in ferry;
# 2. read it back, train an XGBoost classifier, and log the run (params, a metric per
#    boosting round, the dataset it read, the model file);
# 3. register the model from memory, point the `production` alias at it;
# 4. deploy it to an endpoint, predict over v1 and v2, send ground truth back.

# %%
import argparse
import os
import sys
import tempfile

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

try:
    import ferry
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import ferry

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", default=os.environ.get("FERRY_URL", "http://127.0.0.1:8080"))
parser.add_argument("--name", default="churn", help="dataset, model and endpoint name")
parser.add_argument("--rows", type=int, default=5000)
parser.add_argument("--seed", type=int, default=7)
args, _ = parser.parse_known_args()  # notebooks pass arguments of their own

client = ferry.Client(args.url)  # the token, if the server needs one, from $FERRY_TOKEN
print(f"server {client.url}: ready={client.health()}")

# %% 1. A labelled dataset, versioned by content hash
rng = np.random.default_rng(args.seed)
customers = pd.DataFrame({
    "tenure_months": rng.integers(1, 72, args.rows),
    "monthly_spend": rng.gamma(3.0, 25.0, args.rows).round(2),
    "support_calls": rng.poisson(1.5, args.rows),
})
risk = (-2.0 + 0.6 * customers["support_calls"] - 0.04 * customers["tenure_months"]
        + 0.01 * customers["monthly_spend"])
customers["churned"] = (rng.random(args.rows) < 1 / (1 + np.exp(-risk))).astype(int)

added = client.datasets.upload(args.name, customers, message="synthetic customers")
version = added["version"]
print(f"dataset {version['ref']}: {version['rows']} rows, sha256:{version['content_sha256'][:12]}"
      f" ({'new version' if added['created'] else 'unchanged'})")

# %% 2. Train on what ferry stores, and log the run
data = client.datasets.to_df(args.name, version["version"])
features = ["tenure_months", "monthly_spend", "support_calls"]
train, test = train_test_split(data, test_size=0.25, random_state=args.seed,
                               stratify=data["churned"])
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3,
          "eval_metric": "logloss", "seed": args.seed}

with client.start_run(experiment=args.name, name=f"xgb-depth{params['max_depth']}") as run:
    run.log_params(params)
    run.log_input(version["ref"], role="train")
    dtrain = xgb.DMatrix(train[features], label=train["churned"])
    dtest = xgb.DMatrix(test[features], label=test["churned"])
    history = {}
    booster = xgb.train(params, dtrain, num_boost_round=30, evals=[(dtest, "test")],
                        evals_result=history, verbose_eval=False)
    for step, loss in enumerate(history["test"]["logloss"]):
        run.log_metric("test_logloss", loss, step=step)  # batched in the background
    auc = roc_auc_score(test["churned"], booster.predict(dtest))
    run.log_metric("auc", auc)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.json")
        booster.save_model(path)
        run.log_artifact(path)
    print(f"run {run.run_id}: auc {auc:.4f}, {len(history['test']['logloss'])} rounds logged")

    # %% 3. Register from memory; the run's metrics and training data come along
    model = client.models.register(
        args.name, booster, run=run,
        signature={"inputs": [{"name": "tenure_months", "type": "int64"},
                              {"name": "monthly_spend", "type": "float64"},
                              {"name": "support_calls", "type": "int64"}],
                   "outputs": [{"name": "churn_probability", "type": "float64"}]})
client.models.set_alias(args.name, "production", model["version"], reason=f"auc {auc:.4f}")
print(f"registered {args.name}@{model['version']} -> production")
lineage = client.models.lineage(args.name, "production")
print("lineage:", ", ".join(sorted(f"{n['kind']} {n['id']}" for n in lineage["nodes"]
                                   if n["kind"] in ("run", "dataset_version"))))

# %% 4. Deploy, predict, and send ground truth
status = client.deploy(args.name, f"{args.name}@production")
print(f"endpoint {args.name}: {status['state']}, version {status['version']}")

sample = test.head(4)
v1 = client.predict(args.name, sample[features])
print("v1 predictions:", [round(p, 4) for p in v1.predictions])
v2 = client.infer(args.name, sample[features].to_numpy(dtype=np.float32))
print("v2 predictions:", [round(p, 4) for p in v2.outputs["predict"]])
local = booster.predict(xgb.DMatrix(sample[features]))
assert np.allclose(v1.predictions, local, rtol=1e-5), "served predictions differ from local"

answer = client.feedback(dict(zip(v1.prediction_ids, sample["churned"].tolist())))
print(f"feedback: {answer['accepted']} labels accepted")
