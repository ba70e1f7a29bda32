"""Browser mode in Chromium: each TF.js backend, the inference worker and the page opened
from disk, the quantised web model against the function's TFLite model, and the page kept
by its service worker for use offline."""

from __future__ import annotations

import json
from urllib.parse import quote

import numpy as np
import pytest

import preprocessing  # the function's, from lambda/
from tests.support import LAMBDA_DIR, PROJECT_ROOT, drawing
from tests.support import browser as support
from tests.support.cards import web_copy
from tests.support.servers import api_server

BACKEND_NAMES = {"wasm": "WebAssembly", "webgl": "WebGL", "cpu": "CPU"}
AGREEMENT_DIGITS = 300


def wait_for_model(page) -> None:
    page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)


def recognise(page, digit: int) -> None:
    support.clear_pad(page)
    support.draw_digit(page, digit)
    assert support.recognise(page) == "done", page.inner_text("#message")
    assert page.inner_text("#output") == str(digit)


@pytest.mark.parametrize("backend", sorted(BACKEND_NAMES))
def test_each_backend_forced_by_the_url_runs_in_the_worker(open_page, server, backend):
    page = open_page(f"{server}/?mode=browser&backend={backend}")
    wait_for_model(page)
    assert page.get_attribute("#model-status", "data-backend") == backend
    assert page.get_attribute("#model-status", "data-where") == "worker"
    assert BACKEND_NAMES[backend] in page.inner_text("#model-status")
    recognise(page, 2)
    assert f"in this browser ({BACKEND_NAMES[backend]})" in page.inner_text("#details")


def test_webassembly_answers_by_default_off_the_main_thread(open_page, server):
    page = open_page(f"{server}/?mode=browser")
    wait_for_model(page)
    assert page.get_attribute("#model-status", "data-backend") == "wasm"
    assert "in a background worker" in page.inner_text("#model-status")
    # TF.js lives in the worker: the page itself never loaded it.
    assert page.evaluate("typeof window.tf") == "undefined"
    recognise(page, 5)


def test_an_unknown_backend_is_named_in_the_error(open_page, server):
    page = open_page(f"{server}/?mode=browser&backend=quantum")
    page.wait_for_selector("#model-status[data-state='failed']")
    support.draw_digit(page, 1)
    assert support.recognise(page) == "error"
    assert 'no TF.js backend "quantum"' in page.inner_text("#message")


def test_page_opened_from_disk_runs_on_the_main_thread_and_says_so(open_page, disk_url):
    page = open_page(disk_url)
    wait_for_model(page)
    assert page.get_attribute("#model-status", "data-where") == "page"
    status = page.inner_text("#model-status")
    assert "opened from disk" in status
    # Chromium will not fetch WebAssembly's binary for a file:// page: the next backend answers.
    backend = page.get_attribute("#model-status", "data-backend")
    assert backend in ("webgl", "cpu")
    assert "WebAssembly would not start here" in status
    recognise(page, 7)


def test_model_loads_once_in_the_background_when_browser_mode_is_chosen(open_page, server):
    page = open_page(f"{server}/?mode=server", service_workers="block")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    support.choose_mode(page, "browser")
    wait_for_model(page)  # before any drawing: loaded and warmed up in the background
    for digit in (3, 8):
        recognise(page, digit)
    assert sum(url.endswith("/model/model.json") for url in requests) == 1
    assert sum(url.endswith("/vendor/tf-core.es2017.min.js") for url in requests) == 1


def test_quantised_web_model_agrees_with_the_functions_tflite_model(open_page, server):
    """The page's quantised weights (WebAssembly, in the page's own classifier) and the
    function's float32 TFLite model give the same digit for the first test digits."""
    from ai_edge_litert.interpreter import Interpreter

    from model.data import load_mnist, to_model_input

    images = to_model_input(load_mnist(allow_download=False).x_test[:AGREEMENT_DIGITS]).astype(np.float32)
    interpreter = Interpreter(model_path=str(LAMBDA_DIR / "model/digits.tflite"))
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    tflite = []
    for image in images:
        interpreter.set_tensor(input_index, image[None])
        interpreter.invoke()
        tflite.append(interpreter.get_tensor(output_index)[0].copy())
    tflite = np.array(tflite)

    page = open_page(f"{server}/?mode=server", service_workers="block")
    web = np.array(page.evaluate("""async (images) => {
        const card = await DigitsCard.load();
        const classifier = await DigitsClassifier.load({ card, backend: "wasm" });
        const answers = [];
        for (const image of images) answers.push((await classifier.predict(Float32Array.from(image))).probabilities);
        return answers;
    }""", images.reshape(len(images), -1).tolist()))
    assert web.shape == tflite.shape
    assert (web.argmax(1) == tflite.argmax(1)).all()
    card = json.loads((PROJECT_ROOT / "web/model/card.json").read_text())
    # Within what the exporter measured against Keras on all 10,000 digits, and its limit.
    assert np.abs(web - tflite).max() < 2e-2
    assert card["formats"]["tfjs"]["accuracy_on_checked"] >= card["test"]["accuracy"] - 0.0002


def wait_for_worker(page, origin: str, version: str) -> None:
    """Until the service worker the page registers under `version` controls it and has taken
    charge (its activate step, which drops older caches, is over). Synchronous on purpose:
    Playwright does not await a promise the predicate returns, it takes it as true."""
    page.wait_for_function("""script => {
        const worker = navigator.serviceWorker.controller;
        return worker !== null && worker.scriptURL === script && worker.state === 'activated';
    }""", arg=f"{origin}/sw.js?version={quote(version, safe='')}", timeout=support.ANSWER_TIMEOUT_MS)


def test_offline_after_one_visit_thanks_to_the_service_worker(open_page, server):
    page = open_page(f"{server}/?mode=browser")
    wait_for_model(page)
    version = json.loads((PROJECT_ROOT / "web/model/card.json").read_text())["version"]
    # The page registers its worker itself, named by the version on its model card.
    wait_for_worker(page, server, version)
    assert page.evaluate("caches.keys()") == [f"digits-{version}"]

    page.context.set_offline(True)
    try:
        page.reload()
        support.wait_until_ready(page)
        wait_for_model(page)
        assert page.get_attribute("#model-status", "data-backend") == "wasm"
        recognise(page, 4)
        assert version in page.inner_text("#about-model")
    finally:
        page.context.set_offline(False)


def test_a_new_model_replaces_the_cached_files(open_page, tmp_path):
    """A new export writes a new card (and may bring new libraries): the page, reloaded,
    reads the card, registers its worker under the new version, and that worker fetches
    every file afresh, even those it serves from its cache first, takes charge and drops
    the old cache. Offline, the page is then the new one."""
    new_version = "next-model"
    web_dir = web_copy(tmp_path / "web")
    card_path = web_dir / "model/card.json"
    card = json.loads(card_path.read_text())
    library = web_dir / "vendor/tf-core.es2017.min.js"
    mark = f"\n// {new_version}\n"
    with api_server(web_dir) as url:
        page = open_page(f"{url}/?mode=browser")
        wait_for_model(page)
        wait_for_worker(page, url, card["version"])
        assert page.evaluate("caches.keys()") == [f"digits-{card['version']}"]

        card_path.write_text(json.dumps({**card, "version": new_version}))
        library.write_bytes(library.read_bytes() + mark.encode())
        page.reload()
        support.wait_until_ready(page)
        wait_for_worker(page, url, new_version)
        assert page.evaluate("caches.keys()") == [f"digits-{new_version}"]
        assert page.evaluate("""mark => caches.match('vendor/tf-core.es2017.min.js')
            .then(response => response.text()).then(text => text.endsWith(mark))""", mark)

        page.context.set_offline(True)
        try:
            page.reload()
            support.wait_until_ready(page)
            page.wait_for_function("() => document.querySelector('#about-model').dataset.version")
            assert page.get_attribute("#about-model", "data-version") == new_version
            wait_for_model(page)
            recognise(page, 4)
        finally:
            page.context.set_offline(False)


def test_the_page_can_be_installed(open_page, server):
    page = open_page(f"{server}/")
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("./")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=support.ANSWER_TIMEOUT_MS)
    session = page.context.new_cdp_session(page)
    errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito windows, where Chromium installs nothing: not the page's doing.
    assert [error for error in errors if error["errorId"] != "in-incognito"] == [], errors


def test_the_page_keeps_to_its_content_security_policy(open_page, server):
    """The function's policy ('self', 'wasm-unsafe-eval', workers from 'self' and blob:) is
    enough for everything the page does, WebAssembly and both workers included."""
    page = open_page("about:blank", ready=False)
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text and "invalid source" not in message.text else None)
    page.goto(f"{server}/?mode=browser")
    support.wait_until_ready(page)
    wait_for_model(page)
    recognise(page, 0)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=support.ANSWER_TIMEOUT_MS)
    assert violations == []


BATCH = """async ({ fromDisk, backend, images }) => {
    const card = await DigitsCard.load({ fromDisk });
    const classifier = await DigitsClassifier.load({ fromDisk, backend, card });
    const batch = await classifier.predictBatch(images.map((image) => Float32Array.from(image)));
    const alone = [];
    for (const image of images) alone.push((await classifier.predict(Float32Array.from(image))).probabilities);
    return { where: classifier.where, batch: batch.probabilities.map((p) => Array.from(p)), alone };
}"""


@pytest.mark.parametrize(("opened", "backend", "where"), [
    ("served", "wasm", "worker"), ("served", "webgl", "worker"), ("served", "cpu", "worker"),
    ("from disk", "cpu", "page"),
], ids=["worker-wasm", "worker-webgl", "worker-cpu", "page-cpu"])
def test_a_batch_of_digits_is_read_in_one_call_as_each_alone(open_page, server, disk_url, opened, backend, where):
    """A number's digits go to the model as one batch (predictBatch), in the worker and on the
    page: each digit's probabilities are what it gets on its own."""
    digits = [3, 0, 5, 8]
    images = [preprocessing.to_mnist(drawing.canvas(digit)).reshape(-1).tolist() for digit in digits]
    page = open_page(f"{server}/?mode=server" if opened == "served" else f"{disk_url}?mode=server",
                     service_workers="block")
    answer = page.evaluate(BATCH, {"fromDisk": opened == "from disk", "backend": backend, "images": images})
    assert answer["where"] == where
    batch, alone = np.array(answer["batch"]), np.array(answer["alone"])
    assert batch.shape == (len(digits), 10)
    assert list(batch.argmax(1)) == digits
    assert np.abs(batch - alone).max() < 1e-4
