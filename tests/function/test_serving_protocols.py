"""The model-serving protocols: TensorFlow Serving's REST API and the Open Inference Protocol
(KServe v2), checked with NVIDIA's own client (tritonclient) against the API under uvicorn,
and every refusal with plain HTTP."""

from __future__ import annotations

import copy
import json

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import api_server

DIGITS = 300  # MNIST test digits sent through each client


@pytest.fixture(scope="module")
def server_url():
    with api_server() as url:
        yield url


@pytest.fixture(scope="module")
def served(classifier):
    """What the protocols say about the model, for calling serving.py without HTTP."""
    import serving_routes

    return serving_routes.served(classifier)


@pytest.fixture(scope="module")
def triton(server_url):
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(server_url.removeprefix("http://"), network_timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="module")
def digits(mnist):
    return (mnist.x_test[:DIGITS] / 255.0).astype(np.float32)[..., np.newaxis], mnist.y_test[:DIGITS]


@pytest.fixture(scope="module")
def served_version(classifier) -> str:
    return "".join(classifier.version.split("-")[:2])


def v2_tensor(batch: np.ndarray, **changes) -> dict:
    tensor = {"name": "image", "datatype": "FP32", "shape": list(batch.shape), "data": batch.ravel().tolist()}
    return {"inputs": [{**tensor, **changes}]}


# --- Open Inference Protocol, through tritonclient ---------------------------------------


def test_triton_client_sees_a_live_ready_server_and_model(triton, served_version):
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready("digits")
    assert triton.is_model_ready("digits", served_version)
    assert not triton.is_model_ready("letters")


def test_triton_client_reads_the_metadata(triton, served_version):
    server = triton.get_server_metadata()
    assert server["name"] and server["version"]
    model = triton.get_model_metadata("digits")
    assert model["name"] == "digits"
    assert model["versions"] == [served_version]
    assert model["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 28, 28, 1]}]
    assert model["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]


@pytest.mark.parametrize("binary", [False, True], ids=["json-tensors", "binary-tensors"])
def test_triton_client_infers_mnist_digits_as_the_model_does(triton, digits, classifier, binary):
    import tritonclient.http as httpclient

    images, labels = digits
    expected = classifier.predict(images)
    answers = []
    for start in range(0, len(images), 100):
        batch = images[start:start + 100]
        tensor = httpclient.InferInput("image", list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch, binary_data=binary)
        output = httpclient.InferRequestedOutput("probabilities", binary_data=binary)
        result = triton.infer("digits", [tensor], outputs=[output], request_id=f"batch-{start}")
        assert result.get_response()["id"] == f"batch-{start}"
        answers.append(result.as_numpy("probabilities"))
    probabilities = np.concatenate(answers)
    assert probabilities.shape == (DIGITS, 10)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    accuracy = (probabilities.argmax(1) == labels).mean()
    assert accuracy == (expected.argmax(1) == labels).mean()
    assert accuracy > 0.98


def test_triton_client_gets_the_protocols_error_for_an_unknown_model(triton, digits):
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    tensor = httpclient.InferInput("image", [1, 28, 28, 1], "FP32")
    tensor.set_data_from_numpy(digits[0][:1], binary_data=False)
    with pytest.raises(InferenceServerException, match="not served here"):
        triton.infer("letters", [tensor])


# --- Open Inference Protocol, every refusal ------------------------------------------------


@pytest.mark.parametrize(("body", "status", "message"), [
    (lambda b: v2_tensor(b, datatype="FP64"), 400, "datatype 'FP64'; expected \"FP32\""),
    (lambda b: v2_tensor(b, datatype="INT8"), 400, "expected \"FP32\""),
    (lambda b: v2_tensor(b, shape=[2, 784]), 400, "expected [N, 28, 28, 1]"),
    (lambda b: v2_tensor(b, shape=[2, 28, 28]), 400, "expected [N, 28, 28, 1]"),
    (lambda b: v2_tensor(b, shape=[3, 28, 28, 1]), 400, "(shape [3, 28, 28, 1]) holds 1,568 numbers; expected 2,352"),
    (lambda b: v2_tensor(b, shape=[0, 28, 28, 1], data=[]), 400, "send 1 to 256"),
    (lambda b: v2_tensor(b, shape=[257, 28, 28, 1]), 413, "holds 257 images; send 1 to 256"),
    (lambda b: v2_tensor(b, name="pixels"), 400, "unknown input 'pixels'"),
    (lambda b: v2_tensor(b, data=[True] * 1568), 400, "only numbers in [0, 1]; found true"),
    (lambda b: v2_tensor(b, data=[None] * 1568), 400, "found null"),
    (lambda b: v2_tensor(b, data=["0.5"] * 1568), 400, "found a str"),
    (lambda b: v2_tensor(b, data=[2.0] * 1568), 400, "outside [0, 1]"),
    (lambda b: {**v2_tensor(b), "outputs": [{"name": "logits"}]}, 400, "the one output is 'probabilities'"),
    (lambda b: {"inputs": "image"}, 400, '{"inputs": [{"name": "image"'),
    (lambda b: [1, 2, 3], 400, '{"inputs": [{"name": "image"'),
], ids=["fp64", "int8", "flat-shape", "no-channel", "data-too-short", "no-images", "too-many-images",
        "unknown-input", "booleans", "nulls", "strings", "out-of-range", "unknown-output", "inputs-not-a-list",
        "not-an-object"])
def test_v2_infer_refuses_with_the_protocols_error(client, body, status, message):
    batch = np.zeros((2, 28, 28, 1), dtype=np.float32)
    response = client.post("/v2/models/digits/infer", json=body(batch))
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


def test_v2_refuses_unknown_models_and_versions(client):
    batch = np.zeros((1, 28, 28, 1), dtype=np.float32)
    for path in ("/v2/models/letters/infer", "/v2/models/digits/versions/1/infer"):
        response = client.post(path, json=v2_tensor(batch))
        assert response.status_code == 404
        assert "not served here" in response.json()["error"] or "has no version '1'" in response.json()["error"]
    assert client.get("/v2/models/letters").status_code == 404
    assert client.get("/v2/models/letters/ready").status_code == 404


def test_v2_refuses_binary_data_that_does_not_match_its_declaration(client):
    header = json.dumps({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1],
                                     "parameters": {"binary_data_size": 3136}}]}).encode()
    response = client.post("/v2/models/digits/infer", content=header + b"\0" * 100,
                           headers={"Inference-Header-Content-Length": str(len(header)),
                                    "Content-Type": "application/octet-stream"})
    assert response.status_code == 400
    assert "declares 3136 bytes of binary data; 100 came" in response.json()["error"]
    response = client.post("/v2/models/digits/infer", content=header,
                           headers={"Inference-Header-Content-Length": "99999"})
    assert response.status_code == 400
    assert "Inference-Header-Content-Length" in response.json()["error"]


ONE_IMAGE = {"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1], "data": [0.0] * 784}
HEADER_LENGTH = "Inference-Header-Content-Length must be the JSON header's length in bytes: 1 to 10 ASCII digits"


def with_image(**fields) -> dict:
    return {"inputs": [ONE_IMAGE], **fields}


@pytest.mark.parametrize(("body", "headers", "message"), [
    (with_image(outputs=5), {}, 'outputs must be a list of objects such as {"name": "probabilities"'),
    (with_image(outputs=True), {}, "outputs must be a list of objects such as"),
    (with_image(outputs=[5]), {}, 'outputs[0] must be an object such as {"name": "probabilities"}; got 5'),
    (with_image(parameters="x"), {}, "parameters must be an object of names and values, such as "
                                     '{"binary_data_output": true}; got \'x\''),
    (with_image(parameters=[1]), {}, "parameters must be an object of names and values"),
    (with_image(parameters={"binary_data_output": "no"}), {},
     "parameters.binary_data_output must be true or false; got 'no'"),
    ({"inputs": [{**ONE_IMAGE, "parameters": "x"}]}, {}, "inputs[0].parameters must be an object of names and values"),
    ({"inputs": [{**ONE_IMAGE, "parameters": [1]}]}, {}, "inputs[0].parameters must be an object of names and values"),
    ({"inputs": [{**ONE_IMAGE, "parameters": {"binary_data_size": 3136.0}}]}, {},
     "inputs[0].parameters.binary_data_size must be a whole number of bytes (3136 for 1 images); got 3136.0"),
    ({"inputs": [{**ONE_IMAGE, "parameters": {"binary_data_size": True}}]}, {},
     "binary_data_size must be a whole number of bytes"),
    (with_image(outputs=[{"name": "probabilities", "parameters": "binary_data"}]), {},
     "outputs[0].parameters must be an object of names and values, such as {\"binary_data\": true}"),
    (with_image(outputs=[{"name": "probabilities", "parameters": {"binary_data": 1}}]), {},
     "outputs[0].parameters.binary_data must be true or false; got 1"),
    (with_image(id="\ud800"), {}, "surrogate"),  # refused as the JSON is read, or by serving.py if it is not
    (with_image(id=5), {}, "id must be a string, which the answer echoes back; got 5"),
    (with_image(id=["batch-1"]), {}, "id must be a string"),
    ({"inputs": [{**ONE_IMAGE, "name": "p" * 4_000_000}]}, {}, "unknown input 'pppp"),
    ({"inputs": [{**ONE_IMAGE, "name": None}]}, {}, "inputs[0].name must be the string 'image'; got null"),
    ({"inputs": [{**ONE_IMAGE, "shape": [-10**20, 28, 28, 1]}]}, {}, "holds -100000000000000000000 images; send 1"),
    (with_image(), {"Inference-Header-Content-Length": "5" * 5000}, f"{HEADER_LENGTH} (0-9), at most the body's"),
    (with_image(), {"Inference-Header-Content-Length": "\u00b2".encode("latin-1")}, f"{HEADER_LENGTH}"),
    (with_image(), {"Inference-Header-Content-Length": "\u00b9\u00b2".encode("latin-1")}, "; got '\u00b9\u00b2'"),
], ids=["outputs-number", "outputs-true", "output-number", "parameters-string", "parameters-list",
        "binary-data-output-string", "input-parameters-string", "input-parameters-list", "binary-data-size-float",
        "binary-data-size-true", "output-parameters-string", "binary-data-number", "id-lone-surrogate", "id-number",
        "id-list", "input-name-4mb", "input-name-null", "batch-size-negative", "header-5000-digits",
        "header-superscript-two", "header-superscripts"])
def test_v2_refuses_every_wrongly_typed_field_with_a_400_saying_what_is_accepted(server_url, body, headers,
                                                                                message):
    # Over real HTTP: a header's bytes reach the server as sent ('\xb2' is '²' to it), and the
    # body is JSON with the lone surrogate escaped, as a client would send it.
    response = httpx.post(f"{server_url}/v2/models/digits/infer", content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json", **headers}, timeout=60)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]
    assert len(response.text) < 1000  # a long name or header is quoted shortened, not sent back whole


def test_v2_refuses_an_id_it_could_not_echo_whoever_read_the_json(served):
    # The JSON reader refuses lone surrogates anywhere; serving.py echoes the id, so it checks it itself.
    import serving

    with pytest.raises(serving.ProtocolError, match=r"^id '\\ud800' holds a lone surrogate escape .* valid Unicode"):
        serving.v2_infer_request(served, with_image(id="\ud800"))


def test_v2_answers_a_string_id_and_boolean_binary_parameters(client):
    document = with_image(id="batch-\u00e9", parameters={"binary_data_output": False},
                          outputs=[{"name": "probabilities", "parameters": {"binary_data": False}}])
    response = client.post("/v2/models/digits/infer", json=document)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "batch-\u00e9"
    assert len(response.json()["outputs"][0]["data"]) == 10


def test_v2_health_and_server_metadata(client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["extensions"] == []


# --- TensorFlow Serving REST ----------------------------------------------------------------


def test_tf_serving_model_status(client, served_version):
    expected = {"model_version_status": [{"version": served_version, "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.get("/v1/models/digits").json() == expected
    assert client.get(f"/v1/models/digits/versions/{served_version}").json() == expected
    response = client.get("/v1/models/digits/versions/7")
    assert response.status_code == 404
    assert response.json() == {"error": f"model 'digits' has no version '7'; the served version is {served_version}"}


def test_tf_serving_metadata_is_the_saved_models_signature(client, served_version):
    metadata = client.get("/v1/models/digits/metadata").json()
    assert metadata["model_spec"] == {"name": "digits", "signature_name": "", "version": served_version}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    image = signature["inputs"]["image"]
    assert image["dtype"] == "DT_FLOAT"
    assert [dim["size"] for dim in image["tensor_shape"]["dim"]] == ["-1", "28", "28", "1"]
    probabilities = signature["outputs"]["probabilities"]
    assert [dim["size"] for dim in probabilities["tensor_shape"]["dim"]] == ["-1", "10"]
    assert client.get(f"/v1/models/digits/versions/{served_version}/metadata").json() == metadata


def test_tf_serving_row_and_columnar_predict_agree_with_the_model(client, digits, classifier, served_version):
    images, _ = digits
    batch = images[:20]
    expected = classifier.predict(batch)
    row = client.post("/v1/models/digits:predict", json={"instances": batch.tolist()})
    named = client.post("/v1/models/digits:predict", json={"instances": [{"image": image} for image in
                                                                          batch.tolist()]})
    columnar = client.post(f"/v1/models/digits/versions/{served_version}:predict",
                           json={"signature_name": "serving_default", "inputs": {"image": batch.tolist()}})
    flat = client.post("/v1/models/digits:predict", json={"inputs": batch.reshape(20, 784).tolist()})
    mixed = client.post("/v1/models/digits:predict",  # 28x28 and 28x28x1 instances in one request
                        json={"instances": [image.reshape(28, 28).tolist() if index % 2 else image.tolist()
                                            for index, image in enumerate(batch)]})
    for response, key in ((row, "predictions"), (named, "predictions"), (columnar, "outputs"), (flat, "outputs"),
                          (mixed, "predictions")):
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(np.array(response.json()[key]), expected, atol=1e-6)


def test_tf_serving_classify_gives_each_class_its_probability(client, digits, classifier):
    images, _ = digits
    response = client.post("/v1/models/digits:classify",
                           json={"examples": [{"image": image.ravel().tolist()} for image in images[:3]]})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    expected = classifier.predict(images[:3])
    assert [[label for label, _ in result] for result in results] == [[str(d) for d in range(10)]] * 3
    np.testing.assert_allclose([[p for _, p in result] for result in results], expected, atol=1e-6)


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("/v1/models/digits:predict", {"instances": [[[0.5] * 28] * 27]}, 400, "has shape [27, 28]"),
    ("/v1/models/digits:predict", {"instances": [[[True] * 28] * 28]}, 400, "found true"),
    ("/v1/models/digits:predict", {"instances": [[[None] * 28] * 28]}, 400, "found null"),
    ("/v1/models/digits:predict", {"instances": [[[1.5] * 28] * 28]}, 400, "outside [0, 1]"),
    ("/v1/models/digits:predict", {"instances": [[[0.0] * 784]] * 257}, 413, "at most 256 per request"),
    ("/v1/models/digits:predict", {"instances": []}, 400, "a list of 1 to 256 images"),
    ("/v1/models/digits:predict", {"instances": [], "inputs": []}, 400, "exactly one of"),
    ("/v1/models/digits:predict", {"signature_name": "predict_images", "instances": [[0.0] * 784]}, 400,
     "signature_name 'predict_images' is not served"),
    ("/v1/models/digits:predict", {"inputs": {"pixels": [[0.0] * 784]}}, 400, "the one input 'image'"),
    ("/v1/models/letters:predict", {"instances": [[0.0] * 784]}, 404, "not served here"),
    ("/v1/models/digits:classify", {"instances": [[0.0] * 784]}, 400, '{"examples"'),
    ("/v1/models/digits:regress", {"examples": []}, 400, "has no regression signature"),
])
def test_tf_serving_refuses_with_its_error_shape(client, path, body, status, message):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


def test_tf_serving_refuses_huge_numbers_and_bad_json_in_its_error_shape(client):
    huge = b'{"instances": [[' + b"1" * 311 + b"]]}"
    response = client.post("/v1/models/digits:predict", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "too large" in response.json()["error"]
    response = client.post("/v1/models/digits:predict", content=b'{"instances": [',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_unknown_routes_and_methods_answer_in_the_protocols_shape(client):
    for path in ("/v2/models/digits/explain", "/v1/models/digits/labels/stable", "/v2/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "is not a route of this server" in response.json()["error"]
    response = client.get("/v1/models/digits:predict")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"error": "GET is not allowed on /v1/models/digits:predict"}
    assert client.post("/v2/health/live").status_code == 405


# --- any JSON value in any field: answered or refused in the protocol's shape, never a 500 ------

WRONG_TYPES = [5, True, None, "x", [1], {}, 1.5, "7" * 10_000, -1, "\ud800"]
V2_INFER = {"id": "fuzz", "parameters": {"binary_data_output": False},
            "inputs": [{**ONE_IMAGE, "parameters": {}}],
            "outputs": [{"name": "probabilities", "parameters": {"binary_data": False}}]}
TF_PREDICT_ROW = {"signature_name": "serving_default", "instances": [{"image": [0.0] * 784}]}
TF_PREDICT_COLUMNAR = {"inputs": {"image": [[0.0] * 784]}}
TF_CLASSIFY = {"signature_name": "serving_default", "context": {}, "examples": [{"image": [0.0] * 784}]}
# (route, a valid document, where in it a value goes); () is the whole document.
FIELDS = [
    *[("/v2/models/digits/infer", V2_INFER, field) for field in [
        (), ("id",), ("parameters",), ("parameters", "binary_data_output"), ("outputs",), ("outputs", 0),
        ("outputs", 0, "name"), ("outputs", 0, "parameters"), ("outputs", 0, "parameters", "binary_data"),
        ("inputs",), ("inputs", 0), ("inputs", 0, "name"), ("inputs", 0, "datatype"), ("inputs", 0, "shape"),
        ("inputs", 0, "shape", 0), ("inputs", 0, "shape", 1), ("inputs", 0, "data"), ("inputs", 0, "data", 0),
        ("inputs", 0, "parameters"), ("inputs", 0, "parameters", "binary_data_size")]],
    *[("/v1/models/digits:predict", TF_PREDICT_ROW, field) for field in [
        (), ("signature_name",), ("instances",), ("instances", 0), ("instances", 0, "image"),
        ("instances", 0, "image", 0)]],
    *[("/v1/models/digits:predict", TF_PREDICT_COLUMNAR, field) for field in [
        ("inputs",), ("inputs", "image"), ("inputs", "image", 0)]],
    *[("/v1/models/digits:classify", TF_CLASSIFY, field) for field in [
        (), ("signature_name",), ("context",), ("context", "image"), ("examples",), ("examples", 0),
        ("examples", 0, "image"), ("examples", 0, "image", 0)]],
]
FIELD_IDS = [f"{path.rsplit('/', 1)[1]}:{'.'.join(map(str, field)) or 'document'}" for path, _, field in FIELDS]


def with_value(document: dict, field: tuple, value: object) -> object:
    if not field:
        return value
    changed = copy.deepcopy(document)
    holder = changed
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] = value
    return changed


def assert_answered_or_refused(client, path: str, document: object) -> None:
    # Serialised here: the test client's own encoder refuses the lone surrogates a real client can send.
    response = client.post(path, content=json.dumps(document).encode(), headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert set(response.json()) == {"error"}, response.text
        assert isinstance(response.json()["error"], str)
        assert len(response.text) < 1000, response.text[:200]  # nothing long is echoed


@pytest.mark.parametrize("value", WRONG_TYPES, ids=lambda value: repr(value)[:12])
@pytest.mark.parametrize(("path", "document", "field"), FIELDS, ids=FIELD_IDS)
def test_every_field_with_a_wrong_type_is_answered_or_refused_never_a_500(client, path, document, field, value):
    assert_answered_or_refused(client, path, with_value(document, field, value))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=())),  # lone surrogates included
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["image", "name", "binary_data", "binary_data_size"]) | st.text(max_size=5),
                      children, max_size=4),
    max_leaves=12)
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize(("path", "document", "field"), FIELDS, ids=FIELD_IDS)
@settings(FUZZ, max_examples=30)
@given(value=JSON_VALUES)
def test_any_json_in_any_field_is_answered_or_refused_never_a_500(client, path, document, field, value):
    assert_answered_or_refused(client, path, with_value(document, field, value))


def run_protocol(served, path: str, document: object) -> None:
    """What the route runs, without HTTP or the JSON reader's own refusals; the model's answer faked."""
    import serving

    if path.endswith(":predict"):
        serving.tf_predict_inputs(served, document)
    elif path.endswith(":classify"):
        serving.tf_classify_inputs(served, document)
    else:
        request = serving.v2_infer_request(served, document)
        probabilities = np.full((len(request.batch), len(served.classes)), 0.1, dtype=np.float32)
        answer, _ = serving.v2_infer_answer(served, request, probabilities)
        json.dumps(answer, ensure_ascii=False).encode()  # as JSONResponse sends it


@pytest.mark.parametrize(("path", "document", "field"), FIELDS, ids=FIELD_IDS)
@settings(FUZZ, max_examples=100)
@given(value=st.sampled_from(WRONG_TYPES) | JSON_VALUES)
def test_the_protocols_raise_nothing_but_their_own_short_refusals(served, path, document, field, value):
    from input_errors import InputError

    try:
        run_protocol(served, path, with_value(document, field, value))
    except InputError as error:
        message = str(error)
        assert len(message) < 1000, message[:200]
        message.encode()  # sendable: nothing from the request is quoted unescaped
