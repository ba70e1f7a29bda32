"""Routes for the model-serving protocols: TensorFlow Serving's REST API (/v1) and the Open
Inference Protocol (/v2). The protocols themselves live in serving.py; here a request goes
through the pipeline (read, decode with the protocol's reader, predict) and is answered in
the protocol's own shapes; errors.py answers its refusals in the protocol's `{"error": ...}`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

import classifier
import pipeline
import serving
from input_errors import ProtocolError
from pipeline import Model
from reading import parse_json, whole_number
from serving import MODEL_NAME, ServedModel


class _Segment(Convertor):
    """A model name or version: one path segment without ':', which starts a verb (`digits:predict`)."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("segment", _Segment())

TF_SERVING = "TensorFlow Serving REST API"
OPEN_INFERENCE = "Open Inference Protocol (KServe v2)"
PROTOCOL_TAGS = [
    {"name": TF_SERVING, "description": "Model inputs (28x28 grey levels) in, probabilities out, as TensorFlow "
                                        "Serving answers: for clients written for it."},
    {"name": OPEN_INFERENCE, "description": "The same, as KServe v2 and NVIDIA Triton speak it (tritonclient)."},
]
tf_serving = APIRouter(prefix="/v1/models", tags=[TF_SERVING])
open_inference = APIRouter(prefix="/v2", tags=[OPEN_INFERENCE])

JSON_BODY = {"application/json": {"schema": {"type": "object"}}}


# --- what the routes answer, for /docs and /openapi.json --------------------------------------


class ProtocolErrorBody(BaseModel):
    error: str = Field(description="what was wrong, for a person to read",
                       examples=["input 'image' has datatype 'INT8'; expected \"FP32\""])


class TfStatus(BaseModel):
    model_version_status: list[dict[str, Any]]


class TfMetadata(BaseModel):
    model_spec: dict[str, Any]
    metadata: dict[str, Any]


class TfPredictAnswer(BaseModel):
    predictions: list[list[float]] | None = Field(None, description="row format: ten probabilities per instance")
    outputs: list[list[float]] | None = Field(None, description="columnar format: ten probabilities per input")


class TfClassifyAnswer(BaseModel):
    results: list[list[tuple[str, float]]] = Field(description="for each example, (class, probability) x 10")


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class V2ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class V2ModelReady(BaseModel):
    name: str
    ready: bool


class V2InferAnswer(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[dict[str, Any]] = Field(description="`probabilities`: FP32 [N, 10], as JSON `data` or binary")


def _documented(answer: type[BaseModel], *statuses: int) -> dict:
    """The answer and the error statuses in the protocols' shape; 422 too, which FastAPI would
    otherwise document in its own shape for any route with parameters."""
    return {200: {"model": answer}, **{status: {"model": ProtocolErrorBody} for status in (*statuses, 422)}}


@functools.lru_cache(maxsize=1)
def served(model: classifier.Classifier) -> ServedModel:
    """What the protocols say about the process's model, worked out once per model."""
    return ServedModel.from_card(model.card, classifier.MAX_BATCH)


HEADER_LENGTH = "inference-header-content-length"
HEADER_LENGTH_DIGITS = 10  # more bytes than any body the function reads


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary tensors after it (the Open Inference Protocol's binary extension)."""
    if header_length is None:
        return body, b""
    length = whole_number(header_length)  # ASCII digits only: int() refuses "²", which str.isdigit takes
    if length is None or length > len(body):
        raise ProtocolError(f"Inference-Header-Content-Length must be the JSON header's length in bytes: 1 to "
                            f"{HEADER_LENGTH_DIGITS} ASCII digits (0-9), at most the body's {len(body):,}; got "
                            f"{serving.quoted(header_length)}")
    return body[:length], body[length:]


@dataclass(frozen=True)
class TfRequest:
    """A TensorFlow Serving request's model inputs, and the format to answer in."""

    batch: np.ndarray
    form: str = "row"


Reader = Callable[[ServedModel, object, bytes], Any]  # (model, JSON document, binary tensors) -> inputs
Shaper = Callable[[ServedModel, Any, np.ndarray], tuple[dict, bytes]]  # -> (answer, binary tensors)


def _no_binary(binary: bytes) -> None:
    if binary:
        raise ProtocolError("binary tensors are part of the Open Inference Protocol (/v2), not TensorFlow Serving's")


def _tf_predict(model: ServedModel, document: object, binary: bytes) -> TfRequest:
    _no_binary(binary)
    return TfRequest(*serving.tf_predict_inputs(model, document))


def _tf_classify(model: ServedModel, document: object, binary: bytes) -> TfRequest:
    _no_binary(binary)
    return TfRequest(serving.tf_classify_inputs(model, document))


async def _run(request: Request, model: classifier.Classifier, name: str, version: str | None, reader: Reader,
               shape: Shaper) -> Response:
    """Check the name, then the pipeline (read, decode with the protocol's reader, predict), then
    the protocol's answer. Every refusal is an InputError, answered by errors.py in the
    protocol's `{"error": ...}` shape."""
    protocol = served(model)
    protocol.check_name(name, version)
    header_length = request.headers.get(HEADER_LENGTH)

    def read_document(body: bytes):
        document, binary = _split(body, header_length)
        return reader(protocol, parse_json(document), binary)

    inputs, probabilities = await pipeline.infer(request, model, read_document)
    request.state.instances = len(inputs.batch)
    request.state.model_version = protocol.card_version
    answer, tensors = shape(protocol, inputs, probabilities)
    if not tensors:
        return JSONResponse(answer)
    header = json.dumps(answer, separators=(",", ":")).encode()
    return Response(header + tensors, media_type="application/octet-stream",
                    headers={"Inference-Header-Content-Length": str(len(header))})


def _lookup(model: classifier.Classifier, name: str, version: str | None,
            answer: Callable[[ServedModel], dict]) -> JSONResponse:
    protocol = served(model)
    protocol.check_name(name, version)
    return JSONResponse(answer(protocol))


# --- TensorFlow Serving ------------------------------------------------------------------

TF_PREDICT = {"requestBody": {"required": True, "content": JSON_BODY, "description": (
    'Row format `{"instances": [image, ...]}` or columnar `{"inputs": [image, ...]}`; an image is 28 x 28, '
    '28 x 28 x 1 or 784 numbers in [0, 1] (white digit on black), or `{"image": ...}` naming the input. '
    f"1 to {classifier.MAX_BATCH} images, run as one batch. Answers `predictions` (row) or `outputs` (columnar).")}}
TF_CLASSIFY = {"requestBody": {"required": True, "content": JSON_BODY, "description": (
    '`{"examples": [{"image": [784 numbers in [0, 1]]}, ...]}`; answers, for each example, '
    "`[[class, probability], ...]` for the ten digits.")}}


@tf_serving.get("/{name:segment}", summary="Model status", responses=_documented(TfStatus, 404))
@tf_serving.get("/{name:segment}/versions/{version:segment}", summary="Model status of one version",
                responses=_documented(TfStatus, 404))
async def tf_status(model: Model, name: str, version: str | None = None) -> JSONResponse:
    """GetModelStatusResponse: the served version is AVAILABLE. The version is the card's
    training time as a number (`20261121102151` for card version `20261121-102151-...`)."""
    return _lookup(model, name, version, serving.tf_status)


@tf_serving.get("/{name:segment}/metadata", summary="Model metadata: the serving_default signature",
                responses=_documented(TfMetadata, 404))
@tf_serving.get("/{name:segment}/versions/{version:segment}/metadata", summary="Model metadata of one version",
                responses=_documented(TfMetadata, 404))
async def tf_metadata(model: Model, name: str, version: str | None = None) -> JSONResponse:
    return _lookup(model, name, version, serving.tf_metadata)


@tf_serving.post("/{name:segment}:predict", summary="Predict (row or columnar format)", openapi_extra=TF_PREDICT,
                 responses=_documented(TfPredictAnswer, 400, 404, 408, 413, 503))
@tf_serving.post("/{name:segment}/versions/{version:segment}:predict", summary="Predict with one version",
                 openapi_extra=TF_PREDICT, responses=_documented(TfPredictAnswer, 400, 404, 408, 413, 503))
async def tf_predict(request: Request, model: Model, name: str, version: str | None = None) -> Response:
    return await _run(request, model, name, version, _tf_predict,
                      lambda _, inputs, probabilities: (serving.tf_predict_answer(probabilities, inputs.form), b""))


@tf_serving.post("/{name:segment}:classify", summary="Classify: each digit class with its probability",
                 openapi_extra=TF_CLASSIFY, responses=_documented(TfClassifyAnswer, 400, 404, 408, 413, 503))
@tf_serving.post("/{name:segment}/versions/{version:segment}:classify", summary="Classify with one version",
                 openapi_extra=TF_CLASSIFY, responses=_documented(TfClassifyAnswer, 400, 404, 408, 413, 503))
async def tf_classify(request: Request, model: Model, name: str, version: str | None = None) -> Response:
    return await _run(request, model, name, version, _tf_classify,
                      lambda protocol, _, probabilities: (serving.tf_classify_answer(protocol, probabilities), b""))


@tf_serving.post("/{name:segment}:regress", summary="Regress: not served (a classifier)",
                 responses={status: {"model": ProtocolErrorBody} for status in (400, 422)})
async def tf_regress(name: str) -> JSONResponse:
    raise ProtocolError(f"model {serving.quoted(name)} is a classifier and has no regression signature; "
                        "use :predict or :classify")


# --- Open Inference Protocol ---------------------------------------------------------------

V2_INFER = {"requestBody": {"required": True, "content": JSON_BODY, "description": (
    'One JSON tensor: `{"inputs": [{"name": "image", "datatype": "FP32", "shape": [N, 28, 28, 1], '
    f'"data": [N x 784 numbers in [0, 1], flat or nested]}}]}}` with N from 1 to {classifier.MAX_BATCH}. '
    "The binary tensor extension works too: the JSON header, then the tensor's little-endian bytes, its length "
    "in `Inference-Header-Content-Length` and `binary_data_size` in the input's parameters; ask for a binary "
    'output with `"parameters": {"binary_data": true}` on the output.')}}


@open_inference.get("/health/live", summary="Server live")
async def v2_live() -> dict:
    return {"live": True}


@open_inference.get("/health/ready", summary="Server ready (the model is loaded)")
async def v2_ready(model: Model) -> dict:
    served(model)
    return {"ready": True}


@open_inference.get("", summary="Server metadata")
async def v2_server_metadata(request: Request) -> dict:
    return {"name": request.app.title, "version": request.app.version, "extensions": []}


@open_inference.get("/models/{name:segment}", summary="Model metadata", responses=_documented(V2ModelMetadata, 404))
@open_inference.get("/models/{name:segment}/versions/{version:segment}", summary="Model metadata of one version",
                    responses=_documented(V2ModelMetadata, 404))
async def v2_model_metadata(model: Model, name: str, version: str | None = None) -> JSONResponse:
    return _lookup(model, name, version, serving.v2_model_metadata)


@open_inference.get("/models/{name:segment}/ready", summary="Model ready", responses=_documented(V2ModelReady, 404))
@open_inference.get("/models/{name:segment}/versions/{version:segment}/ready", summary="Model ready, one version",
                    responses=_documented(V2ModelReady, 404))
async def v2_model_ready(model: Model, name: str, version: str | None = None) -> JSONResponse:
    return _lookup(model, name, version, lambda _protocol: {"name": MODEL_NAME, "ready": True})


@open_inference.post("/models/{name:segment}/infer", summary="Inference", openapi_extra=V2_INFER,
                     responses=_documented(V2InferAnswer, 400, 404, 408, 413, 503))
@open_inference.post("/models/{name:segment}/versions/{version:segment}/infer", summary="Inference with one version",
                     openapi_extra=V2_INFER, responses=_documented(V2InferAnswer, 400, 404, 408, 413, 503))
async def v2_infer(request: Request, model: Model, name: str, version: str | None = None) -> Response:
    return await _run(request, model, name, version, serving.v2_infer_request, serving.v2_infer_answer)

