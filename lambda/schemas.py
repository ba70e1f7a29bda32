"""What goes in and out of the API, as pydantic models: /docs and /openapi.json come from here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import model_card
from input_errors import BlankImageError
from segmentation import MAX_DIGITS

CARD = model_card.current()  # the card, not the model: describing the API needs no LiteRT
SIZE = CARD.size
CLASSES = len(CARD.classes)
DIGITS = f"{CARD.classes[0]}-{CARD.classes[-1]}"
UNCERTAINTY = CARD.uncertainty  # the card's rule, so /docs gives this model's numbers
# A handwritten 3 from the MNIST test set (#18) as a 28x28 PNG: what /docs offers to send.
EXAMPLE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAABJklEQVR42mNgoD9ghFA8spkM8y5gV8LT+Pfv31+LhbBKtv79+/fv379P3bBJpv"
    "79MzEt++3f7w1cmJJb/y5nYGCwff3372JWDMn/f7UZGBgYrA7+/buEBV1y918FBgYGBgbzN3//hiGEmRgYGBgYrjMwMKTsCw9XWM7AoIquM+6v"
    "n8YPiIv/3g/hR5Xki+FR/vAXBr5EYrjZe+FmuPRFbQw3MwsIqKsJCEz8/PfvTgNUKRErGMvq4t+/21HkfO9+94exeW///eCBLBn1/e8fSxjH9P"
    "ff/XB/MjAwLKtlYIRz9BgZLqF6Z8/fu/PUGBgYGPIvf/v7dyJapN799vf3z58/f/79+/fvCWF0v8RvfwLx5+EacaRkAgMSvKkHTG6dffSTYaAA"
    "ANhKhxpX5sW+AAAAAElFTkSuQmCC")

# "42" drawn dark on light, 51x40: what /docs offers to send as a number.
EXAMPLE_NUMBER_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAADMAAAAoCAAAAAB2252uAAAB0klEQVR42uXVP2gUQRTH8c8diSAIYpELpJGICDkO0SYQjYVXiLFQg6gggoVVIAh2glqEaKNCIliIYApTiEHEdHYWxn9XpNGAogYFr7jrBEVQcS3uyO3u7GLS6jS77+1+5817v5k3hciaR9G/xXSl7B+Xvo5vSfnmF74NHC/FHFFyHKGS9LzeBd03Op4U8wwacc+7vvbk1/KYYwGzb2VFz7OZmjRzH05dLeJQNnMiYA7iaBTNwXIWsyjN/OrGyyiKduNW25nQZyqQYukn/YM4gMUMTV/NBkylj/1QRj1D0ymUmslt8mim9xxswPdQ0yUopWvdHvcwGuYzjZ15e+wBNgdx3sKdnDjzcDeo9Ri2RznMDlQDTT/ATA5zBZ4EzDjKUTZTX4+xYI9+0hI6kzmNjc0VsyumzbaP58H1QrUar9nj25joSZ+5eqq0T+NhhjEYs9v61FLMi9j7zQVMCM52Y1OSqXVm/VLCyXjcQruPvnn4u5VLk8v2DnXws9MU3/fL7yFB3Wowmfjnr8wIBqI1MbMwl/ynkLoXeps0Ov0v2rrM4ZGW0TO6qnwuJiY8s6q1lZOLyOgh2EMl1pqHEh+HW490PukeP/k5FubCukzmf7wb/wDQs/LBw8LgjgAAAABJRU5ErkJggg==")

Level = Annotated[float, Field(ge=0, le=255)]


def _rows(cell: Any) -> Any:
    row = Annotated[list[cell], Field(min_length=SIZE, max_length=SIZE)]
    return Annotated[list[row], Field(min_length=SIZE, max_length=SIZE)]


class ImageRequest(BaseModel):
    """An image file as a data URL (what a canvas's toDataURL() gives) or bare base64."""

    model_config = ConfigDict(strict=True, json_schema_extra={
        "examples": [{"image": f"data:image/png;base64,{EXAMPLE_NUMBER_PNG_BASE64}"},
                     {"image": f"data:image/png;base64,{EXAMPLE_PNG_BASE64}"}]})

    image: str = Field(description="`data:image/png;base64,...` (PNG, JPEG, WebP, BMP or GIF) or bare base64")


class PixelsRequest(BaseModel):
    """Rows of grey levels 0-255 (28 x 28, the model's input size), white digit on black, as MNIST stores them."""

    model_config = ConfigDict(strict=True)

    pixels: _rows(Level) = Field(
        description=f"{SIZE} x {SIZE} numbers from 0 (black) to 255 (white)")


class UploadRequest(BaseModel):
    """A multipart form with the image file in the field `file`."""

    file: bytes = Field(json_schema_extra={"format": "binary"}, description="PNG, JPEG, WebP, BMP or GIF")


class Alternative(BaseModel):
    digit: int = Field(ge=0, le=CLASSES - 1, description="a digit the picture may show", examples=[4])
    probability: float = Field(ge=0, le=1, description="its probability", examples=[0.55])


_UNCERTAIN = (f"true when the model is not sure: `confidence` is below the model card's threshold "
              f"(`uncertainty.threshold`, {UNCERTAINTY.threshold:g} for this model)")
_ALTERNATIVES = (f"only when `uncertain`: the digits it may be, likeliest first (the first is `digit`): those "
                 f"with a probability of at least {UNCERTAINTY.alternatives_min_probability:g}, at most "
                 f"{UNCERTAINTY.max_alternatives} (the card's `uncertainty.alternatives_min_probability` and "
                 "`max_alternatives`), and always at least the likeliest one")
_NOT_A_DIGIT = ("only when true: `confidence` is below even the card's `uncertainty.not_a_digit_below` "
                f"({UNCERTAINTY.not_a_digit_below:g} for this model): the ink does not look like a digit at all, "
                "so `alternatives` are no more than guesses")
_CONFIDENCE = "its probability (calibrated on the validation digits, so that it means what it says)"


class DigitRead(BaseModel):
    """One digit of the number, as the model read it, and where it is in the picture."""

    digit: int = Field(ge=0, le=CLASSES - 1, description="the most probable digit", examples=[2])
    confidence: float = Field(ge=0, le=1, description=_CONFIDENCE, examples=[0.999])
    probabilities: list[float] = Field(min_length=CLASSES, max_length=CLASSES,
                                       description=f"probability of each digit {DIGITS}, summing to 1")
    uncertain: bool = Field(description=_UNCERTAIN, examples=[False])
    alternatives: list[Alternative] | None = Field(default=None, min_length=1, max_length=CLASSES,
                                                   description=_ALTERNATIVES)
    not_a_digit: Literal[True] | None = Field(default=None, description=_NOT_A_DIGIT)
    box: list[int] = Field(min_length=4, max_length=4, examples=[[12, 30, 96, 140]],
                           description="where the digit's ink is: [x, y, width, height] in pixels of the picture "
                                       "as sent (upright, after its EXIF orientation), x and y from the top left")


_EXAMPLE_DIGITS = [
    {"digit": digit, "confidence": 0.999, "uncertain": False, "box": box,
     "probabilities": [0.999 if index == digit else 0.000111 for index in range(10)]}
    for digit, box in ((2, [12, 30, 96, 140]), (0, [120, 26, 90, 150]), (2, [226, 40, 84, 128]),
                       (4, [330, 28, 92, 146]))]


class Prediction(BaseModel):
    """The picture read as a number (`number`, `digits`); the one-digit fields answer "which digit
    is this?", as they always have."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "digit": 2, "confidence": 0.999, "probabilities": _EXAMPLE_DIGITS[0]["probabilities"], "uncertain": True,
        "alternatives": [{"digit": 2, "probability": 0.999}], "number": "2024", "digits": _EXAMPLE_DIGITS,
        "model_version": "20261121-095000-1a2b3c4d"}]})

    digit: int = Field(ge=0, le=CLASSES - 1, examples=[7], description=(
        "the most probable digit. With several digits there is no one digit: this, `confidence`, "
        "`probabilities` and `alternatives` are the least sure digit's, and `uncertain` is true, so a client "
        "that reads only these says \"not sure\" rather than a wrong digit; read `number` and `digits`"))
    confidence: float = Field(ge=0, le=1, description=_CONFIDENCE, examples=[0.998])
    probabilities: list[float] = Field(min_length=CLASSES, max_length=CLASSES,
                                       description=f"probability of each digit {DIGITS}, summing to 1")
    uncertain: bool = Field(examples=[False], description=(
        f"{_UNCERTAIN}; true also when the picture holds several digits (see `digit`). Whether the number "
        "is sure: every entry of `digits` is not `uncertain`"))
    alternatives: list[Alternative] | None = Field(
        default=None, min_length=1, max_length=CLASSES, description=_ALTERNATIVES,
        examples=[[{"digit": 4, "probability": 0.55}, {"digit": 9, "probability": 0.4}]])
    not_a_digit: Literal[True] | None = Field(default=None, description=_NOT_A_DIGIT)
    number: str = Field(pattern=rf"^[0-9]{{1,{MAX_DIGITS}}}$", examples=["2024"],
                        description="the digits read, left to right (one digit: that digit)")
    digits: list[DigitRead] = Field(min_length=1, max_length=MAX_DIGITS,
                                    description="each digit read, left to right, with its box in the picture")
    model_version: str = Field(description="the model card's version", examples=["20261121-095000-1a2b3c4d"])


class Health(BaseModel):
    status: Literal["ok"]
    model_version: str


class UncertaintyRule(BaseModel):
    """When an answer is not sure, and how often that happened on the exporter's checks."""

    model_config = ConfigDict(extra="allow")

    rule: str = Field(description="how an answer is judged", examples=["top probability below threshold"])
    threshold: float = Field(gt=0, le=1, description="an answer whose top probability is below this is uncertain")
    alternatives_min_probability: float = Field(ge=0, le=1, description="an alternative has at least this probability")
    max_alternatives: int = Field(ge=1, description="at most this many alternatives are named")
    not_a_digit_below: float | None = Field(default=None, ge=0, le=1, description=(
        "an answer whose top probability is below this does not look like a digit at all (cards written "
        "before it existed state none)"))


class ModelCard(BaseModel):
    """The model card written by the exporter (architecture, training, test accuracy, ...)."""

    model_config = ConfigDict(extra="allow")

    version: str
    classes: list[str]
    preprocessing: dict[str, Any]
    calibration: dict[str, Any] | None = Field(
        default=None, description="how the probabilities were calibrated (temperature, fitted on the validation "
                                  "digits, expected calibration error)")
    uncertainty: UncertaintyRule


class ErrorMessage(BaseModel):
    detail: str = Field(description="what was wrong with the request, for a person to read",
                        examples=[str(BlankImageError())])
