"""The peer of bench/serving: an XGBoost model behind FastAPI, as a Python user serves one.

Open Inference Protocol v2 on the same JSON ferry takes:
  POST /v2/models/{name}/infer  {"inputs": [{"name", "shape", "datatype", "data"}]}
    -> {"model_name", "outputs": [{"name": "predict", "datatype": "FP32", "shape", "data"}]}
  GET  /v2/health/ready         -> {"ready": true}

The first input's data becomes a float32 numpy array of its shape and goes to
Booster.inplace_predict (one thread per call: uvicorn runs one worker process per core).
No pydantic request model: the body is parsed once by Request.json(), and the answer is a
JSONResponse, which is what a user who cares about speed writes with FastAPI.

Environment: SERVING_MODEL (path of the XGBoost JSON model, required).
Run: python3 -m uvicorn fastapi_app:app --app-dir DIR --workers 2 --log-level warning
     --no-access-log --host 127.0.0.1 --port PORT
"""

import os

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

booster = xgb.Booster()
booster.load_model(os.environ["SERVING_MODEL"])
booster.set_param({"nthread": 1})

app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return JSONResponse({"ready": True})


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = await request.json()
    try:
        tensor = body["inputs"][0]
        rows = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise HTTPException(status_code=400, detail=f"bad v2 request: {e}")
    predictions = booster.inplace_predict(rows)
    return JSONResponse(
        {
            "model_name": name,
            "outputs": [
                {
                    "name": "predict",
                    "datatype": "FP32",
                    "shape": list(predictions.shape),
                    "data": predictions.tolist(),
                }
            ],
        }
    )
