"""The API's routes: each parses what its request carries, hands it to the pipeline
(pipeline.py: read, decode, preprocess, predict, judge) and shapes the answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from decoding import IMAGE_TYPES
from errors import responses
from input_errors import megabytes
from pipeline import JSON, MULTIPART, Model, recognise
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

router = APIRouter()
LIMIT = megabytes(settings.max_body_bytes)


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


@router.post("/predict", response_model=Prediction, response_model_exclude_none=True, openapi_extra=PREDICT_BODY,
             responses=responses(400, 408, 413, 415, 422, 503), summary="Recognise the digit in one picture")
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
    answer = await recognise(request, model)
    judgement = answer.judgement
    request.state.digit = answer.digit
    request.state.confidence = round(answer.confidence, 4)
    request.state.uncertain = judgement.uncertain
    request.state.model_version = model.version
    # Only an uncertain judgement names alternatives; a sure one leaves the field out.
    alternatives = [Alternative(digit=index, probability=probability)
                    for index, probability in judgement.alternatives] or None
    return Prediction(digit=answer.digit, confidence=answer.confidence, probabilities=answer.probabilities,
                      uncertain=judgement.uncertain, alternatives=alternatives, model_version=model.version)


@router.get("/health", response_model=Health, summary="Is the function up, and with which model")
async def health(model: Model) -> Health:
    return Health(status="ok", model_version=model.version)


@router.get("/model", response_model=ModelCard, summary="The model card")
async def model_card(model: Model) -> ModelCard:
    return ModelCard.model_validate(model.card.data)
