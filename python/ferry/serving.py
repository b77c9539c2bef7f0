"""Serving: deploy models to endpoints, predict (TF Serving v1 / Open Inference Protocol
v2), send ground truth, read the prediction log and monitoring."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ._transport import Transport, path_of, quote
from ._util import is_dataframe, optional_numpy
from .errors import FerryError


class DeploymentFailed(FerryError):
    """An endpoint did not become ready with the model asked for."""

    def __init__(self, endpoint: str, status: Dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.status = status
        super().__init__(f"endpoint {endpoint} is {status.get('state')} "
                         f"(serving version {status.get('version')}, target "
                         f"{status.get('target_version')}): {status.get('reason') or 'no reason given'}")


class Prediction:
    """A v1 answer: ``predictions`` (one per instance), ``prediction_ids`` (for feedback)
    and the ``model_version`` that served them."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        self.raw = answer
        self.predictions: List[Any] = answer["predictions"]
        self.prediction_ids: List[str] = answer.get("prediction_ids", [])
        self.model_version: Optional[str] = answer.get("model_version")

    def __len__(self) -> int:
        return len(self.predictions)

    def __repr__(self) -> str:
        return f"Prediction({self.predictions!r}, model_version={self.model_version!r})"


class InferResult:
    """A v2 answer: ``outputs`` by name (lists, flattened row-major; ``shapes`` gives each
    shape), ``prediction_ids``, ``model_version``, the request ``id``."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        self.raw = answer
        self.model_name: str = answer.get("model_name", "")
        self.model_version: Optional[str] = answer.get("model_version")
        self.id: Optional[str] = answer.get("id")
        self.prediction_ids: List[str] = (answer.get("parameters") or {}).get(
            "prediction_ids", [])
        # Flat lists from a JSON answer, flat numpy arrays from a binary one.
        self.outputs: Dict[str, Any] = {o["name"]: o.get("data") for o in answer["outputs"]}
        self.shapes: Dict[str, List[int]] = {o["name"]: o["shape"] for o in answer["outputs"]}
        self.datatypes: Dict[str, str] = {o["name"]: o["datatype"] for o in answer["outputs"]}

    def as_numpy(self, name: str) -> Any:
        numpy = optional_numpy()
        if numpy is None:
            raise ImportError("as_numpy needs numpy (Debian: apt install python3-numpy)")
        return numpy.asarray(self.outputs[name]).reshape(self.shapes[name])

    def __repr__(self) -> str:
        return f"InferResult({self.outputs!r}, model_version={self.model_version!r})"


_NUMPY_TYPES = {"float32": "FP32", "float64": "FP64", "float16": "FP16", "int8": "INT8",
                "int16": "INT16", "int32": "INT32", "int64": "INT64", "uint8": "UINT8",
                "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64", "bool": "BOOL"}


_NUMPY_OF = {v: "<" + {"FP32": "f4", "FP64": "f8", "FP16": "f2", "INT8": "i1", "INT16": "i2",
                       "INT32": "i4", "INT64": "i8", "UINT8": "u1", "UINT16": "u2",
                       "UINT32": "u4", "UINT64": "u8", "BOOL": "b1"}[v]
              for v in _NUMPY_TYPES.values()}


def _tensor(name: str, values: Any, datatype: Optional[str],
            binary: Optional[bool]) -> Tuple[Dict[str, Any], Optional[bytes]]:
    """A v2 input tensor from a list, a list of rows, or a numpy array / pandas Series,
    and its raw little-endian bytes when it travels in binary (Triton's extension:
    numeric numpy arrays do unless binary is False)."""
    numpy = optional_numpy()
    if numpy is not None and hasattr(values, "dtype") and hasattr(values, "shape"):
        array = numpy.asarray(values)
        kind = datatype or _NUMPY_TYPES.get(array.dtype.name, "BYTES")
        tensor: Dict[str, Any] = {"name": name, "shape": list(array.shape), "datatype": kind}
        if kind != "BYTES" and binary is not False:
            raw = numpy.ascontiguousarray(array, dtype=_NUMPY_OF[kind]).tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            return tensor, raw
        data = array.astype(str).tolist() if kind == "BYTES" else array.tolist()
        tensor["data"] = _flatten(data)
        return tensor, None
    values = list(values)
    if values and isinstance(values[0], (list, tuple)):
        width = len(values[0])
        if any(len(row) != width for row in values):
            raise ValueError(f"input {name!r}: rows have different lengths")
        shape = [len(values), width]
        flat = [v for row in values for v in row]
    else:
        shape = [len(values)]
        flat = values
    if datatype is None:
        if all(isinstance(v, str) for v in flat):
            datatype = "BYTES"
        elif all(isinstance(v, bool) for v in flat):
            datatype = "BOOL"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
            datatype = "INT64"
        else:
            datatype = "FP64"
    return {"name": name, "shape": shape, "datatype": datatype, "data": flat}, None


def _flatten(data: Any) -> List[Any]:
    if not isinstance(data, list):
        return [data]
    out: List[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _decode_binary(headers: Any, payload: bytes) -> Dict[str, Any]:
    """A v2 answer with binary outputs: the JSON header, then each output's bytes."""
    length = headers.get("Inference-Header-Content-Length")
    if length is None:
        return json.loads(payload)
    size = int(length)
    answer = json.loads(payload[:size])
    numpy = optional_numpy()
    offset = size
    for output in answer.get("outputs", []):
        count = (output.get("parameters") or {}).get("binary_data_size")
        if count is None:
            continue
        raw = payload[offset:offset + count]
        if len(raw) != count:
            raise ValueError(f"binary answer: output {output['name']} is cut short")
        offset += count
        output["data"] = numpy.frombuffer(raw, dtype=_NUMPY_OF[output["datatype"]])
    return answer


def _json_value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()  # numpy scalar
    if isinstance(v, float) and v != v:
        return None  # NaN: a missing value
    return v


class Serving:
    """Endpoints, prediction and feedback (also reachable as methods of the Client)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def deploy(self, endpoint: str, model: str, *, missing_features: Optional[str] = None,
               monitoring: Optional[Dict[str, Any]] = None, wait: bool = True,
               timeout: float = 60.0) -> Dict[str, Any]:
        """Points ``endpoint`` at ``model`` (``"NAME@V"`` or ``"NAME@ALIAS"``); with
        ``wait``, returns once the endpoint serves that version (raises DeploymentFailed if
        it fails to load, TimeoutError if not ready in ``timeout`` seconds)."""
        body: Dict[str, Any] = {"model": model}
        if missing_features is not None:
            body["missing_features"] = missing_features
        if monitoring is not None:
            body["monitoring"] = monitoring
        answer = self._t.request("PUT", path_of("api", "v1", "endpoints", endpoint),
                                 json_body=body).json()
        if not wait:
            return answer
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            status = self.endpoint(endpoint)
            target = status.get("target_version")
            if status.get("state") == "READY" and status.get("version") == target:
                return status
            if status.get("state") == "FAILED":
                raise DeploymentFailed(endpoint, status)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"endpoint {endpoint} not ready within {timeout:g} s: "
                                   f"{status.get('state')} {status.get('reason') or ''}".strip())
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def undeploy(self, endpoint: str) -> None:
        self._t.request("DELETE", path_of("api", "v1", "endpoints", endpoint))

    def endpoints(self) -> List[Dict[str, Any]]:
        return self._t.request("GET", "/api/v1/endpoints").json()["endpoints"]

    def endpoint(self, endpoint: str) -> Dict[str, Any]:
        """State (READY, LOADING, FAILED, UNRESOLVED), version served and targeted, traffic."""
        return self._t.request("GET", path_of("api", "v1", "endpoints", endpoint)).json()

    def predict(self, endpoint: str, instances: Any) -> Prediction:
        """TF Serving v1 ``:predict``: ``instances`` are rows in input order (lists), or
        dicts by input name / entity key, or a DataFrame (rows by column name)."""
        if is_dataframe(instances):
            instances = [{k: _json_value(v) for k, v in row.items()}
                         for row in instances.to_dict(orient="records")]
        elif hasattr(instances, "tolist"):
            instances = instances.tolist()
        body = {"instances": list(instances)}
        return Prediction(self._t.request(
            "POST", f"/v1/models/{quote(endpoint)}:predict", json_body=body).json())

    def infer(self, endpoint: str, inputs: Any, *, version: Optional[int] = None,
              outputs: Optional[Sequence[str]] = None, request_id: Optional[str] = None,
              datatypes: Optional[Mapping[str, str]] = None,
              binary: Optional[bool] = None) -> InferResult:
        """Open Inference Protocol v2 ``infer``. ``inputs``: a dict of input name ->
        values (one tensor per input, or entity keys such as ``{"customer_id": [...]}``),
        a DataFrame (one tensor per column), or a 2-D array / list of rows (one
        ``[rows, inputs]`` tensor). Numeric numpy arrays (and DataFrame columns) travel
        as raw bytes (Triton's binary tensor extension) and outputs come back as numpy
        arrays, unless ``binary=False``; lists travel as JSON."""
        datatypes = datatypes or {}
        if is_dataframe(inputs):
            pairs = [_tensor(str(c), inputs[c].to_numpy(), datatypes.get(str(c)), binary)
                     for c in inputs.columns]
        elif isinstance(inputs, Mapping):
            pairs = [_tensor(str(k), v, datatypes.get(str(k)), binary) for k, v in inputs.items()]
        else:
            pairs = [_tensor("input", inputs, datatypes.get("input"), binary)]
        raws = [raw for _, raw in pairs if raw is not None]
        body: Dict[str, Any] = {"inputs": [tensor for tensor, _ in pairs]}
        if request_id is not None:
            body["id"] = request_id
        if outputs is not None:
            body["outputs"] = [{"name": n} for n in outputs]
        parts = ["v2", "models", endpoint]
        if version is not None:
            parts += ["versions", version]
        parts.append("infer")
        if not raws:
            return InferResult(self._t.request("POST", path_of(*parts), json_body=body).json())
        # Binary in, binary out: no number goes through text on either side.
        body.setdefault("parameters", {})["binary_data_output"] = True
        header = json.dumps(body, allow_nan=False).encode("utf-8")
        answer = self._t.request(
            "POST", path_of(*parts), body=b"".join([header, *raws]),
            content_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(len(header))})
        return InferResult(_decode_binary(answer.headers, answer.body))

    def feedback(self, labels: Any) -> Dict[str, Any]:
        """Ground truth for logged predictions: a dict ``{prediction_id: label}`` or a list
        of ``(prediction_id, label)`` pairs. Joined to the prediction log; live quality
        (accuracy, AUC...) in monitoring comes from these."""
        pairs = labels.items() if isinstance(labels, Mapping) else labels
        body = {"feedback": [{"prediction_id": str(pid), "label": _json_value(label)}
                             for pid, label in pairs]}
        return self._t.request("POST", "/api/v1/feedback", json_body=body,
                               idempotent=True).json()

    def predictions(self, endpoint: str, *, limit: Optional[int] = None,
                    labeled: bool = False) -> List[Dict[str, Any]]:
        """Logged predictions of an endpoint, newest first."""
        return self._t.request("GET", path_of("api", "v1", "endpoints", endpoint, "predictions"),
                               query={"limit": limit, "labeled": True if labeled else None}
                               ).json()["predictions"]

    def monitoring(self, endpoint: str, distributions: bool = False) -> Dict[str, Any]:
        """Drift per feature and of the prediction, data quality, live quality, latency;
        with distributions=True each column's reference and live distributions too
        (docs/monitoring.md)."""
        return self._t.request("GET", path_of("api", "v1", "deployments", endpoint, "monitoring"),
                               query={"distributions": True if distributions else None}).json()
