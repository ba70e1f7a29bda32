"""The API's routes: read the request, call decoding, preprocessing and the model, answer."""

from __future__ import annotations

import json
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

import classifier
import decoding
import preprocessing
from decoding import IMAGE_TYPES, MAX_BODY_BYTES, InvalidInput, UndecodableInput, UnsupportedFormat
from errors import describe_validation, responses
from schemas import (
    Health,
    ImageRequest,
    ModelCard,
    PixelsRequest,
    Prediction,
    ServingRequest,
    ServingResponse,
    UploadRequest,
)

router = APIRouter()


async def current_classifier() -> classifier.Classifier:
    """The process's model (loaded at import). Async, so FastAPI does not hop to a thread for it."""
    return classifier.load()


Model = Annotated[classifier.Classifier, Depends(current_classifier)]

JSON = "application/json"
MULTIPART = "multipart/form-data"
ACCEPTED = [MULTIPART, *IMAGE_TYPES, JSON]
LIMIT = decoding.megabytes(MAX_BODY_BYTES)


def _inline(model) -> dict:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def _binary() -> dict:
    return {"type": "string", "format": "binary"}


PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "description": f"One picture of a digit, in any of these forms (at most {LIMIT}).",
        "content": {
            MULTIPART: {"schema": _inline(UploadRequest)},
            **{kind: {"schema": _binary()} for kind in IMAGE_TYPES},
            JSON: {"schema": {"oneOf": [_inline(ImageRequest), _inline(PixelsRequest)]}},
        },
    }
}
SERVING_BODY = {"requestBody": {"required": True, "content": {JSON: {"schema": _inline(ServingRequest)}}}}


async def read_body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        decoding.check_body_size(int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        decoding.check_body_size(len(body))
    return bytes(body)


def parse_json(body: bytes) -> object:
    def refuse_constant(name: str):
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        return json.loads(body, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise UndecodableInput(f"the body is not valid JSON: {error}") from None


async def form_file(request: Request, body: bytes) -> bytes:
    async def chunks():
        yield body

    parser = MultiPartParser(request.headers, chunks(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise UndecodableInput(f"the multipart form cannot be read: {error.message}") from None
    upload = form.get("file")
    if not form:
        raise UndecodableInput("the multipart form holds no fields; is the boundary in Content-Type right?")
    if upload is None:
        raise InvalidInput(f"the multipart form has no field `file`; fields sent: {', '.join(form.keys())}"
                           " (curl -F 'file=@digit.png' ...)")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("the form field `file` must be a file upload, not text (curl -F 'file=@digit.png' ...)")
    return await upload.read()


def json_picture(document: object) -> np.ndarray:
    if not isinstance(document, dict) or ("image" in document) == ("pixels" in document):
        raise InvalidInput('expected a JSON object with either "image" (a data URL or base64 image) '
                           'or "pixels" (28 x 28 numbers 0-255), not both')
    if "image" in document:
        request = ImageRequest.model_validate({"image": document["image"]})
        return decoding.decode_image(decoding.decode_base64_image(request.image))
    request = PixelsRequest.model_validate({"pixels": document["pixels"]})
    return decoding.pixels_to_image(request.pixels)


@router.post("/predict", response_model=Prediction, openapi_extra=PREDICT_BODY,
             responses=responses(400, 413, 415, 422), summary="Recognise the digit in one picture")
async def predict(request: Request, model: Model) -> Prediction:
    """Send the picture as a multipart upload (field `file`), as a raw image body
    (`Content-Type: image/png`, `image/jpeg`, `image/webp`, `image/bmp` or `image/gif`, the
    first frame), or as JSON: `{"image": "<data URL or base64>"}` or
    `{"pixels": [[28 numbers 0-255] x 28]}` (white digit on black).

    Any drawing works: dark on light or light on dark, transparent canvas, any size and
    position; it is made MNIST-like (cropped, scaled into 20x20, centred by mass) first.
    """
    kind = decoding.media_type(request.headers.get("content-type"))
    if kind not in ACCEPTED:
        raise UnsupportedFormat(f"Content-Type {kind or '(none)'} is not supported; send one of {', '.join(ACCEPTED)}")
    body = await read_body(request)
    if kind == JSON:
        picture = json_picture(parse_json(body))
    elif kind == MULTIPART:
        picture = decoding.decode_image(await form_file(request, body))
    else:
        picture = decoding.decode_image(body)

    probabilities = model.predict(preprocessing.to_mnist(picture)[np.newaxis])[0]
    digit = int(probabilities.argmax())
    request.state.digit = digit
    request.state.confidence = round(float(probabilities[digit]), 4)
    request.state.model_version = model.version
    return Prediction(digit=digit, confidence=float(probabilities[digit]),
                      probabilities=[float(p) for p in probabilities], model_version=model.version)


@router.post("/v1/models/digits:predict", response_model=ServingResponse, openapi_extra=SERVING_BODY,
             responses=responses(400, 413, 415, 422), summary="TensorFlow Serving's REST predict")
async def serving_predict(request: Request, model: Model) -> ServingResponse:
    """TensorFlow Serving's row format, so its clients work unchanged:
    `{"instances": [...]}` with 1 to 256 model inputs (28x28 or 28x28x1, white digit on
    black, in [0, 1]; no preprocessing), run as one batch."""
    kind = decoding.media_type(request.headers.get("content-type"))
    if kind not in (JSON, ""):
        raise UnsupportedFormat(f"Content-Type {kind} is not supported; send {JSON}")
    document = parse_json(await read_body(request))
    if not isinstance(document, dict):
        raise InvalidInput('expected a JSON object {"instances": [...]}')
    try:
        request_body = ServingRequest.model_validate(document)
    except ValidationError as error:
        problem = decoding.instances_problem(document.get("instances"), classifier.MAX_BATCH)
        raise InvalidInput(problem or describe_validation(error.errors())) from None
    probabilities = model.predict(decoding.instances_to_batch(request_body.instances))
    request.state.instances = len(probabilities)
    request.state.model_version = model.version
    return ServingResponse(predictions=probabilities.tolist())


@router.get("/health", response_model=Health, summary="Is the function up, and with which model")
async def health(model: Model) -> Health:
    return Health(status="ok", model_version=model.version)


@router.get("/model", response_model=ModelCard, summary="The model card")
async def model_card(model: Model) -> ModelCard:
    return ModelCard.model_validate(model.card)

