"""Cold start and warm latency of the function's handler: LiteRT (what ships) against the
same handler serving the SavedModel with TensorFlow, measured in one run.

    .venv/bin/python bench/function_latency.py [--cold-runs 5] [--warm-calls 1000] [--build-dir DIR]

The request is what the page sends: a 280x280 canvas PNG as a data URL, in an API Gateway
HTTP API event (events/predict-data-url.json), passed to `app.handler` as Lambda does.

* cold start: a fresh Python process imports the app, loads the model and answers the
  first request, against a bare LiteRT process (NumPy and LiteRT imported, the model loaded
  and run once: the floor of any cold start) (wall clock from process start to the answer, so interpreter start-up is
  included, as on Lambda); median of --cold-runs processes. It runs the function as
  `sam build` packages it (lambda/Makefile: precompiled bytecode, nothing written at run
  time, as /var/task is read-only); pass --build-dir to reuse a build;
* warm: p50/p99 of --warm-calls handler calls in one process after 20 unmeasured ones;
* the floor: side by side in one process, interleaved call by call, decoding the PNG +
  one model call (what no request can avoid), preprocessing (now, and as it was at git
  revision --baseline, loaded from a temporary file), and the whole warm `app.handler`;
  the handler's time over the floor's;
* the largest request the limits let through (a 4 MB, 4096x4096 PNG): its time and the
  process's peak memory, which set the template's MemorySize and Timeout.

Goals: cold start under 0.5 s and at most 5x a bare LiteRT process; a warm handler within 2x the
floor; preprocessing a third of its time at --baseline.

    .venv/bin/python bench/function_latency.py --floor-only   # just the floor table, no sam build, no TensorFlow
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
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
EVENT_FILE = PROJECT_ROOT / "events" / "predict-data-url.json"
SAVED_MODEL_DIRS = [PROJECT_ROOT / "model" / "saved_model", Path("/tmp/quick/model/saved_model")]
BASELINE = "47d7398"  # the last revision before preprocessing worked in whole numbers at a bounded size


class LambdaContext:
    """What Lambda passes the handler; the request log reads it."""

    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_name = "DigitsFunction"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 5000

# Runs in a fresh process: import everything, load the model, answer one event. The built
# function comes first on its path (PYTHONPATH, as /var/task on Lambda), ahead of lambda/.
CHILD = r"""
import time
started = time.perf_counter()
import json, os, resource
if os.environ["BENCH_BACKEND"] == "tensorflow":
    from bench.function_latency import use_saved_model
    use_saved_model(os.environ["BENCH_SAVED_MODEL"])
import app
imported = time.perf_counter()
event = json.load(open(os.environ["BENCH_EVENT"]))
class Context:
    aws_request_id, function_name, memory_limit_in_mb = "cold", "DigitsFunction", 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"
    def get_remaining_time_in_millis(self):
        return 5000
response = app.handler(event, Context())
answered = time.perf_counter()
assert response["statusCode"] == 200, response
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"import_and_load": imported - started, "first_request": answered - imported,
                  "cpu": usage.ru_utime + usage.ru_stime, "digit": json.loads(response["body"])["digit"],
                  "peak_rss_mb": peak / 1024}))
"""


# The floor of any cold start: a fresh process that imports NumPy and LiteRT, loads the model
# and runs it once on one input, and nothing else (no web framework, no decoding, no logs).
BARE_CHILD = r"""
import time
started = time.perf_counter()
import json, os, resource
import numpy as np
from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_content=open("model/digits.tflite", "rb").read(), num_threads=1)
interpreter.allocate_tensors()
imported = time.perf_counter()
interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.zeros((1, 28, 28, 1), np.float32))
interpreter.invoke()
digit = int(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).argmax())
answered = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"import_and_load": imported - started, "first_request": answered - imported,
                  "cpu": usage.ru_utime + usage.ru_stime, "digit": digit, "peak_rss_mb": peak / 1024}))
"""


class SavedModelClassifier:
    """The baseline: the same interface as classifier.Classifier, running TensorFlow."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        import model_card
        from settings import settings

        self._tf = tf
        self._serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
        self.card = card = model_card.read(settings.model_dir)
        self.version, self.classes, self.size = card.version, list(card.classes), card.size
        self.uncertainty = card.uncertainty
        self.predict(__import__("numpy").zeros((1, 28, 28, 1), "float32"))

    def predict(self, images):
        batch = self._tf.constant(images.reshape(-1, 28, 28, 1).astype("float32"))
        return self._serve(image=batch)["probabilities"].numpy()


def use_saved_model(saved_model_dir: str) -> None:
    """Make the app (imported afterwards) serve the SavedModel through TensorFlow."""
    import functools

    import classifier

    classifier.load = functools.lru_cache(maxsize=1)(lambda: SavedModelClassifier(saved_model_dir))


def cold_start(backend: str, saved_model: str, function_dir: Path, runs: int) -> dict:
    samples = []
    env = {**os.environ, "BENCH_BACKEND": backend, "BENCH_SAVED_MODEL": saved_model, "BENCH_EVENT": str(EVENT_FILE),
           "PYTHONPATH": str(function_dir), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(runs):
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-c", BARE_CHILD if backend == "bare" else CHILD],
                                   capture_output=True, text=True, env=env, cwd=function_dir)
        wall = time.perf_counter() - started
        if completed.returncode != 0:
            sys.exit(f"{backend} cold start failed:\n{completed.stderr[-3000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        samples.append({**result, "wall": wall})
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextlib.contextmanager
def quiet():
    """The request log still formats and writes each line, as on Lambda, just not to the table."""
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        os.dup2(devnull.fileno(), 1)  # also for loggers that hold the original stdout
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def warm(handler, event: dict, calls: int) -> tuple[list[float], list[float]]:
    with quiet():
        return _warm(handler, event, calls)


def _warm(handler, event: dict, calls: int) -> tuple[list[float], list[float]]:
    context = LambdaContext()
    for _ in range(20):
        handler(event, context)
    timings, cpu = [], []
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = handler(event, context)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response["statusCode"] == 200
    return timings, cpu


def baseline_preprocessing(revision: str):
    """lambda/preprocessing.py as it was at git `revision`, as a module; None if git cannot show it."""
    shown = subprocess.run(["git", "show", f"{revision}:lambda/preprocessing.py"], cwd=PROJECT_ROOT,
                           capture_output=True)
    if shown.returncode != 0:
        return None
    with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as file:
        file.write(shown.stdout)
    spec = importlib.util.spec_from_file_location("baseline_preprocessing", file.name)  # an old revision beside today's
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.unlink(file.name)
    return module


def floor_table(handler, event: dict, calls: int, baseline) -> dict[str, list[float]]:
    """Each step of a warm request, and the whole handler, interleaved call by call so a busy
    machine slows them alike: {step: [seconds per call]}."""
    import decoding
    import preprocessing
    from classifier import load

    data = decoding.decode_base64_image(json.loads(event["body"])["image"])
    model = load()
    pixels = decoding.decode_image(data)
    digit = preprocessing.to_mnist(pixels)
    steps = {"decode PNG": lambda: decoding.decode_image(data),
             "model call (LiteRT)": lambda: model.predict(digit[None]),
             "preprocessing, now": lambda: preprocessing.to_mnist(pixels)}
    if baseline is not None:
        steps["preprocessing, before"] = lambda: baseline.to_mnist(pixels)
    context = LambdaContext()
    steps["app.handler, whole request"] = lambda: handler(event, context)
    times: dict[str, list[float]] = {name: [] for name in steps}
    with quiet():
        for round_ in range(calls + 20):
            for name, step in steps.items():
                started = time.perf_counter()
                step()
                if round_ >= 20:
                    times[name].append(time.perf_counter() - started)
    times["decode + model call (the floor)"] = [a + b for a, b in zip(times["decode PNG"],
                                                                      times["model call (LiteRT)"], strict=True)]
    return times


def print_floor_table(times: dict[str, list[float]], baseline_revision: str) -> None:
    print("The floor and the rest, one process, interleaved call by call "
          f"({len(next(iter(times.values())))} rounds)")
    print(f"{'':42s}{'p50':>12s}{'p99':>12s}")
    order = ["decode PNG", "model call (LiteRT)", "decode + model call (the floor)", "preprocessing, now",
             "preprocessing, before", "app.handler, whole request"]
    for name in order:
        if name in times:
            label = f"{name} ({baseline_revision})" if name == "preprocessing, before" else name
            print(f"{label:42s}{ms(percentile(times[name], 0.5)):>12s}{ms(percentile(times[name], 0.99)):>12s}")
    floor = percentile(times["decode + model call (the floor)"], 0.5)
    whole = percentile(times["app.handler, whole request"], 0.5)
    now = percentile(times["preprocessing, now"], 0.5)
    print(f"{'handler / floor (p50)':42s}{whole / floor:11.2f}x   goal: within 2x -> "
          f"{'met' if whole / floor <= 2 else 'NOT met'}")
    if "preprocessing, before" in times:
        before = percentile(times["preprocessing, before"], 0.5)
        print(f"{'preprocessing now / before (p50)':42s}{now / before:11.2f}x   goal: at most 1/3 -> "
              f"{'met' if now / before <= 1 / 3 else 'NOT met'}")
    print(f"{'the rest: handler - floor - preprocessing':42s}{ms(whole - floor - now):>12s}"
          "   (framework, request log, reading the body)\n")


# The built function first on the path, as in CHILD.
WORST_CASE_CHILD = r"""
import base64, json, os, time
def peak_mb():  # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
import app
body = open(os.environ["BENCH_PICTURE"], "rb").read()
event = json.load(open(os.environ["BENCH_EVENT_PNG"]))
event["body"] = base64.b64encode(body).decode(); event["isBase64Encoded"] = True
event["headers"]["content-length"] = str(len(body))
class Context:
    aws_request_id, function_name, memory_limit_in_mb = "largest", "DigitsFunction", 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"
    def get_remaining_time_in_millis(self):
        return 5000
before = peak_mb()
started = time.perf_counter()
response = app.handler(event, Context())
seconds = time.perf_counter() - started
print(json.dumps({"status": response["statusCode"], "bytes": len(body), "seconds": seconds, "rss_before_mb": before,
                  "peak_rss_mb": peak_mb(), "event_bytes": len(json.dumps(event))}))
"""


def worst_case_picture(path: Path) -> None:
    """A 4096x4096 drawing (the most pixels accepted) with paper texture: a PNG of about 3.2 MB."""
    import numpy as np
    from PIL import Image

    from tests.support.drawing import canvas

    small = canvas(8, width=512, height=512, stroke=40)[:, :, 0]
    picture = np.asarray(Image.fromarray(small).resize((4096, 4096), Image.Resampling.BILINEAR)).copy()
    texture = np.random.default_rng(0).random(picture.shape) < 0.3
    picture[texture] = np.clip(picture[texture].astype(int) - 3, 0, 255)
    Image.fromarray(picture).save(path, format="PNG")


def worst_case(function_dir: Path, scratch: Path) -> dict:
    picture = scratch / "worst-case.png"
    worst_case_picture(picture)
    env = {**os.environ, "PYTHONPATH": str(function_dir), "BENCH_PICTURE": str(picture),
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
    parser.add_argument("--floor-rounds", type=int, default=500, help="interleaved rounds for the floor table")
    parser.add_argument("--baseline", default=BASELINE, help="git revision whose preprocessing to time ('' for none)")
    parser.add_argument("--floor-only", action="store_true", help="only the floor table: no sam build, no TensorFlow")
    arguments = parser.parse_args()
    event = json.loads(EVENT_FILE.read_text())
    baseline = baseline_preprocessing(arguments.baseline) if arguments.baseline else None
    if arguments.floor_only:
        print(f"function latency, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
              f"event {EVENT_FILE.relative_to(PROJECT_ROOT)} (280x280 canvas PNG as a data URL)\n")
        import app

        print_floor_table(floor_table(app.handler, event, arguments.floor_rounds, baseline), arguments.baseline)
        return
    saved_model = next((str(path) for path in SAVED_MODEL_DIRS if path.is_dir()), None)
    if saved_model is None:
        sys.exit("no SavedModel for the TensorFlow baseline: run `make train` first")

    scratch = Path(tempfile.mkdtemp(prefix="function-bench-"))
    function_dir = (arguments.build_dir or sam_build(scratch / "build")) / "DigitsFunction"
    print(f"function latency, one run, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"event {EVENT_FILE.relative_to(PROJECT_ROOT)} (280x280 canvas PNG as a data URL)\n")

    cold = {backend: cold_start(backend, saved_model, function_dir, arguments.cold_runs)
            for backend in ("bare", "litert", "tensorflow")}
    print(f"Cold start (median of {arguments.cold_runs} fresh processes)")
    print(f"{'':38s}{'LiteRT':>13s}{'TensorFlow':>13s}{'ratio':>8s}")
    for key, label in (("import_and_load", "import app + load model"), ("first_request", "first request"),
                       ("wall", "total, process start to answer"), ("cpu", "CPU time used")):
        lite, tf = cold["litert"][key], cold["tensorflow"][key]
        print(f"{label:38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x")
    print(f"{'peak memory':38s}{cold['litert']['peak_rss_mb']:10.0f} MB{cold['tensorflow']['peak_rss_mb']:10.0f} MB"
          f"{cold['tensorflow']['peak_rss_mb'] / cold['litert']['peak_rss_mb']:7.1f}x")
    verdict = "met" if cold["litert"]["wall"] < 0.5 else "NOT met"
    print(f"goal: cold start under 500 ms -> {verdict} ({cold['litert']['wall'] * 1000:.0f} ms)")
    ratio = cold["litert"]["wall"] / cold["bare"]["wall"]
    print(f"a bare LiteRT process (NumPy, LiteRT, the model, one inference): {ms(cold['bare']['wall'])}, "
          f"the function {ratio:.1f}x it -> goal at most 5x {'met' if ratio <= 5 else 'NOT met'}\n")

    import app  # lambda/'s, as `make serve` runs it

    lite_times, lite_cpu = warm(app.handler, event, arguments.warm_calls)
    floor = floor_table(app.handler, event, arguments.floor_rounds, baseline)
    tf_calls = max(50, arguments.warm_calls // 4)
    tf_times, tf_cpu = warm(tf_handler(saved_model), event, tf_calls)

    print(f"Warm handler calls (LiteRT {arguments.warm_calls}, TensorFlow {tf_calls})")
    print(f"{'':38s}{'LiteRT':>13s}{'TensorFlow':>13s}{'ratio':>8s}")
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        lite, tf = percentile(lite_times, fraction), percentile(tf_times, fraction)
        print(f"{label:38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x")
    lite, tf = percentile(lite_cpu, 0.5), percentile(tf_cpu, 0.5)
    print(f"{'CPU time per call, p50':38s}{ms(lite):>13s}{ms(tf):>13s}{tf / lite:7.1f}x\n")

    print_floor_table(floor, arguments.baseline)

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
    import observability
    import pipeline

    baseline = SavedModelClassifier(saved_model)
    tensorflow_app = app_module.create_app()
    tensorflow_app.dependency_overrides[pipeline.current_classifier] = lambda: baseline
    return observability.lambda_handler(Mangum(tensorflow_app, lifespan="off"))  # as app.handler is


if __name__ == "__main__":
    main()
