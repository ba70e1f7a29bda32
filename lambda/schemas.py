"""What goes in and out of the API, as pydantic models: /docs and /openapi.json come from here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from classifier import MAX_BATCH

SIZE = 28

Level = Annotated[float, Field(ge=0, le=255)]
Unit = Annotated[float, Field(ge=0, le=1)]
UnitCell = Annotated[list[Unit], Field(min_length=1, max_length=1)]


def _rows(cell: Any) -> Any:
    row = Annotated[list[cell], Field(min_length=SIZE, max_length=SIZE)]
    return Annotated[list[row], Field(min_length=SIZE, max_length=SIZE)]


class ImageRequest(BaseModel):
    """An image file as a data URL (what a canvas's toDataURL() gives) or bare base64."""

    model_config = ConfigDict(strict=True, json_schema_extra={
        "examples": [{"image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA..."}]})

    image: str = Field(description="`data:image/png;base64,...` (PNG, JPEG, WebP, BMP or GIF) or bare base64")


class PixelsRequest(BaseModel):
    """28 rows of 28 grey levels 0-255, white digit on black, as MNIST stores them."""

    model_config = ConfigDict(strict=True)

    pixels: _rows(Level) = Field(description="28 x 28 numbers from 0 (black) to 255 (white)")


class UploadRequest(BaseModel):
    """A multipart form with the image file in the field `file`."""

    file: bytes = Field(json_schema_extra={"format": "binary"}, description="PNG, JPEG, WebP, BMP or GIF")


class Prediction(BaseModel):
    digit: int = Field(ge=0, le=9, description="the most probable digit", examples=[7])
    confidence: float = Field(ge=0, le=1, description="its probability", examples=[0.998])
    probabilities: list[float] = Field(min_length=10, max_length=10,
                                       description="probability of each digit 0-9, summing to 1")
    model_version: str = Field(description="the model card's version", examples=["20261121-095000-1a2b3c4d"])


class ServingRequest(BaseModel):
    """TensorFlow Serving's row format: a batch of model inputs, white digit on black in [0, 1]."""

    model_config = ConfigDict(strict=True)

    signature_name: Literal["serving_default"] = "serving_default"
    instances: Annotated[list[_rows(Unit) | _rows(UnitCell)], Field(min_length=1, max_length=MAX_BATCH)] = Field(
        description=f"1 to {MAX_BATCH} images, each 28 x 28 or 28 x 28 x 1 numbers in [0, 1]")


class ServingResponse(BaseModel):
    predictions: list[Annotated[list[float], Field(min_length=10, max_length=10)]] = Field(
        description="for each instance, the probability of each digit 0-9")


class Health(BaseModel):
    status: Literal["ok"]
    model_version: str


class ModelCard(BaseModel):
    """The model card written by the exporter (architecture, training, test accuracy, ...)."""

    model_config = ConfigDict(extra="allow")

    version: str
    classes: list[str]
    preprocessing: dict[str, Any]


class ErrorMessage(BaseModel):
    detail: str = Field(description="what was wrong with the request, for a person to read",
                        examples=["no digit found: the image is blank or holds only faint marks"])
