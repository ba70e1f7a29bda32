"""The model-serving protocols, without HTTP: TensorFlow Serving's REST API and the Open
Inference Protocol (KServe v2, Triton). Each turns a request document into a batch of model
inputs and the model's probabilities into the protocol's answer.

These protocols carry model inputs (float32 [N, 28, 28, 1] in [0, 1], white digit on black),
not pictures: nothing here preprocesses. What the model takes and gives is read from its
card, so the metadata always describes the model that answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from model_card import Card

MODEL_NAME = "digits"
# Paths whose errors, routing's 404 and 405 included, answer in the protocols' shape {"error": "..."}.
PROTOCOL_PATHS = ("/v1/models/", "/v2/")
SIGNATURE = "serving_default"
FLOAT_TYPES = (float, int)


class ProtocolError(Exception):
    """A request the protocol refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class NotFound(ProtocolError):
    def __init__(self, message: str):
        super().__init__(message, 404)


@dataclass(frozen=True)
class ServedModel:
    """What the protocols say about the model, from its card."""

    card_version: str
    version: str  # a whole number, as both protocols' clients expect: the card's training time
    input_name: str
    output_name: str
    image_shape: tuple[int, ...]  # one input, without the batch dimension: (28, 28, 1)
    classes: tuple[str, ...]
    max_batch: int

    @classmethod
    def from_card(cls, card: Card, max_batch: int) -> ServedModel:
        digits = re.match(r"(\d{8})-(\d{6})", card.version)
        return cls(card_version=card.version,
                   version=digits[1] + digits[2] if digits else "1",
                   input_name=str(card.data.get("input", {}).get("name", "image")),
                   output_name=str(card.data.get("output", {}).get("name", "probabilities")),
                   image_shape=(card.size, card.size, 1),
                   classes=card.classes,
                   max_batch=max_batch)

    @property
    def pixels(self) -> int:
        return math.prod(self.image_shape)

    def check_name(self, name: str, version: str | None = None) -> None:
        if name != MODEL_NAME:
            raise NotFound(f"model {name!r} is not served here; the one model is {MODEL_NAME!r}")
        if version is not None and version != self.version:
            raise NotFound(f"model {MODEL_NAME!r} has no version {version!r}; the served version is {self.version}")


# --- numbers from JSON -----------------------------------------------------------------


def _flatten(value: object, where: str, depth: int = 0) -> Iterator[float]:
    """Every number in a nested list, in row-major order; anything else is refused by name."""
    if isinstance(value, list):
        if depth > 8:
            raise ProtocolError(f"{where} is nested too deeply: at most [batch, 28, 28, 1]")
        for item in value:
            yield from _flatten(item, where, depth + 1)
    elif isinstance(value, bool) or not isinstance(value, FLOAT_TYPES):
        kind = {True: "true", False: "false"}.get(value) if isinstance(value, bool) else \
            "null" if value is None else f"a {type(value).__name__}"
        raise ProtocolError(f"{where} must hold only numbers in [0, 1]; found {kind}")
    else:
        yield value


def _shape_of(value: object) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def to_floats(value: object, where: str) -> np.ndarray:
    """A nested or flat JSON list of numbers in [0, 1] -> a flat float32 array."""
    try:
        flat = np.fromiter(_flatten(value, where), dtype=np.float64)
    except OverflowError:
        raise ProtocolError(f"{where} holds a number too large for float32; expected numbers in [0, 1]") from None
    if flat.size and not (np.isfinite(flat).all() and flat.min() >= 0 and flat.max() <= 1):
        raise ProtocolError(f"{where} holds values outside [0, 1]: pixels are 0 (black) to 1 (white)")
    return flat.astype(np.float32)


def batch_of_images(model: ServedModel, values: list, where: str) -> np.ndarray:
    """A list of images, each 28x28, 28x28x1 or 784 numbers -> float32 [N, 28, 28, 1]."""
    if not isinstance(values, list) or not values:
        raise ProtocolError(f"{where} must be a list of 1 to {model.max_batch} images")
    if len(values) > model.max_batch:
        raise ProtocolError(f"{where} holds {len(values)} images; at most {model.max_batch} per request", 413)
    images = []
    for index, image in enumerate(values):
        flat = to_floats(image, f"{where}[{index}]")
        shape = _shape_of(image)
        if flat.size != model.pixels or shape not in ((28, 28), (28, 28, 1), (model.pixels,)):
            raise ProtocolError(f"{where}[{index}] has shape {list(shape)}; each image must be 28 x 28, "
                                f"28 x 28 x 1 or {model.pixels} numbers")
        images.append(flat)
    return np.stack(images).reshape(-1, *model.image_shape)


# --- TensorFlow Serving REST (https://www.tensorflow.org/tfx/serving/api_rest) ----------


def tf_status(model: ServedModel) -> dict:
    """GetModelStatusResponse for the one version served."""
    return {"model_version_status": [{"version": model.version, "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def _tensor_info(name: str, shape: tuple[int | None, ...]) -> dict:
    return {"dtype": "DT_FLOAT", "name": name, "tensor_shape": {
        "dim": [{"size": str(-1 if size is None else size), "name": ""} for size in shape], "unknown_rank": False}}


def tf_metadata(model: ServedModel) -> dict:
    """GetModelMetadataResponse: the SavedModel's `serving_default` signature."""
    signature = {
        "inputs": {model.input_name: _tensor_info(f"{SIGNATURE}_{model.input_name}:0", (None, *model.image_shape))},
        "outputs": {model.output_name: _tensor_info("StatefulPartitionedCall:0", (None, len(model.classes)))},
        "method_name": "tensorflow/serving/predict",
    }
    return {"model_spec": {"name": MODEL_NAME, "signature_name": "", "version": model.version},
            "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}}}}


def _check_signature(document: dict) -> None:
    name = document.get("signature_name", SIGNATURE)
    if name != SIGNATURE:
        raise ProtocolError(f"signature_name {name!r} is not served; the one signature is {SIGNATURE!r}")


def _named_input(model: ServedModel, value: object, where: str) -> object:
    """`{"image": x}` or bare x: the model has one input, so both forms name it."""
    if isinstance(value, dict):
        unknown = set(value) - {model.input_name}
        if unknown or model.input_name not in value:
            raise ProtocolError(f"{where} must name the one input {model.input_name!r}; got {sorted(value)}")
        return value[model.input_name]
    return value


def tf_predict_inputs(model: ServedModel, document: object) -> tuple[np.ndarray, str]:
    """A predict request -> (the batch, "row" or "columnar"), the format to answer in."""
    if not isinstance(document, dict):
        raise ProtocolError('expected a JSON object: {"instances": [...]} (row format) or {"inputs": ...} (columnar)')
    _check_signature(document)
    if ("instances" in document) == ("inputs" in document):
        raise ProtocolError('send exactly one of "instances" (row format) or "inputs" (columnar format)')
    if "instances" in document:
        instances = document["instances"]
        if isinstance(instances, list):
            instances = [_named_input(model, item, f"instances[{i}]") for i, item in enumerate(instances)]
        return batch_of_images(model, instances, "instances"), "row"
    return batch_of_images(model, _named_input(model, document["inputs"], "inputs"), "inputs"), "columnar"


def tf_predict_answer(probabilities: np.ndarray, form: str) -> dict:
    rows = probabilities.tolist()
    return {"predictions": rows} if form == "row" else {"outputs": rows}


def tf_classify_inputs(model: ServedModel, document: object) -> np.ndarray:
    """A classify request: `{"examples": [{"image": [784 numbers]}, ...]}` (tf.Example features)."""
    if not isinstance(document, dict) or not isinstance(document.get("examples"), list):
        raise ProtocolError(f'expected {{"examples": [{{"{model.input_name}": [{model.pixels} numbers]}}, ...]}}')
    _check_signature(document)
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ProtocolError('"context" must be an object of features')
    examples = [_named_input(model, {**context, **example} if isinstance(example, dict) else example,
                             f"examples[{i}]") for i, example in enumerate(document["examples"])]
    return batch_of_images(model, examples, "examples")


def tf_classify_answer(model: ServedModel, probabilities: np.ndarray) -> dict:
    return {"results": [[[label, float(p)] for label, p in zip(model.classes, row, strict=True)]
                        for row in probabilities]}


# --- Open Inference Protocol (KServe v2) -------------------------------------------------


def v2_model_metadata(model: ServedModel) -> dict:
    return {"name": MODEL_NAME, "versions": [model.version], "platform": "tensorflow_lite",
            "inputs": [{"name": model.input_name, "datatype": "FP32", "shape": [-1, *model.image_shape]}],
            "outputs": [{"name": model.output_name, "datatype": "FP32", "shape": [-1, len(model.classes)]}]}


def _wants_binary(model: ServedModel, document: dict) -> bool:
    """The binary tensor extension for the output: asked for per output or for the whole request."""
    wanted = bool((document.get("parameters") or {}).get("binary_data_output"))
    for output in document.get("outputs") or []:
        if not isinstance(output, dict) or output.get("name") != model.output_name:
            raise ProtocolError(f"the one output is {model.output_name!r}")
        if "binary_data" in (output.get("parameters") or {}):
            wanted = bool(output["parameters"]["binary_data"])
    return wanted


def v2_infer_inputs(model: ServedModel, document: object, binary: bytes = b"") -> np.ndarray:
    """An inference request with one tensor, FP32 [N, 28, 28, 1] in [0, 1]: as JSON `data`, or
    as raw little-endian bytes after the JSON (the binary tensor extension)."""
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise ProtocolError('expected a JSON object {"inputs": [{"name": "image", "datatype": "FP32", '
                            '"shape": [N, 28, 28, 1], "data": [...]}]}')
    _wants_binary(model, document)
    if len(document["inputs"]) != 1:
        raise ProtocolError(f"the model takes one input, {model.input_name!r}; got {len(document['inputs'])}")
    tensor = document["inputs"][0]
    if not isinstance(tensor, dict):
        raise ProtocolError("each input must be an object with name, datatype, shape and data")
    where = f"input {model.input_name!r}"
    if tensor.get("name") != model.input_name:
        raise ProtocolError(f"unknown input {tensor.get('name')!r}; the one input is {model.input_name!r}")
    if tensor.get("datatype") != "FP32":
        raise ProtocolError(f"{where} has datatype {tensor.get('datatype')!r}; expected \"FP32\"")
    shape = tensor.get("shape")
    if not (isinstance(shape, list) and len(shape) == 1 + len(model.image_shape)
            and all(isinstance(size, int) and not isinstance(size, bool) for size in shape)
            and tuple(shape[1:]) == model.image_shape):
        raise ProtocolError(f"{where} has shape {shape}; expected [N, 28, 28, 1]")
    count = shape[0]
    if not 1 <= count <= model.max_batch:
        raise ProtocolError(f"{where} holds {count} images; send 1 to {model.max_batch}",
                            413 if count > model.max_batch else 400)
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if size != len(binary) or size != count * model.pixels * 4:
            raise ProtocolError(f"{where} declares {size} bytes of binary data; {len(binary)} came after the "
                                f"JSON header and shape {shape} needs {count * model.pixels * 4}")
        data = np.frombuffer(binary, dtype="<f4").astype(np.float32)
        if not (np.isfinite(data).all() and data.min() >= 0 and data.max() <= 1):
            raise ProtocolError(f"{where} holds values outside [0, 1]: pixels are 0 (black) to 1 (white)")
    else:
        if binary:
            raise ProtocolError(f"{len(binary)} bytes follow the JSON header, but no input declares binary_data_size")
        data = to_floats(tensor.get("data"), f"{where} data")
    if data.size != count * model.pixels:
        raise ProtocolError(f"{where} has {data.size} numbers; shape {shape} needs {count * model.pixels}")
    return data.reshape(count, *model.image_shape)


def v2_infer_answer(model: ServedModel, document: dict, probabilities: np.ndarray) -> tuple[dict, bytes]:
    """The inference response, and the output's raw bytes when the binary extension was asked for."""
    output = {"name": model.output_name, "datatype": "FP32", "shape": list(probabilities.shape)}
    binary = b""
    if _wants_binary(model, document):
        binary = probabilities.astype("<f4").tobytes()
        output["parameters"] = {"binary_data_size": len(binary)}
    else:
        output["data"] = probabilities.ravel().tolist()
    answer = {"model_name": MODEL_NAME, "model_version": model.version, "outputs": [output]}
    if isinstance(document.get("id"), str):
        answer["id"] = document["id"]
    return answer, binary
