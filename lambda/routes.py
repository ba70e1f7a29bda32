"""The API's routes: read the request, then decode, preprocess and predict off the event
loop, and answer. The body is read here (async: waiting costs nothing); everything that
costs CPU runs in a worker thread, at most settings.cpu_workers at a time, so /health and
other requests are answered while a large picture is being decoded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Depends, Request

import classifier
import decoding
import preprocessing
import reading
import uncertainty
from decoding import IMAGE_TYPES, InvalidInput, UnsupportedFormat
from errors import responses
from reading import parse_json, read_body
from schemas import (
    Alternative,
    Health,
    ImageRequest,
    ModelCard,
    PixelsRequest,
    Prediction,
    UploadRequest,
)
from settings import settings

# read_body and parse_json are shared with the model-serving protocols (serving_routes.py).
__all__ = ["parse_json", "read_body", "router"]

router = APIRouter()
Result = TypeVar("Result")


async def current_classifier() -> classifier.Classifier:
    """The process's model (loaded at import). Async, so FastAPI does not hop to a thread for it."""
    return classifier.load()


Model = Annotated[classifier.Classifier, Depends(current_classifier)]


@functools.cache
def _cpu_slots() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(settings.cpu_workers)


async def off_the_loop(request: Request, work: Callable[..., Result], *args: object) -> Result:
    """Run CPU-bound work in a worker thread, so the event loop stays free for other requests
    (under uvicorn); requests beyond cpu_workers wait their turn.

    On Lambda (Mangum puts the event in the scope) a container serves one request at a time,
    so there is nothing for the loop to serve meanwhile: the work runs in place. A thread would
    only add its start, since anyio stops its workers when each invocation's task ends."""
    if "aws.event" in request.scope:
        return work(*args)
    return await anyio.to_thread.run_sync(work, *args, limiter=_cpu_slots())


JSON = "application/json"
MULTIPART = "multipart/form-data"
ACCEPTED = [MULTIPART, *IMAGE_TYPES, JSON]
LIMIT = decoding.megabytes(settings.max_body_bytes)


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


def json_picture(body: bytes, size: int) -> np.ndarray:
    """`{"image": "<data URL or base64>"}` or `{"pixels": [[...]]}` -> the picture's pixels."""
    document = parse_json(body)
    if not isinstance(document, dict) or ("image" in document) == ("pixels" in document):
        raise InvalidInput('expected a JSON object with either "image" (a data URL or base64 image) '
                           f'or "pixels" ({size} x {size} numbers 0-255), not both')
    if "pixels" in document:
        return reading.pixels(document["pixels"], size)
    image = document["image"]
    if not isinstance(image, str):
        raise InvalidInput(f'"image" must be a string: a data URL or base64; got {reading.describe(image)}')
    return decoding.decode_image(decoding.decode_base64_image(image))


def recognise(model: classifier.Classifier, kind: str, body: bytes) -> np.ndarray:
    """Worker thread: body -> picture -> MNIST-style digit -> probabilities."""
    picture = json_picture(body, model.size) if kind == JSON else decoding.decode_image(body)
    return model.predict(preprocessing.to_mnist(picture)[np.newaxis])[0]


@router.post("/predict", response_model=Prediction, response_model_exclude_none=True, openapi_extra=PREDICT_BODY,
             responses=responses(400, 413, 415, 422), summary="Recognise the digit in one picture")
async def predict(request: Request, model: Model) -> Prediction:
    """Send the picture as a multipart upload (field `file`), as a raw image body
    (`Content-Type: image/png`, `image/jpeg`, `image/webp`, `image/bmp` or `image/gif`, the
    first frame), or as JSON: `{"image": "<data URL or base64>"}` or
    `{"pixels": [[28 numbers 0-255] x 28]}` (white digit on black).

    Any drawing works: dark on light or light on dark, transparent canvas, any size and
    position; it is made MNIST-like (cropped, scaled into 20x20, centred by mass) first.

    Every answer says whether the model is sure (`uncertain`), by the rule in its card; when
    it is not, `alternatives` lists the digits it may be.
    """
    kind = decoding.media_type(request.headers.get("content-type"))
    if kind not in ACCEPTED:
        raise UnsupportedFormat(f"Content-Type {kind or '(none)'} is not supported; send one of {', '.join(ACCEPTED)}")
    body = await read_body(request)
    if kind == MULTIPART:
        body = await reading.form_file(request.headers, body)
    probabilities = await off_the_loop(request, recognise, model, kind, body)

    listed = probabilities.tolist()
    judgement = uncertainty.judge(listed, model.uncertainty)
    digit = int(probabilities.argmax())
    request.state.digit = digit
    request.state.confidence = round(listed[digit], 4)
    request.state.uncertain = judgement.uncertain
    request.state.model_version = model.version
    # Only an uncertain judgement names alternatives; a sure one leaves the field out.
    alternatives = [Alternative(digit=index, probability=probability)
                    for index, probability in judgement.alternatives] or None
    return Prediction(digit=digit, confidence=listed[digit], probabilities=listed, uncertain=judgement.uncertain,
                      alternatives=alternatives, model_version=model.version)


@router.get("/health", response_model=Health, summary="Is the function up, and with which model")
async def health(model: Model) -> Health:
    return Health(status="ok", model_version=model.version)


@router.get("/model", response_model=ModelCard, summary="The model card")
async def model_card(model: Model) -> ModelCard:
    return ModelCard.model_validate(model.card)
