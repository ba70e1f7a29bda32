"""Cold start and warm latency of the function's handler: LiteRT (what ships) against the
same handler serving the SavedModel with TensorFlow, measured in one run.

    .venv/bin/python bench/function_latency.py [--cold-runs 5] [--warm-calls 1000] [--build-dir DIR]

The request is what the page sends: a 280x280 canvas PNG as a data URL, in an API Gateway
HTTP API event (events/predict-data-url.json), passed to `app.handler` as Lambda does.

* cold start: a fresh Python process imports the app, loads the model and answers the
  first request (wall clock from process start to the answer, so interpreter start-up is
  included, as on Lambda); median of --cold-runs processes. It runs the function as
  `sam build` packages it (lambda/Makefile: precompiled bytecode, nothing written at run
  time, as /var/task is read-only); pass --build-dir to reuse a build;
* warm: p50/p99 of --warm-calls handler calls in one process after 20 unmeasured ones;
* where the warm time goes (decode, preprocess, model), for LiteRT;
* the largest request the limits let through (a 4 MB, 4096x4096 PNG): its time and the
  process's peak memory, which set the template's MemorySize and Timeout.

Goals (issue 3): cold start under 0.5 s, warm p50 under 2 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = PROJECT_ROOT / "lambda"
EVENT_FILE = PROJECT_ROOT / "events" / "predict-data-url.json"
SAVED_MODEL_DIRS = [PROJECT_ROOT / "model" / "saved_model", Path("/tmp/quick/model/saved_model")]

# Runs in a fresh process: import everything, load the model, answer one event.
CHILD = r"""
import time
started = time.perf_counter()
import json, os, sys, resource
sys.path[:0] = [os.environ["BENCH_FUNCTION_DIR"], os.environ["BENCH_PROJECT_ROOT"]]
if os.environ["BENCH_BACKEND"] == "tensorflow":
    from bench.function_latency import use_saved_model
    use_saved_model(os.environ["BENCH_SAVED_MODEL"])
import app
imported = time.perf_counter()
event = json.load(open(os.environ["BENCH_EVENT"]))
response = app.handler(event, None)
answered = time.perf_counter()
assert response["statusCode"] == 200, response
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"import_and_load": imported - started, "first_request": answered - imported,
                  "cpu": usage.ru_utime + usage.ru_stime, "digit": json.loads(response["body"])["digit"],
                  "peak_rss_mb": peak / 1024}))
"""


class SavedModelClassifier:
    """The baseline: the same interface as classifier.Classifier, running TensorFlow."""

    def __init__(self, saved_model_dir: str, card_path: Path):
        import tensorflow as tf

        self._tf = tf
        self._serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
        self.card = json.loads(card_path.read_text())
        self.version = self.card["version"]
        self.predict(__import__("numpy").zeros((1, 28, 28, 1), "float32"))

    def predict(self, images):
        batch = self._tf.constant(images.reshape(-1, 28, 28, 1).astype("float32"))
        return self._serve(image=batch)["probabilities"].numpy()


def use_saved_model(saved_model_dir: str) -> None:
    """Make the app (imported afterwards) serve the SavedModel through TensorFlow."""
    import functools

    import classifier

    card = classifier.model_dir() / classifier.CARD_FILE
    classifier.load = functools.lru_cache(maxsize=1)(lambda: SavedModelClassifier(saved_model_dir, card))


def cold_start(backend: str, saved_model: str, function_dir: Path, runs: int) -> dict:
    samples = []
    env = {**os.environ, "BENCH_BACKEND": backend, "BENCH_SAVED_MODEL": saved_model, "BENCH_EVENT": str(EVENT_FILE),
           "BENCH_FUNCTION_DIR": str(function_dir), "BENCH_PROJECT_ROOT": str(PROJECT_ROOT),
           "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(runs):
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                                   cwd=function_dir)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"{backend} cold start failed:\n{completed.stderr[-3000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        samples.append({**result, "wall": wall})
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def warm(handler, event: dict, calls: int) -> tuple[list[float], list[float]]:
    # The request log still formats and writes each line, as on Lambda, just not to the table.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        return _warm(handler, event, calls)


def _warm(handler, event: dict, calls: int) -> tuple[list[float], list[float]]:
    for _ in range(20):
        handler(event, None)
    timings, cpu = [], []
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = handler(event, None)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response["statusCode"] == 200
    return timings, cpu


def stage_times(event: dict, calls: int) -> dict:
    import decoding
    import preprocessing
    from classifier import load

    data = decoding.decode_base64_image(json.loads(event["body"])["image"])
    model = load()
    stages = {"decode PNG": [], "preprocess (to_mnist)": [], "model (LiteRT)": []}
    for _ in range(calls):
        t0 = time.perf_counter()
        pixels = decoding.decode_image(data)
        t1 = time.perf_counter()
        digit = preprocessing.to_mnist(pixels)
        t2 = time.perf_counter()
        model.predict(digit[None])
        t3 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            stages[name].append(seconds)
    return {name: statistics.median(values) for name, values in stages.items()}


WORST_CASE_CHILD = r"""
import base64, json, os, sys, time
sys.path[:0] = [os.environ["BENCH_FUNCTION_DIR"]]
def peak_mb():  # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
import app
body = open(os.environ["BENCH_PICTURE"], "rb").read()
event = json.load(open(os.environ["BENCH_EVENT_PNG"]))
event["body"] = base64.b64encode(body).decode(); event["isBase64Encoded"] = True
event["headers"]["content-length"] = str(len(body))
before = peak_mb()
started = time.perf_counter()
response = app.handler(event, None)
seconds = time.perf_counter() - started
print(json.dumps({"status": response["statusCode"], "bytes": len(body), "seconds": seconds, "rss_before_mb": before,
                  "peak_rss_mb": peak_mb(), "event_bytes": len(json.dumps(event))}))
"""


def worst_case_picture(path: Path) -> None:
    """A 4096x4096 drawing (the most pixels accepted) with paper texture: a PNG of about 3.2 MB."""
    import numpy as np
    from PIL import Image

    sys.path[:0] = [str(PROJECT_ROOT)]
    from tests.support.drawing import canvas

    small = canvas(8, width=512, height=512, stroke=40)[:, :, 0]
    picture = np.asarray(Image.fromarray(small).resize((4096, 4096), Image.Resampling.BILINEAR)).copy()
    texture = np.random.default_rng(0).random(picture.shape) < 0.3
    picture[texture] = np.clip(picture[texture].astype(int) - 3, 0, 255)
    Image.fromarray(picture).save(path, format="PNG")


def worst_case(function_dir: Path, scratch: Path) -> dict:
    picture = scratch / "worst-case.png"
    worst_case_picture(picture)
    env = {**os.environ, "BENCH_FUNCTION_DIR": str(function_dir), "BENCH_PICTURE": str(picture),
           "BENCH_EVENT_PNG": str(PROJECT_ROOT / "events" / "predict-png.json"), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run([sys.executable, "-c", WORST_CASE_CHILD], capture_output=True, text=True, env=env,
                               cwd=function_dir)
    if completed.returncode != 0:
        sys.exit(f"worst case failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def sam_build(build_dir: Path) -> Path:
    """`sam build` into build_dir, as users deploy it."""
    completed = subprocess.run([str(Path(sys.executable).with_name("sam")), "build", "--build-dir", str(build_dir)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    if completed.returncode != 0:
        sys.exit(f"sam build failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return build_dir


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm-calls", type=int, default=1000)
    parser.add_argument("--build-dir", type=Path, help="an existing `sam build --build-dir` output to use")
    arguments = parser.parse_args()
    saved_model = next((str(path) for path in SAVED_MODEL_DIRS if path.is_dir()), None)
    if saved_model is None:
        sys.exit("no SavedModel for the TensorFlow baseline: run `make train` first")

    scratch = Path(tempfile.mkdtemp(prefix="function-bench-"))
    function_dir = (arguments.build_dir or sam_build(scratch / "build")) / "DigitsFunction"
    print(f"function latency, one run, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"event {EVENT_FILE.relative_to(PROJECT_ROOT)} (280x280 canvas PNG as a data URL)\n")

    cold = {backend: cold_start(backend, saved_model, function_dir, arguments.cold_runs)
            for backend in ("litert", "tensorflow")}
    print(f"Cold start (median of {arguments.cold_runs} fresh processes)")
    print(f"{'':38s}{'LiteRT':>13s}{'TensorFlow':>13s}{'ratio':>8s}")
    for key, label in (("import_and_load", "import app + load model"), ("first_request", "first request"),
                       ("wall", "total, process start to answer"), ("cpu", "CPU time used")):
        lite, tf = cold["litert"][key], cold["tensorflow"][key]
        print(f"{label:38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x")
    print(f"{'peak memory':38s}{cold['litert']['peak_rss_mb']:10.0f} MB{cold['tensorflow']['peak_rss_mb']:10.0f} MB"
          f"{cold['tensorflow']['peak_rss_mb'] / cold['litert']['peak_rss_mb']:7.1f}x")
    verdict = "met" if cold["litert"]["wall"] < 0.5 else "NOT met"
    print(f"goal: cold start under 500 ms -> {verdict} ({cold['litert']['wall'] * 1000:.0f} ms)\n")

    event = json.loads(EVENT_FILE.read_text())
    sys.path[:0] = [str(LAMBDA_DIR), str(PROJECT_ROOT)]
    import app

    lite_times, lite_cpu = warm(app.handler, event, arguments.warm_calls)
    stages = stage_times(event, min(arguments.warm_calls, 300))
    tf_calls = max(50, arguments.warm_calls // 4)
    tf_times, tf_cpu = warm(tf_handler(saved_model), event, tf_calls)

    print(f"Warm handler calls (LiteRT {arguments.warm_calls}, TensorFlow {tf_calls})")
    print(f"{'':38s}{'LiteRT':>13s}{'TensorFlow':>13s}{'ratio':>8s}")
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        lite, tf = percentile(lite_times, fraction), percentile(tf_times, fraction)
        print(f"{label:38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x")
    lite, tf = percentile(lite_cpu, 0.5), percentile(tf_cpu, 0.5)
    print(f"{'CPU time per call, p50':38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x")
    verdict = "met" if percentile(lite_times, 0.5) < 0.002 else "NOT met"
    print(f"goal: warm p50 under 2 ms -> {verdict} ({percentile(lite_times, 0.5) * 1000:.2f} ms)\n")

    print("Where a warm LiteRT request's time goes (median)")
    for name, seconds in stages.items():
        print(f"  {name:36s}{ms(seconds):>13s}")
    print()

    worst = worst_case(function_dir, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    print("Largest accepted request (4096x4096 PNG, fresh process)")
    print(f"  {'body / Lambda event':36s}{worst['bytes'] / 1e6:7.2f} MB / {worst['event_bytes'] / 1e6:.2f} MB "
          f"(Lambda allows 6.29 MB)   status {worst['status']}")
    print(f"  {'handler time':36s}{ms(worst['seconds']):>13s}")
    print(f"  {'peak memory before / after it':36s}{worst['rss_before_mb']:7.0f} MB / {worst['peak_rss_mb']:.0f} MB")


def tf_handler(saved_model: str):
    """A second app in this process, identical but serving the SavedModel with TensorFlow."""
    from mangum import Mangum

    import app as app_module
    import classifier
    import routes

    baseline = SavedModelClassifier(saved_model, classifier.model_dir() / classifier.CARD_FILE)
    tensorflow_app = app_module.create_app()
    tensorflow_app.dependency_overrides[routes.current_classifier] = lambda: baseline
    return Mangum(tensorflow_app, lifespan="off")


if __name__ == "__main__":
    main()
