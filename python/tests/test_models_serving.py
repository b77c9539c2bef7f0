"""client.models and client.serving: register from files and in-memory xgboost models,
aliases, lineage; deploy, predict (v1 and v2), feedback, the prediction log."""

from __future__ import annotations

import getpass

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import ferry

SIGNATURE = {"feature_service": "fraud",
             "outputs": [{"name": "fraud_probability", "type": "float64"}]}


def _training_frame(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"avg_amount": rng.gamma(2.0, 20.0, n),
                          "txn_count": rng.integers(0, 20, n)})
    frame["label"] = ((frame["avg_amount"] > 50) ^ (frame["txn_count"] > 15)).astype(int)
    return frame


def _booster(frame: pd.DataFrame, depth: int = 2) -> xgb.Booster:
    matrix = xgb.DMatrix(frame[["avg_amount", "txn_count"]], label=frame["label"])
    return xgb.train({"max_depth": depth, "objective": "binary:logistic", "eta": 0.5},
                     matrix, num_boost_round=8)


@pytest.fixture(scope="module")
def registered(world):
    """A model with two versions (a Booster in memory, then a file), trained in runs."""
    _, server = world
    client = ferry.Client(server.url)
    frame = _training_frame()
    client.datasets.upload("model-train", frame)
    with client.start_run(experiment="models", name="v1") as run:
        run.log_input("model-train@latest", role="train")
        run.log_metric("auc", 0.91)
        booster = _booster(frame)
        v1 = client.models.register("risk", booster, run=run, signature=SIGNATURE,
                                    description="in memory")
    return client, frame, booster, v1, run


def test_register_from_a_booster_records_run_and_signature(registered):
    client, _, _, v1, run = registered
    assert v1["version"] == 1 and v1["flavor"] == "xgboost"
    assert v1["run_id"] == run.run_id
    got = client.models.version("risk", 1)
    assert [i["name"] for i in got["signature"]["inputs"]] == ["avg_amount", "txn_count"]
    assert got["metrics"]["auc"] == 0.91
    assert client.models.get("risk")["latest_version"] >= 1


def test_register_from_a_file_and_an_sklearn_model(registered, tmp_path):
    client, frame, booster, _, _ = registered
    path = tmp_path / "model.json"
    booster.save_model(str(path))
    v = client.models.register("risk-file", path, signature=SIGNATURE)
    assert v["version"] == 1
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2)
    model.fit(frame[["avg_amount", "txn_count"]], frame["label"])
    v = client.models.register("risk-sklearn", model, signature=SIGNATURE)
    assert v["version"] == 1


def test_register_refuses_bad_models_and_stores_nothing(registered, tmp_path):
    client = registered[0]
    with pytest.raises(ferry.BadRequest) as e:
        client.models.register("risk-bad", b"id,score\n1,2\n")
    assert "XGBoost" in e.value.message
    with pytest.raises(ferry.NotFound):
        client.models.get("risk-bad")
    with pytest.raises(ferry.BadRequest):
        client.models.register("risk-bad", registered[2], signature={"bogus": 1})
    with pytest.raises(TypeError):
        client.models.register("risk-bad", object())
    with pytest.raises(FileNotFoundError):
        client.models.register("risk-bad", tmp_path / "missing.json")


def test_aliases_history_tags_and_lineage(registered):
    client, frame, _, _, _ = registered
    v2 = client.models.register("risk", _booster(frame, depth=3), signature=SIGNATURE)
    client.models.set_alias("risk", "production", 1, reason="first")
    moved = client.models.set_alias("risk", "production", v2["version"], reason="deeper")
    assert moved["alias"] == "production"
    aliases = client.models.aliases("risk")
    assert aliases["aliases"]["production"] == v2["version"]
    assert [c["reason"] for c in aliases["history"] if c["alias"] == "production"] == [
        "first", "deeper"]
    assert client.models.version("risk", "production")["version"] == v2["version"]
    assert aliases["history"][-1]["actor"] == getpass.getuser()  # as the CLI records it
    with pytest.raises(ferry.FailedPrecondition):
        client.models.delete_version("risk", v2["version"])  # the alias points at it
    client.models.set_tag("risk", 1, "owner", "ada")
    assert client.models.version("risk", 1)["tags"]["owner"] == "ada"
    client.models.delete_tag("risk", 1, "owner")

    graph = client.models.lineage("risk", 1)
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"model_version", "run", "dataset_version"} <= kinds
    dataset = [n for n in graph["nodes"] if n["kind"] == "dataset_version"][0]
    assert dataset["id"].startswith("model-train@")
    down = client.models.lineage("risk", 1, direction="downstream")
    assert down["direction"] == "downstream"
    with pytest.raises(ferry.BadRequest):
        client.models.lineage("risk", 1, direction="sideways")

    client.models.set_alias("risk", "old", 1)
    client.models.delete_alias("risk", "old", reason="cleanup")
    assert "old" not in client.models.aliases("risk")["aliases"]
    with pytest.raises(ferry.NotFound):
        client.models.set_alias("risk", "x", 99)


def test_deploy_predict_infer_and_feedback(registered):
    client, frame, booster, _, _ = registered
    client.models.set_alias("risk", "serving", 1)
    status = client.deploy("risk-ep", "risk@serving", missing_features="missing")
    assert status["state"] == "READY" and status["version"] == 1
    assert "risk-ep" in [e["endpoint"] for e in client.serving.endpoints()]

    rows = frame[["avg_amount", "txn_count"]].head(5)
    expected = booster.predict(xgb.DMatrix(rows)).tolist()

    v1 = client.predict("risk-ep", rows.to_numpy().tolist())
    assert v1.model_version == "1" and len(v1.prediction_ids) == 5
    assert v1.predictions == pytest.approx(expected, rel=1e-6)
    assert client.predict("risk-ep", rows).predictions == pytest.approx(expected, rel=1e-6)

    v2 = client.infer("risk-ep", rows.to_numpy(dtype=np.float32), request_id="r1")
    assert v2.id == "r1" and len(v2.prediction_ids) == 5
    assert v2.outputs["predict"] == pytest.approx(expected, rel=1e-5)
    assert v2.as_numpy("predict").shape == (5,)
    assert isinstance(v2.outputs["predict"], np.ndarray)  # numpy in, binary tensors both ways
    as_json = client.infer("risk-ep", rows.to_numpy(dtype=np.float32), binary=False)
    assert as_json.outputs["predict"] == pytest.approx(expected, rel=1e-5)
    assert isinstance(as_json.outputs["predict"], list)
    as_fp64 = client.infer("risk-ep", rows.to_numpy(dtype=np.float64))
    assert as_fp64.outputs["predict"] == pytest.approx(expected, rel=1e-5)
    by_name = client.infer("risk-ep", {"avg_amount": rows["avg_amount"].tolist(),
                                       "txn_count": rows["txn_count"].tolist()}, version=1)
    assert by_name.outputs["predict"] == pytest.approx(expected, rel=1e-5)
    assert client.infer("risk-ep", rows).outputs["predict"] == pytest.approx(expected, rel=1e-5)

    answer = client.feedback({v1.prediction_ids[0]: 1, v1.prediction_ids[1]: 0})
    assert answer["accepted"] == 2
    answer = client.feedback([(v2.prediction_ids[0], 1), ("no-such-id", 0)])
    assert answer["accepted"] == 1 and answer["unknown_ids"] == ["no-such-id"]
    labeled = client.serving.predictions("risk-ep", labeled=True, limit=10)
    assert {p["prediction_id"] for p in labeled} == {v1.prediction_ids[0], v1.prediction_ids[1],
                                                      v2.prediction_ids[0]}
    assert "traffic" in client.serving.endpoint("risk-ep")
    assert "distributions" not in client.serving.monitoring("risk-ep")["models"][0]
    report = client.serving.monitoring("risk-ep", distributions=True)["models"][0]
    shown = [d["name"] for d in report["distributions"]]
    assert shown[:2] == ["avg_amount", "txn_count"], shown
    assert report["distributions"][0]["live_rows"] >= 5

    with pytest.raises(ferry.BadRequest) as e:
        client.infer("risk-ep", [[1.0, 2.0, 3.0]])
    assert "2 inputs" in e.value.message
    with pytest.raises(ferry.NotFound):
        client.predict("no-such-endpoint", [[1.0, 2.0]])
    with pytest.raises(ferry.NotFound):
        client.deploy("risk-ep2", "risk@nonexistent-alias")

    client.serving.undeploy("risk-ep")
    with pytest.raises(ferry.NotFound):
        client.serving.endpoint("risk-ep")
