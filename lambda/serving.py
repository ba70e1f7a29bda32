"""The model-serving protocols, without HTTP: TensorFlow Serving's REST API and the Open
Inference Protocol (KServe v2, Triton). Each turns a request document into a batch of model
inputs and the model's probabilities into the protocol's answer.

These protocols carry model inputs (float32 [N, 28, 28, 1] in [0, 1], white digit on black),
not pictures: nothing here preprocesses. What the model takes and gives is read from its
card, so the metadata always describes the model that answers.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from input_errors import ProtocolError, TooLarge, UnknownModel
from model_card import Card
from settings import settings

MODEL_NAME = "digits"
# Paths whose errors, routing's 404 and 405 included, answer in the protocols' shape {"error": "..."}.
PROTOCOL_PATHS = ("/v1/models/", "/v2/")
SIGNATURE = "serving_default"
FLOAT_TYPES = (float, int)


# --- what a request sent, as an error message shows it ------------------------------------

SHOWN_CHARS = 40  # a string from the request is quoted this far, so a 4 MB name does not come back
SHOWN_ITEMS = 8  # a list of numbers this short is shown whole (a shape); a longer one is counted
LARGEST_SHOWN = 10**40  # str() of an int of over 4,300 digits raises; no field needs numbers this large


def quoted(text: str) -> str:
    """A string from the request as an error quotes it: shortened, and in repr, which escapes
    what the answer's JSON could not carry (a lone surrogate) and what a reader could not see."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f"{text[:SHOWN_CHARS]!r}... ({len(text):,} characters)"


def _is_number(value: object) -> bool:
    return isinstance(value, FLOAT_TYPES) and not isinstance(value, bool)  # JSON keeps true apart from 1


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def described(value: object) -> str:
    """Any JSON value in a few words, whatever its size: 'x', 5, true, null, [2, 784], a list of 3, an object."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return quoted(value)
    if _is_whole(value):
        if abs(value) >= LARGEST_SHOWN:
            return "more than 10**40" if value > 0 else "less than -10**40"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        if len(value) <= SHOWN_ITEMS and all(_is_number(item) for item in value):
            return f"[{', '.join(described(item) for item in value)}]"
        return f"a list of {len(value):,}"
    return "an object" if isinstance(value, dict) else f"a {type(value).__name__}"


def _parameters(holder: dict, where: str, example: str) -> dict:
    """The protocol's optional `parameters`: an object of names and values (absent or null: none)."""
    value = holder.get("parameters")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"{where} must be an object of names and values, such as {example}; "
                            f"got {described(value)}")
    return value


def _boolean(parameters: dict, key: str, where: str) -> bool | None:
    """A yes-or-no parameter; None when not given. "false" or 0 would read as yes, so only JSON's own."""
    value = parameters.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ProtocolError(f"{where}.{key} must be true or false; got {described(value)}")


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
            raise UnknownModel(f"model {quoted(name)} is not served here; the one model is {MODEL_NAME!r}")
        if version is not None and version != self.version:
            raise UnknownModel(f"model {MODEL_NAME!r} has no version {quoted(version)}; "
                           f"the served version is {self.version}")


# --- numbers from JSON -----------------------------------------------------------------


def _flatten(value: object, where: str, depth: int = 0) -> Iterator[float]:
    """Every number in a nested list, in row-major order; anything else is refused by name."""
    if isinstance(value, list):
        if depth > settings.max_json_depth:
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


def to_floats(value: object, where: str, expected: int) -> np.ndarray:
    """A nested or flat JSON list of `expected` numbers in [0, 1] -> a flat float32 array.

    Reads at most one number more than expected, so a list of millions is refused in the time
    of one image."""
    try:
        flat = np.fromiter(itertools.islice(_flatten(value, where), expected + 1), dtype=np.float64)
    except OverflowError:
        raise ProtocolError(f"{where} holds a number too large for float32; expected numbers in [0, 1]") from None
    if flat.size != expected:
        count = f"more than {expected:,}" if flat.size > expected else f"{flat.size:,}"
        raise ProtocolError(f"{where} holds {count} numbers; expected {expected:,}")
    if flat.size and not (np.isfinite(flat).all() and flat.min() >= 0 and flat.max() <= 1):
        raise ProtocolError(f"{where} holds values outside [0, 1]: pixels are 0 (black) to 1 (white)")
    return flat.astype(np.float32)


def batch_of_images(model: ServedModel, values: list, where: str) -> np.ndarray:
    """A list of images, each 28x28, 28x28x1 or 784 numbers -> float32 [N, 28, 28, 1]."""
    if not isinstance(values, list) or not values:
        raise ProtocolError(f"{where} must be a list of 1 to {model.max_batch} images; got {described(values)}")
    if len(values) > model.max_batch:
        raise TooLarge(f"{where} holds {len(values)} images; at most {model.max_batch} per request")
    images = []
    for index, image in enumerate(values):
        shape = _shape_of(image)
        if shape not in ((28, 28), (28, 28, 1), (model.pixels,)):
            raise ProtocolError(f"{where}[{index}] has shape {list(shape)}; each image must be 28 x 28, "
                                f"28 x 28 x 1 or {model.pixels} numbers")
        images.append(to_floats(image, f"{where}[{index}]", model.pixels))
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
    name = document.get("signature_name")
    # TF Serving reads an absent or empty signature_name as the default one.
    if name not in (None, "", SIGNATURE):
        raise ProtocolError(f"signature_name {described(name)} is not served; the one signature is {SIGNATURE!r} "
                            "(or leave signature_name out)")


def _named_input(model: ServedModel, value: object, where: str) -> object:
    """`{"image": x}` or bare x: the model has one input, so both forms name it."""
    if isinstance(value, dict):
        if set(value) != {model.input_name}:
            names = ", ".join(quoted(name) for name in list(value)[:3]) + (", ..." if len(value) > 3 else "")
            raise ProtocolError(f"{where} must name the one input {model.input_name!r} and nothing else; "
                                f"got {{{names}}}")
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
    context = document.get("context")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        raise ProtocolError(f'context must be an object of features shared by every example, such as '
                            f'{{"{model.input_name}": [{model.pixels} numbers]}}; got {described(context)}')
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


V2_REQUEST = '{"inputs": [{"name": "image", "datatype": "FP32", "shape": [N, 28, 28, 1], "data": [...]}]}'


@dataclass(frozen=True)
class InferRequest:
    """An inference request, checked whole before the model runs, so answering it cannot fail."""

    batch: np.ndarray  # float32 [N, 28, 28, 1]
    binary_output: bool  # answer with the output's raw bytes after the JSON (the binary tensor extension)
    id: str | None  # echoed in the answer


def _request_id(document: dict) -> str | None:
    """The optional `id`, a string the answer echoes back; so it must be text JSON can carry."""
    value = document.get("id")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f'id must be a string, which the answer echoes back; got {described(value)}')
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f'id {quoted(value)} holds a lone surrogate escape (\\ud800 to \\udfff), which is '
                            "not a character; send an id of valid Unicode text") from None
    return value


def _wants_binary(model: ServedModel, document: dict) -> bool:
    """The binary tensor extension for the output: asked for for the whole request
    (`binary_data_output`) or on the output itself (`binary_data`), which wins."""
    request_parameters = _parameters(document, "parameters", '{"binary_data_output": true}')
    wanted = _boolean(request_parameters, "binary_data_output", "parameters")
    outputs = document.get("outputs")
    if outputs is None:
        return bool(wanted)
    if not isinstance(outputs, list):
        raise ProtocolError(f'outputs must be a list of objects such as {{"name": "{model.output_name}", '
                            f'"parameters": {{"binary_data": true}}}}; got {described(outputs)}')
    for index, output in enumerate(outputs):
        where = f"outputs[{index}]"
        if not isinstance(output, dict):
            raise ProtocolError(f'{where} must be an object such as {{"name": "{model.output_name}"}}; '
                                f"got {described(output)}")
        if output.get("name") != model.output_name:
            raise ProtocolError(f"{where} names {described(output.get('name'))}; "
                                f"the one output is {model.output_name!r}")
        binary_data = _boolean(_parameters(output, f"{where}.parameters", '{"binary_data": true}'),
                               "binary_data", f"{where}.parameters")
        if binary_data is not None:
            wanted = binary_data
    return bool(wanted)


def _check_input_name(model: ServedModel, name: object) -> None:
    if name == model.input_name:
        return
    if isinstance(name, str):
        raise ProtocolError(f"unknown input {quoted(name)}; the one input is {model.input_name!r}")
    raise ProtocolError(f"inputs[0].name must be the string {model.input_name!r}; got {described(name)}")


def _batch_size(model: ServedModel, shape: object, where: str) -> int:
    """N, from the declared shape [N, 28, 28, 1]."""
    if not (isinstance(shape, list) and len(shape) == 1 + len(model.image_shape)
            and all(_is_whole(size) for size in shape) and tuple(shape[1:]) == model.image_shape):
        raise ProtocolError(f"{where} has shape {described(shape)}; expected [N, 28, 28, 1]")
    count = shape[0]
    if not 1 <= count <= model.max_batch:
        refusal = TooLarge if count > model.max_batch else ProtocolError
        raise refusal(f"{where} holds {described(count)} images; send 1 to {model.max_batch}")
    return count


def _binary_tensor(model: ServedModel, parameters: dict, binary: bytes, count: int, where: str) -> np.ndarray:
    """The tensor's little-endian float32 bytes after the JSON, as many as `binary_data_size` says."""
    size = parameters["binary_data_size"]
    needed = count * model.pixels * 4
    if not _is_whole(size):
        raise ProtocolError(f"inputs[0].parameters.binary_data_size must be a whole number of bytes ({needed} for "
                            f"{count} images); got {described(size)}")
    if size != len(binary) or size != needed:
        raise ProtocolError(f"{where} declares {described(size)} bytes of binary data; {len(binary)} came after the "
                            f"JSON header and shape {[count, *model.image_shape]} needs {needed}")
    data = np.frombuffer(binary, dtype="<f4").astype(np.float32)
    if not (np.isfinite(data).all() and data.min() >= 0 and data.max() <= 1):
        raise ProtocolError(f"{where} holds values outside [0, 1]: pixels are 0 (black) to 1 (white)")
    return data


def _input_tensor(model: ServedModel, tensor: object, binary: bytes) -> np.ndarray:
    """The one input, FP32 [N, 28, 28, 1] in [0, 1]: as JSON `data`, or as raw bytes after the JSON."""
    if not isinstance(tensor, dict):
        raise ProtocolError(f"inputs[0] must be an object with name, datatype, shape and data; got {described(tensor)}")
    _check_input_name(model, tensor.get("name"))
    where = f"input {model.input_name!r}"
    if tensor.get("datatype") != "FP32":
        raise ProtocolError(f"{where} has datatype {described(tensor.get('datatype'))}; expected \"FP32\"")
    count = _batch_size(model, tensor.get("shape"), where)
    parameters = _parameters(tensor, "inputs[0].parameters", '{"binary_data_size": 3136}')
    if parameters.get("binary_data_size") is not None:
        data = _binary_tensor(model, parameters, binary, count, where)
    elif binary:
        raise ProtocolError(f"{len(binary)} bytes follow the JSON header, but no input declares binary_data_size")
    else:
        data = to_floats(tensor.get("data"), f"{where} data (shape {[count, *model.image_shape]})",
                         count * model.pixels)
    return data.reshape(count, *model.image_shape)


def v2_infer_request(model: ServedModel, document: object, binary: bytes = b"") -> InferRequest:
    """An inference request with one tensor, and how it wants its answer; every field the
    protocol defines is checked for its type here, before the model runs."""
    if not isinstance(document, dict):
        raise ProtocolError(f"expected a JSON object {V2_REQUEST}; got {described(document)}")
    if not isinstance(document.get("inputs"), list):
        raise ProtocolError(f"inputs must be a list holding the one tensor: {V2_REQUEST}; "
                            f"got {described(document.get('inputs'))}")
    request_id = _request_id(document)
    binary_output = _wants_binary(model, document)
    if len(document["inputs"]) != 1:
        raise ProtocolError(f"the model takes one input, {model.input_name!r}; got {len(document['inputs'])}")
    return InferRequest(_input_tensor(model, document["inputs"][0], binary), binary_output, request_id)


def v2_infer_answer(model: ServedModel, request: InferRequest, probabilities: np.ndarray) -> tuple[dict, bytes]:
    """The inference response, and the output's raw bytes when the binary extension was asked for."""
    output = {"name": model.output_name, "datatype": "FP32", "shape": list(probabilities.shape)}
    binary = b""
    if request.binary_output:
        binary = probabilities.astype("<f4").tobytes()
        output["parameters"] = {"binary_data_size": len(binary)}
    else:
        output["data"] = probabilities.ravel().tolist()
    answer = {"model_name": MODEL_NAME, "model_version": model.version, "outputs": [output]}
    if request.id is not None:
        answer["id"] = request.id
    return answer, binary
