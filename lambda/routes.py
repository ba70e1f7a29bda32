"""The API's routes: each parses what its request carries, hands it to the pipeline
(pipeline.py: read, decode, preprocess, predict, judge) and shapes the answer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

import body_limits
import reading
import segmentation
from decoding import IMAGE_TYPES, UNREADABLE
from errors import responses
from input_errors import BlankImageError, UndecodableInput, megabytes
from pipeline import JSON, MULTIPART, Model, recognise, unsupported
from schemas import (
    Alternative,
    DigitRead,
    Health,
    ImageRequest,
    ModelCard,
    PixelsRequest,
    Prediction,
    UploadRequest,
)
from settings import settings

READING = "Read a picture"
SERVICE = "The service"
TAGS = [  # in the order /docs shows them: the protocols' routers come after
    {"name": READING, "description": "A picture of a number or a digit in, the digits read out."},
    {"name": SERVICE, "description": "Whether the function is up, and the card of the model it runs."},
]
router = APIRouter()
ReadAs = Literal["number", "digit"]  # ?read=
LIMIT = megabytes(settings.max_body_bytes)
# One true refusal of each status, made by the code that refuses (a body 5 MiB long, say).
PREDICT_REFUSALS = {
    400: UndecodableInput(UNREADABLE),
    408: body_limits.stalled(65_536, 1_048_576, False, settings.body_timeout_seconds,
                             settings.body_deadline_seconds),
    413: reading.too_large(5 * 1024 * 1024),
    415: unsupported("text/plain"),
    422: BlankImageError(),
    503: body_limits.busy(settings.max_bodies_bytes),
}


def _inline(model) -> dict:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def _binary() -> dict:
    return {"type": "string", "format": "binary"}


PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "description": f"One picture of a number or a digit, in any of these forms (at most {LIMIT}).",
        "content": {
            MULTIPART: {"schema": _inline(UploadRequest)},
            **{kind: {"schema": _binary()} for kind in IMAGE_TYPES},
            JSON: {"schema": {"oneOf": [_inline(ImageRequest), _inline(PixelsRequest)]}},
        },
    }
}


@router.post("/predict", response_model=Prediction, response_model_exclude_none=True, openapi_extra=PREDICT_BODY,
             responses=responses(400, 408, 413, 415, 422, 503, examples=PREDICT_REFUSALS), tags=[READING],
             summary="Read the number (or the digit) in one picture")
async def predict(request: Request, model: Model, read: Annotated[ReadAs, Query(
        description="`number` (the default): the digits of a number, left to right, up to "
                    f"{segmentation.MAX_DIGITS}; `digit`: all the ink as one digit")] = "number") -> Prediction:
    """Send the picture as a multipart upload (field `file`), as a raw image body
    (`Content-Type: image/png`, `image/jpeg`, `image/webp`, `image/bmp` or `image/gif`, the
    first frame), or as JSON: `{"image": "<data URL or base64>"}` or
    `{"pixels": [[28 numbers 0-255] x 28]}` (white digit on black: always one digit).

    Any drawing works: dark on light or light on dark, transparent canvas, any size and
    position. The ink is split into digits, read left to right (`number`, and `digits` with
    each one's box); each digit is made MNIST-like (cropped, scaled into 20x20, centred by
    mass) and all go through the model in one batch (a second one for a narrow part the
    model is not sure of, cut on a second look). More than 12 digits is refused (422).

    Every answer says whether the model is sure (`uncertain`), by the rule in its card; when
    it is not, `alternatives` lists the digits it may be.
    """
    reading = await recognise(request, model, one_digit=read == "digit")
    digits = [DigitRead(digit=answer.digit, confidence=answer.confidence, probabilities=answer.probabilities,
                        uncertain=answer.judgement.uncertain, alternatives=_alternatives(answer.judgement),
                        not_a_digit=answer.judgement.not_a_digit or None, box=answer.box)
              for answer in reading.digits]
    shown = reading.least_sure
    several = len(digits) > 1
    uncertain = shown.judgement.uncertain or several
    if not several:
        request.state.digit = shown.digit
    request.state.number = reading.number
    request.state.confidence = round(shown.confidence, 4)
    # Logs and the Uncertain metric count what the model doubted, not the one-digit flag above.
    request.state.uncertain = any(answer.judgement.uncertain for answer in reading.digits)
    request.state.model_version = model.version
    # Several digits make the one-digit answer unsure: it names the least sure digit and its alternatives.
    alternatives = _alternatives(shown.judgement) or ([Alternative(digit=shown.digit, probability=shown.confidence)]
                                                      if several else None)
    return Prediction(digit=shown.digit, confidence=shown.confidence, probabilities=shown.probabilities,
                      uncertain=uncertain, alternatives=alternatives, not_a_digit=shown.judgement.not_a_digit or None,
                      number=reading.number, digits=digits,
                      model_version=model.version)


def _alternatives(judgement) -> list[Alternative] | None:
    """Only an uncertain judgement names alternatives; a sure one leaves the field out."""
    return [Alternative(digit=index, probability=probability)
            for index, probability in judgement.alternatives] or None


@router.get("/health", response_model=Health, tags=[SERVICE], summary="Is the function up, and with which model")
async def health(model: Model) -> Health:
    return Health(status="ok", model_version=model.version)


@router.get("/model", response_model=ModelCard, tags=[SERVICE], summary="The model card")
async def model_card(model: Model) -> ModelCard:
    return ModelCard.model_validate(model.card.data)
