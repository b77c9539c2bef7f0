"""Sends card transactions to a ferry endpoint over HTTP (Open Inference Protocol v2) and,
with --feedback, the true labels for them (POST /api/v1/feedback).

--shift moves the world away from the training data: amounts grow (log-mean 3.0 + shift)
and the share of foreign cards rises (0.2 + shift / 3).

Usage: python3 send_traffic.py [--url http://127.0.0.1:8080] [--endpoint fraud]
                               [--requests 100] [--rows 50] [--shift 0] [--feedback]
"""
import argparse
import json
import urllib.request

import numpy as np

from train import transactions


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--endpoint", default="fraud")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--shift", type=float, default=0.0)
    parser.add_argument("--feedback", action="store_true")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    labels = []
    for _ in range(args.requests):
        x, y = transactions(rng, args.rows, 3.0 + args.shift, 0.2 + args.shift / 3)
        answer = post(f"{args.url}/v2/models/{args.endpoint}/infer", {
            "inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.flatten().tolist()}]})
        labels += [{"prediction_id": i, "label": int(label)}
                   for i, label in zip(answer["parameters"]["prediction_ids"], y)]
    print(f"sent {args.requests} requests, {args.requests * args.rows} rows")
    if args.feedback:
        accepted = 0
        for start in range(0, len(labels), 10000):
            accepted += post(f"{args.url}/api/v1/feedback",
                             {"feedback": labels[start:start + 10000]})["accepted"]
        print(f"feedback: {accepted} labels accepted")


if __name__ == "__main__":
    main()
