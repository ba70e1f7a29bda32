"""The page works offline: its libraries are the pinned npm packages (only the parts of
TF.js it uses), served from web/, and nothing in it points at another host."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.support import browser as support

ROOT = support.PROJECT_ROOT
TFJS = "node_modules/@tensorflow"
VENDORED = {
    "web/vendor/jquery.min.js": "node_modules/jquery/dist/jquery.min.js",
    "web/vendor/tf-core.es2017.min.js": f"{TFJS}/tfjs-core/dist/tf-core.es2017.min.js",
    "web/vendor/tf-converter.es2017.min.js": f"{TFJS}/tfjs-converter/dist/tf-converter.es2017.min.js",
    "web/vendor/tf-backend-wasm.es2017.min.js": f"{TFJS}/tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js",
    "web/vendor/tfjs-backend-wasm.wasm": f"{TFJS}/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
    "web/vendor/tfjs-backend-wasm-simd.wasm": f"{TFJS}/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    "web/vendor/tfjs-backend-wasm-threaded-simd.wasm":
        f"{TFJS}/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
    "web/vendor/tf-backend-webgl.es2017.min.js": f"{TFJS}/tfjs-backend-webgl/dist/tf-backend-webgl.es2017.min.js",
    "web/vendor/tf-backend-cpu.es2017.min.js": f"{TFJS}/tfjs-backend-cpu/dist/tf-backend-cpu.es2017.min.js",
}
PAGE_LIBRARIES = ("jquery", "@tensorflow/tfjs-core", "@tensorflow/tfjs-converter", "@tensorflow/tfjs-backend-wasm",
                  "@tensorflow/tfjs-backend-webgl", "@tensorflow/tfjs-backend-cpu")


@pytest.mark.parametrize(("served", "installed"), VENDORED.items())
def test_served_libraries_are_the_installed_npm_packages(served, installed):
    assert (ROOT / installed).is_file(), f"{installed} is missing: run `npm ci`"
    assert (ROOT / served).is_file(), f"{served} is missing: `npm ci` (or `npm run vendor`) copies it"
    assert (ROOT / served).read_bytes() == (ROOT / installed).read_bytes(), (
        f"{served} differs from {installed}: run `npm run vendor`")


def test_libraries_are_pinned_exactly():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name in PAGE_LIBRARIES:
        pinned = package["dependencies"][name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), f"{name} is not pinned to one version: {pinned}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == pinned
        installed = json.loads((ROOT / "node_modules" / name / "package.json").read_text())["version"]
        assert installed == pinned, f"node_modules holds {name} {installed}, package.json pins {pinned}: npm ci"


def test_page_refers_to_no_other_host():
    sources = [ROOT / "web/index.html", *sorted((ROOT / "web/css").glob("*.css")),
               *sorted((ROOT / "web/js").glob("*.js"))]
    for source in sources:
        text = source.read_text()
        # An XML namespace (the icon's SVG) names a host but is never fetched.
        text = text.replace("http://www.w3.org/2000/svg", "")
        for url in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text):
            pytest.fail(f"{source.relative_to(ROOT)} refers to {url}")
        for attribute in re.findall(r"(?:src|href)=\"([^\"]+)\"", text):
            assert not re.match(r"(?:https?:)?//", attribute), f"{source.relative_to(ROOT)} loads {attribute}"


def test_the_full_tfjs_bundle_is_not_served():
    """The page loads TF.js's core, converter and one backend, never the whole bundle."""
    assert not (ROOT / "web/vendor/tf.min.js").exists()
    sources = [ROOT / "web/index.html", *sorted((ROOT / "web/js").glob("*.js")), ROOT / "web/sw.js"]
    assert not any("tf.min.js" in source.read_text() for source in sources)


def test_vendored_copies_are_not_committed():
    """What git itself makes of the copies `npm ci` writes: ignored, and none tracked (git
    check-ignore leaves tracked files out, ignore rules or not)."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    copies = sorted(VENDORED)
    completed = subprocess.run([git, "check-ignore", "--", *copies], cwd=ROOT, capture_output=True, text=True)
    if "not a git repository" in completed.stderr:
        pytest.skip(f"{ROOT} is not a git checkout")
    assert completed.returncode in (0, 1), completed.stderr
    ignored = set(completed.stdout.split())
    assert ignored == set(copies), f"git would commit {sorted(set(copies) - ignored)}"


def test_a_whole_session_stays_on_this_machine(open_page, server):
    """Page, libraries, model and answers all come from the local server (the page's
    watcher fails the test on any other request)."""
    page = open_page(server + "/")
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    support.choose_mode(page, "browser")
    support.draw_digit(page, 1)
    assert support.recognise(page) == "done"
    support.choose_mode(page, "server")
    assert support.recognise(page) == "done"
    assert any(url.endswith("/vendor/tf-core.es2017.min.js") for url in requests)
    assert any(url.endswith("/vendor/tfjs-backend-wasm-simd.wasm") for url in requests)
    assert any(url.endswith("/model/model.json") for url in requests)
    assert not any(url.endswith(("/vendor/tf-backend-webgl.es2017.min.js", "/vendor/tf-backend-cpu.es2017.min.js"))
                   for url in requests), "the fallback backends load only when WebAssembly fails"
    assert any(url.endswith("/predict") for url in requests)
    assert all(url.startswith(server) for url in requests)


def test_the_service_worker_keeps_every_file_the_page_needs_offline():
    """sw.js lists the page's files by hand: every script, style and library that the page
    and its inference worker load for browser mode must be in it."""
    sw = (ROOT / "web/sw.js").read_text()
    listed = set(re.findall(r'"((?:js|css|vendor|model|icons)/[^"]+|index\.html|manifest\.webmanifest)"', sw))
    page = (ROOT / "web/index.html").read_text()
    needed = set(re.findall(r'(?:src|href)="((?:js|css|vendor|icons)/[^"]+|manifest\.webmanifest)"', page))
    needed |= {"js/inference-worker.js", "js/ink-worker.js", "model/card.json", "model/model.json"}
    engine = (ROOT / "web/js/tf-engine.js").read_text()
    default = re.search(r'BACKENDS = \["(\w+)"', engine).group(1)
    scripts = dict(re.findall(r'(\w+): "([\w.-]+\.js)"', engine))
    needed |= {f"vendor/{scripts[part]}" for part in ("core", "converter", default)}
    needed.add("vendor/tfjs-backend-wasm-simd.wasm")
    assert needed <= listed, f"sw.js does not keep {sorted(needed - listed)}"
    for path in listed:
        assert (ROOT / "web" / path).is_file(), f"sw.js lists {path}, which web/ does not have"
