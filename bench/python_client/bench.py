"""The python_client benchmark's rounds (see run). Prints one line per figure:
`NAME: ours=... peer=... floor=... ratio=...` (ratio: peer time / ours, higher is better)."""

import argparse
import hashlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

import numpy as np
import requests
import xgboost as xgb

import ferry

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--rounds", type=int, default=5)
args = parser.parse_args()
client = ferry.Client(args.url, timeout=120)
host = urllib.parse.urlsplit(args.url)
session = requests.Session()  # the peer at its best: keep-alive, as requests users do
rng = np.random.default_rng(42)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rounds(name, ours, peer, floor, unit, per=1.0, scale=1.0):
    """Runs warm-up then `rounds` alternating peer/ours/floor; prints medians."""
    for fn in (peer, ours, floor):
        fn()
    t = {"ours": [], "peer": [], "floor": []}
    for _ in range(args.rounds):
        t["peer"].append(timed(peer))
        t["ours"].append(timed(ours))
        t["floor"].append(timed(floor))
    med = {k: statistics.median(v) for k, v in t.items()}
    ratios = statistics.median(p / o for p, o in zip(t["peer"], t["ours"]))
    fmt = lambda s: f"{per / s * scale:.1f}{unit}" if unit.endswith("/s") else f"{s * scale:.2f}{unit}"
    print(f"{name}: ours={fmt(med['ours'])} peer={fmt(med['peer'])} floor={fmt(med['floor'])} "
          f"ratio={ratios:.2f} (peer time / ours; ours/floor time {med['ours'] / med['floor']:.2f})",
          flush=True)


# -- metric logging ---------------------------------------------------------------------
POINTS = 20_000


def log_ours():
    with client.start_run(experiment="bench") as run:
        for step in range(POINTS):
            run.log_metric("loss", 1.0 / (step + 1), step=step)


def log_peer():
    run = session.post(f"{args.url}/api/v1/runs", json={"experiment": "bench"}).json()["run"]
    for step in range(POINTS):
        r = session.post(f"{args.url}/api/v1/runs/{run['run_id']}/log-batch",
                         json={"metrics": [{"key": "loss", "value": 1.0 / (step + 1),
                                            "step": step}]})
        r.raise_for_status()
    session.post(f"{args.url}/api/v1/runs/{run['run_id']}/status", json={"status": "FINISHED"})


def raw(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection(host.hostname, host.port)
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, data


def log_floor():
    stamp = time.time_ns() // 1000
    _, data = raw("POST", "/api/v1/runs", b'{"experiment": "bench"}')
    run_id = json.loads(data)["run"]["run_id"]
    body = json.dumps({"metrics": [{"key": "loss", "value": 1.0 / (s + 1), "step": s,
                                    "timestamp": stamp} for s in range(POINTS)]}).encode()
    raw("POST", f"/api/v1/runs/{run_id}/log-batch", body)
    raw("POST", f"/api/v1/runs/{run_id}/status", b'{"status": "FINISHED"}')


rounds("metric_logging", log_ours, log_peer, log_floor, " points/s", per=POINTS)

# -- a model to serve -------------------------------------------------------------------
FEATURES = [f"f{i}" for i in range(8)]
X = rng.normal(size=(5000, 8)).astype(np.float32)
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
booster = xgb.train({"max_depth": 6, "objective": "binary:logistic"},
                    xgb.DMatrix(X, label=y, feature_names=FEATURES), num_boost_round=100)
client.models.register("bench", booster, signature={
    "inputs": [{"name": f, "type": "float64"} for f in FEATURES]})
client.deploy("bench", "bench@1")
batch = X[:1000]
expected = booster.predict(xgb.DMatrix(batch, feature_names=FEATURES))
assert np.allclose(client.infer("bench", batch).as_numpy("predict"), expected, rtol=1e-5)

header = json.dumps({"inputs": [{"name": "x", "shape": [1000, 8], "datatype": "FP32",
                                 "parameters": {"binary_data_size": batch.nbytes}}],
                     "parameters": {"binary_data_output": True}}).encode()
prebuilt = header + batch.astype("<f4").tobytes()
floor_conn = http.client.HTTPConnection(host.hostname, host.port)


def floor_infer(body=prebuilt, size=len(header), path="/v2/models/bench/infer"):
    floor_conn.request("POST", path, body=body,
                       headers={"Inference-Header-Content-Length": str(size)})
    floor_conn.getresponse().read()


def infer_peer():
    body = {"inputs": [{"name": "x", "shape": list(batch.shape), "datatype": "FP32",
                        "data": batch.ravel().tolist()}]}
    answer = session.post(f"{args.url}/v2/models/bench/infer", json=body)
    answer.raise_for_status()
    np.asarray(answer.json()["outputs"][0]["data"], dtype=np.float32)


CALLS = 50
rounds("infer_1000_rows", lambda: [client.infer("bench", batch) for _ in range(CALLS)],
       lambda: [infer_peer() for _ in range(CALLS)],
       lambda: [floor_infer() for _ in range(CALLS)], " ms/call", scale=1000 / CALLS)

row = X[:1].tolist()
one_body = json.dumps({"instances": row}).encode()


def floor_predict():
    floor_conn.request("POST", "/v1/models/bench:predict", body=one_body)
    floor_conn.getresponse().read()


CALLS1 = 500
rounds("predict_1_row", lambda: [client.predict("bench", row) for _ in range(CALLS1)],
       lambda: [session.post(f"{args.url}/v1/models/bench:predict",
                             json={"instances": row}).json() for _ in range(CALLS1)],
       lambda: [floor_predict() for _ in range(CALLS1)], " us/call", scale=1e6 / CALLS1)

# -- 100 MB up and down -----------------------------------------------------------------
data_file = os.path.join(args.work, "big.csv")
with open(data_file, "w") as f:
    f.write("id,a,b,c,label\n")
    values = rng.normal(size=(2_700_000, 3))
    for i in range(len(values)):
        a, b, c = values[i]
        f.write(f"{i},{a:.6f},{b:.6f},{c:.6f},{i % 2}\n")
size_mb = os.path.getsize(data_file) / 1e6
client.datasets.upload("big", data_file)
out = os.path.join(args.work, "out.csv")


def download_peer():
    h = hashlib.sha256()
    with session.get(f"{args.url}/api/v1/datasets/big/versions/1/content", stream=True) as r:
        r.raise_for_status()
        with open(out, "wb") as f:
            for chunk in r.iter_content(256 * 1024):
                h.update(chunk)
                f.write(chunk)
    assert h.hexdigest() == r.headers["X-Ferry-Sha256"]


rounds("download_100mb", lambda: client.datasets.download("big", 1, out), download_peer,
       lambda: subprocess.run(["curl", "-sf", "-o", out,
                               f"{args.url}/api/v1/datasets/big/versions/1/content"],
                              check=True), " MB/s", per=size_mb)


def upload_with(fn):
    # Every round adds a version with different bytes (the last line differs), as
    # re-uploading equal content is answered without storing anything.
    counter = [0]

    def go():
        counter[0] += 1
        with open(data_file, "r+b") as f:
            f.seek(-2, os.SEEK_END)
            f.write(str(counter[0] % 10).encode())
        fn()
    return go


rounds("upload_100mb",
       upload_with(lambda: client.datasets.upload("up-ours", data_file)),
       upload_with(lambda: session.post(
           f"{args.url}/api/v1/datasets/up-peer/versions?filename=big.csv",
           data=open(data_file, "rb")).raise_for_status()),
       upload_with(lambda: subprocess.run(
           ["curl", "-sf", "-o", "/dev/null", "-X", "POST", "-T", data_file,
            f"{args.url}/api/v1/datasets/up-floor/versions?filename=big.csv"], check=True)),
       " MB/s", per=size_mb)


def peak_rss_mib(code):
    """Peak RSS of a fresh interpreter running `code` (the client or the peer alone)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", code],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return int(result.stderr.strip().splitlines()[-1]) / 1024


base = peak_rss_mib("import ferry, requests")
ours = peak_rss_mib(f"import ferry, requests; ferry.Client({args.url!r}).datasets.download("
                    f"'big', 1, {out!r})")
peer = peak_rss_mib(
    "import hashlib, requests\n"
    f"with requests.get({args.url!r} + '/api/v1/datasets/big/versions/1/content', stream=True) as r:\n"
    f"    h = hashlib.sha256(); f = open({out!r}, 'wb')\n"
    "    for c in r.iter_content(256 * 1024): h.update(c); f.write(c)\n")
print(f"download_100mb_rss: ours={ours:.0f}MiB peer={peer:.0f}MiB interpreter={base:.0f}MiB "
      f"(peak RSS of a process downloading {size_mb:.0f} MB)")
