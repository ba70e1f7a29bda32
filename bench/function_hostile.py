"""The function under hostile input: what each picture and request in tests/support/hostile.py
costs, against the page's own canvas and against the function before it was hardened
("Unbreakable, for real"), measured in one run.

    .venv/bin/python bench/function_hostile.py [--repeats 3] [--baseline REV] [--no-server] [--container]
                                               [--only SUBSTRING] [--cpu-limit 120]

The inputs: REFUSED and ACCEPTED pictures, sent raw to POST /predict with the Content-Type
their first bytes say (PNG, JPEG, WebP, GIF, BMP); PHOTOS of paper (tests/support/photos.py),
which the paper stage normalises, up to the 12 megapixels a phone sends; REQUESTS, JSON bodies
and header attacks sent as tests/support/hostile.py describes them; and the page's canvas, the
yardstick.

Part A, the Lambda path, one fresh Python process per input: it imports the app, answers 20
canvases through `app.handler` (every lazy start-up cost paid), times 30 more, then sends the
input, as an API Gateway HTTP API event (events/predict-png.json, the body base64-encoded as
API Gateway sends it, header attacks among the event's headers), and prints:

* status: what the function answered; in the "now" columns, the status tests/support/hostile.py
  expects follows in brackets, marked with !, when they differ;
* peak MB: the process's peak resident set during the input (VmHWM, its mark reset to the
  current size just before, /proc/self/clear_refs) minus its resident set just before
  (VmRSS): everything the input made the process hold, Pillow's and NumPy's included;
* CPU ms: the CPU time of the whole request (every thread), the median of --repeats calls,
  fewer once they add up to 3 s; x canvas: its ratio to the canvas's median, timed in the
  same process just before. CPU time, not wall time: on a machine shared with other jobs,
  waiting for a core would swamp what is measured.

A fresh process per input, so that no input's leftovers (a grown heap, a loaded plugin) are
counted against the next. A CPU limit (RLIMIT_CPU, --cpu-limit seconds of the input's own
CPU) and a wall timeout stop an input that runs away; its CPU then reads "> limit" and its
peak is what the process had reached when it was stopped, if it could still say.

--baseline REV (by default the revision before the hardening; '' to skip) exports lambda/ at
REV into a temporary folder and measures every input through that folder's `app.handler` too,
with the same model (DIGITS_MODEL_DIR), in the "before" columns.

Part B (skipped with --no-server), the function as `make serve` runs it: one uvicorn process
on a free loopback port (tests/support/servers.py's api_server: make serve's command without
the access log; the request log goes to /dev/null), warmed by 20 canvases. /health's idle
latency is the median and p99 of 200 sequential GETs on one kept-alive connection; then each
input is sent --repeats times from a thread while a second client polls /health as fast as it
answers: the input's wall time (median) and the slowest /health answer during any of its
sends, as a ratio to /health's idle median.

--container (optional, goal 3, written elsewhere) runs the image `make image` built (its
content tag) as the Deployment runs it and puts it under tests/support/hostile_load.py's
load (run_hostile_load, with its own defaults), then prints that module's rows; when the module
or the image is missing it says so.

Goals, printed as one table at the end:
* every hostile input and every accepted picture costs at most 100 MB over the idle process
  and 1 s of CPU (moonshot: 50 MB, 0.3 s), and nothing is answered with a status >= 500;
* the 64 KB JSON string of escaped quotes is answered in under 50 ms (wall, under uvicorn);
  /health during any single hostile request (a refused picture or a request attack) stays
  within 20x its idle median; the accepted pictures are shown against the same figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tests.support import hostile
from tests.support.servers import api_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_DIR = PROJECT_ROOT / "lambda"

BASELINE = "df548fe"  # the last revision before the function was hardened against hostile input
CPU_LIMIT_SECONDS = 120
MEMORY_GOAL_MB, MEMORY_MOONSHOT_MB = 100, 50
CPU_GOAL_SECONDS, CPU_MOONSHOT_SECONDS = 1.0, 0.3
QUOTES_GOAL_MS = 50
HEALTH_GOAL_RATIO = 20
HEALTH_IDLE_CALLS = 200


# --- the inputs ----------------------------------------------------------------------------------

CANVAS = "the page's canvas (the yardstick)"
GROUPS = ("the page's canvas", "refused pictures", "accepted pictures", "requests")


@dataclass(frozen=True)
class Input:
    group: str
    name: str
    path: str
    body: bytes
    expected: int
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def picture(group: str, name: str, body: bytes, expected: int) -> Input:
    return Input(group, name, "/predict", body, expected, hostile.media_type(body))


def all_inputs(only: str) -> list[Input]:
    """The canvas, then every input of tests/support/hostile.py whose name contains `only`."""

    def wanted(items: dict) -> list:
        return [(name, value) for name, value in items.items() if only.lower() in name.lower()]

    inputs = [picture("the page's canvas", CANVAS, hostile.normal_canvas(), 200)]
    inputs += [picture("refused pictures", name, build(), status) for name, (build, status) in wanted(hostile.REFUSED)]
    inputs += [picture("accepted pictures", name, build(), 200) for name, build in wanted(hostile.ACCEPTED)]
    inputs += [picture(group, name, build(), status) for name, (group, build, status) in wanted(PHOTOS)]
    inputs += [Input("requests", name, request.path, request.body, request.status, request.content_type,
                     request.headers) for name, request in wanted(hostile.REQUESTS)]
    return inputs


def paper_photo(kind: str, size: tuple[int, int], digits: int, sent: tuple[int, int] | None = None) -> bytes:
    """A photo of paper (tests/support/photos.py) as a JPEG, taken at `size`, sent at `sent`."""
    from model.data import load_mnist
    from tests.support import photos

    mnist = load_mnist(allow_download=False)
    made = photos.photo(np.random.default_rng(7), kind, mnist.x_test, mnist.y_test, digits=digits, size=size,
                        table=True)
    if sent is None:
        return made.jpeg
    return photos.jpeg_of(np.asarray(Image.fromarray(made.pixels).resize(sent, Image.Resampling.BILINEAR)), 90)


# Photos of paper, which the paper stage normalises (lambda/paper.py): (group, body, status).
PHOTOS: dict[str, tuple[str, Callable[[], bytes], int]] = {
    "photo of squared paper on a table, 1600x1200 JPEG": (
        "accepted pictures", lambda: paper_photo("squared", (1600, 1200), 3), 200),
    "photo of a shadowed sheet, 12 MP (4000x3000) JPEG": (
        "accepted pictures", lambda: paper_photo("shadow", (1600, 1200), 3, sent=(4000, 3000)), 200),
    "photo of a blank ruled sheet, 1600x1200 JPEG": (
        "refused pictures", lambda: paper_photo("ruled", (1600, 1200), 0), 422),
}


# --- Part A: one input through app.handler, in a fresh process --------------------------------------

# The function under test comes first on the child's path (PYTHONPATH, and its folder is the
# working directory), ahead of the lambda/ that .venv's .pth adds.
CHILD = r"""
import gc, json, os, re, resource, signal, statistics
import app
from tests.support.events import LambdaContext, post_event

results = open(os.environ["BENCH_RESULTS"], "w", buffering=1)

def report(**figures):  # a line a step: a process stopped half-way still says what it measured
    results.write(json.dumps(figures) + "\n")

def megabytes(key):
    return int(re.search(key + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

def cpu_seconds():
    # getrusage, not time.process_time: once RLIMIT_CPU arms the process's CPU timer, Linux
    # answers CLOCK_PROCESS_CPUTIME_ID from that timer, in steps of a scheduler tick.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def event(spec):
    headers = {"content-type": spec["content_type"], **{name.lower(): value for name, value in spec["headers"].items()}}
    return post_event(spec["path"], open(spec["body"], "rb").read(), headers)

def answer(one):
    return app.handler(one, LambdaContext())["statusCode"]

canvas, hostile = (event(json.loads(os.environ[key])) for key in ("BENCH_CANVAS", "BENCH_INPUT"))
for _ in range(20):
    answer(canvas)
canvas_seconds = []
for _ in range(30):
    started = cpu_seconds()
    answer(canvas)
    canvas_seconds.append(cpu_seconds() - started)
gc.collect()
idle = megabytes("VmRSS")
report(canvas_seconds=statistics.median(canvas_seconds), idle_mb=idle)

def stopped(signum, frame):  # SIGXCPU, at the soft CPU limit
    report(stopped=True, peak_mb=megabytes("VmHWM") - idle)
    os._exit(3)

signal.signal(signal.SIGXCPU, stopped)
limit = int(cpu_seconds()) + 1 + int(os.environ["BENCH_CPU_LIMIT"])
resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 10))  # the hard limit kills what SIGXCPU cannot stop
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from the current size
spent = 0.0
for _ in range(int(os.environ["BENCH_REPEATS"])):
    started = cpu_seconds()
    status = answer(hostile)
    seconds = cpu_seconds() - started
    report(status=status, seconds=seconds, peak_mb=megabytes("VmHWM") - idle)
    spent += seconds
    if spent > 3.0:
        break
"""


@dataclass
class Cost:
    """What one input cost one process; None where the process could not tell."""

    canvas_seconds: float | None = None
    status: int | None = None
    peak_mb: float | None = None
    seconds: float | None = None
    stopped: bool = False  # by the CPU limit or the wall timeout
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.canvas_seconds if self.seconds is not None and self.canvas_seconds else None


def spec(item: Input, body_file: Path) -> str:
    return json.dumps({"path": item.path, "body": str(body_file), "content_type": item.content_type,
                       "headers": item.headers})


def measure(function_dir: Path, item: Input, body_file: Path, canvas_spec: str, repeats: int,
            cpu_limit: int) -> Cost:
    results = body_file.with_suffix(".results")
    env = {**os.environ, "PYTHONPATH": str(function_dir), "BENCH_RESULTS": str(results),
           "BENCH_CANVAS": canvas_spec, "BENCH_INPUT": spec(item, body_file),
           "BENCH_REPEATS": str(repeats), "BENCH_CPU_LIMIT": str(cpu_limit),
           "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "DIGITS_MODEL_DIR": str(LAMBDA_DIR / "model"), "DIGITS_WEB_DIR": str(PROJECT_ROOT / "web")}
    # The request log is written as on Lambda, to stdout, and stdout goes nowhere.
    try:
        completed = subprocess.run([sys.executable, "-c", CHILD], cwd=function_dir, env=env, text=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=cpu_limit + 120)
        returncode, stderr = completed.returncode, completed.stderr
    except subprocess.TimeoutExpired:
        returncode, stderr = None, ""
    lines = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    results.unlink(missing_ok=True)
    return cost_of(lines, returncode, stderr)


def cost_of(lines: list[dict], returncode: int | None, stderr: str) -> Cost:
    cost = Cost()
    calls = [line for line in lines if "status" in line]
    if lines:
        cost.canvas_seconds = lines[0].get("canvas_seconds")
    if calls:
        cost.status = calls[0]["status"]
        cost.seconds = statistics.median(call["seconds"] for call in calls)
    peaks = [line["peak_mb"] for line in lines if "peak_mb" in line]
    cost.peak_mb = max(peaks) if peaks else None
    # Stopped: our own SIGXCPU exit (3), killed by the signals of the CPU limit, or the wall timeout.
    cost.stopped = not calls and (returncode in (3, -9, -24) or returncode is None)
    if returncode not in (0, None) and not cost.stopped:
        cost.error = (stderr.strip().splitlines() or [f"exit {returncode}"])[-1]
    return cost


def baseline_function(revision: str, scratch: Path) -> Path | None:
    """lambda/ as it was at `revision`, in scratch; None if git cannot export it."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, "lambda"], cwd=PROJECT_ROOT,
                             capture_output=True)
    if archive.returncode != 0:
        print(f"no baseline: git archive {revision} lambda: {archive.stderr.decode().strip()}", file=sys.stderr)
        return None
    folder = scratch / "baseline"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "lambda"


# --- Part A's table ------------------------------------------------------------------------------

NAME_WIDTH = 52


def status_cell(status: int | None, expected: int | None) -> str:
    if status is None:
        return "-"
    return str(status) if expected is None or status == expected else f"{status} [{expected}] !"


def cost_cells(cost: Cost, expected: int | None, cpu_limit: int) -> str:
    if cost.error:
        return f"  error: {cost.error[:60]}"
    # A stopped input's peak is what the process had reached when stopped: at least that much.
    peak = f"{'>= ' if cost.stopped else ''}{cost.peak_mb:.1f}" if cost.peak_mb is not None else "?"
    if cost.seconds is not None:
        cpu, ratio = f"{cost.seconds * 1000:10.1f}", f"{cost.ratio:9.1f}x"
    else:  # stopped
        cpu = f"{f'> {cpu_limit} s':>10s}"
        ratio = f"{f'> {cpu_limit / cost.canvas_seconds:,.0f}x':>10s}" if cost.canvas_seconds else f"{'?':>10s}"
    return f"{status_cell(cost.status, expected):>13s}{peak:>9s}{cpu}{ratio}"


def grouped(inputs: list[Input]):
    """(group heading or None, input) in table order: a heading before each group's first row."""
    for group in GROUPS:
        for index, item in enumerate(item for item in inputs if item.group == group):
            yield (group if index == 0 else None), item


def lambda_path(inputs: list[Input], functions: dict[str, Path], bodies: dict[str, Path], repeats: int,
                cpu_limit: int) -> dict[str, list[Cost]]:
    """Part A: each input through each function's app.handler, a row printed as it is measured."""
    columns = f"{'status':>13s}{'peak MB':>9s}{'CPU ms':>10s}{'x canvas':>10s}"
    print(f"{'':{NAME_WIDTH + 11}s}" + "   ".join(f"{title:^42s}" for title in functions))
    print(f"{'input':{NAME_WIDTH}s}{'bytes':>11s}" + "   ".join(columns for _ in functions))
    canvas_spec = spec(inputs[0], bodies[CANVAS])
    costs = {}
    for heading, item in grouped(inputs):
        if heading:
            print(heading)
        costs[item.name] = [measure(function, item, bodies[item.name], canvas_spec, repeats, cpu_limit)
                            for function in functions.values()]
        now, *before = costs[item.name]
        cells = [cost_cells(now, item.expected, cpu_limit)] + [cost_cells(cost, None, cpu_limit) for cost in before]
        print(f"  {item.name:{NAME_WIDTH - 2}s}{len(item.body):>11,d}" + "   ".join(cells), flush=True)
    return costs


# --- Part B: under uvicorn, /health while each input is answered -------------------------------------


@dataclass
class Served:
    status: int
    wall_seconds: float
    worst_health_seconds: float
    health_calls: int


def health_seconds(client: httpx.Client) -> float:
    started = time.perf_counter()
    client.get("/health").raise_for_status()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def http_headers(item: Input) -> dict[str, str | bytes]:
    # As a client puts them on the wire: header bytes beyond ASCII are sent as Latin-1.
    extra = {name: value.encode("latin-1") for name, value in item.headers.items()}
    return {"Content-Type": item.content_type, **extra}


def serve_once(item: Input, client: httpx.Client, health: httpx.Client) -> tuple[int, float, list[float]]:
    """Send `item` from a thread while `health` polls /health: (status, wall seconds, /health seconds)."""
    sent, answered, outcome = threading.Event(), threading.Event(), {}

    def send() -> None:
        sent.set()
        started = time.perf_counter()
        try:
            outcome["status"] = client.post(item.path, content=item.body, headers=http_headers(item)).status_code
        finally:
            outcome["seconds"] = time.perf_counter() - started
            answered.set()

    sender = threading.Thread(target=send)
    sender.start()
    sent.wait()
    latencies = [health_seconds(health)]
    while not answered.is_set():
        latencies.append(health_seconds(health))
    sender.join()
    return outcome.get("status", 0), outcome["seconds"], latencies


def serve(item: Input, client: httpx.Client, health: httpx.Client, repeats: int) -> Served:
    sends = [serve_once(item, client, health) for _ in range(repeats)]
    return Served(status=max(status for status, _, _ in sends),
                  wall_seconds=statistics.median(seconds for _, seconds, _ in sends),
                  worst_health_seconds=max(max(latencies) for _, _, latencies in sends),
                  health_calls=sum(len(latencies) for _, _, latencies in sends))


def uvicorn_path(inputs: list[Input], repeats: int) -> tuple[float, dict[str, Served]]:
    """Part B: /health's idle median, then each input while /health is polled, a row printed as it is measured."""
    with (api_server() as url, httpx.Client(base_url=url, timeout=60) as client,
          httpx.Client(base_url=url, timeout=60) as health):
        for _ in range(20):  # every lazy start-up cost paid, as in part A
            client.post(inputs[0].path, content=inputs[0].body, headers=http_headers(inputs[0])).raise_for_status()
            health_seconds(health)
        idle = [health_seconds(health) for _ in range(HEALTH_IDLE_CALLS)]
        median = statistics.median(idle)
        print(f"\nUnder uvicorn, as `make serve` runs it: /health idle {median * 1000:.2f} ms median, "
              f"{percentile(idle, 0.99) * 1000:.2f} ms p99 ({HEALTH_IDLE_CALLS} GETs on one connection); "
              f"each input sent {repeats}x while a second client polls /health")
        print(f"{'input':{NAME_WIDTH}s}{'status':>13s}{'wall ms':>10s}{'worst /health ms':>18s}{'x idle':>9s}"
              f"{'/health calls':>15s}")
        served = {}
        for heading, item in grouped(inputs):
            if heading:
                print(heading)
            served[item.name] = one = serve(item, client, health, repeats)
            print(f"  {item.name:{NAME_WIDTH - 2}s}{status_cell(one.status, item.expected):>13s}"
                  f"{one.wall_seconds * 1000:10.1f}{one.worst_health_seconds * 1000:18.2f}"
                  f"{one.worst_health_seconds / median:8.1f}x{one.health_calls:15d}", flush=True)
    return median, served


# --- the goals -----------------------------------------------------------------------------------


def verdict(value: float, goal: float, moonshot: float | None = None) -> str:
    if value > goal:
        return "NOT met"
    if moonshot is None:
        return "met"
    return "met, not moonshot" if value > moonshot else "met, moonshot too"


def largest(costs: dict[str, Cost], key) -> tuple[str, Cost] | None:
    """The hostile input (not the canvas) with the largest key(cost), or None if none was measured."""
    known = [(name, cost) for name, cost in costs.items() if name != CANVAS and not cost.error]
    return max(known, key=lambda pair: key(pair[1]), default=None)


def memory_row(costs: dict[str, Cost]) -> tuple[str, str, float | None]:
    """(worst input, figure, MB) for the peak memory; a stopped input's peak is a lower bound."""
    name, cost = largest(costs, lambda cost: cost.peak_mb or 0.0) or ("", Cost())
    if cost.peak_mb is None:
        return name, "?", None
    return name, f"{'>= ' if cost.stopped else ''}{cost.peak_mb:,.1f} MB", cost.peak_mb


def cpu_row(costs: dict[str, Cost], cpu_limit: int) -> tuple[str, str, float | None]:
    """(worst input, figure, seconds) for the CPU time; a stopped input counts as the limit."""
    name, cost = largest(costs, lambda cost: cpu_limit if cost.stopped else cost.seconds or 0.0) or ("", Cost())
    if cost.stopped:
        return name, f"> {cpu_limit} s", float(cpu_limit)
    if cost.seconds is None:
        return name, "?", None
    return name, f"{cost.seconds * 1000:,.1f} ms", cost.seconds


def server_errors(statuses: list[int | None]) -> int:
    return sum(1 for status in statuses if status is not None and status >= 500)


GOAL_COLUMNS = "{:50s}{:>14s}{:>18s}{:>24s}   {:19s}{}"


def print_goals(inputs: list[Input], costs: dict[str, list[Cost]], baseline: str | None, cpu_limit: int,
                served: tuple[float, dict[str, Served]] | None) -> None:
    now = {name: pair[0] for name, pair in costs.items()}
    before = {name: pair[1] for name, pair in costs.items() if len(pair) > 1}
    memory_name, memory_figure, memory_mb = memory_row(now)
    cpu_name, cpu_figure, cpu_seconds = cpu_row(now, cpu_limit)
    statuses = [cost.status for cost in now.values()] + [one.status for one in (served[1] if served else {}).values()]
    expected = sum(1 for item in inputs if now[item.name].status == item.expected)
    rows = [
        ("peak memory over idle, worst input (Lambda path)", memory_figure, memory_row(before)[1] if before else "",
         f"<= {MEMORY_GOAL_MB} MB ({MEMORY_MOONSHOT_MB} MB)",
         verdict(memory_mb, MEMORY_GOAL_MB, MEMORY_MOONSHOT_MB) if memory_mb is not None else "?", memory_name),
        ("CPU time, worst input (Lambda path)", cpu_figure, cpu_row(before, cpu_limit)[1] if before else "",
         f"<= {CPU_GOAL_SECONDS:g} s ({CPU_MOONSHOT_SECONDS:g} s)",
         verdict(cpu_seconds, CPU_GOAL_SECONDS, CPU_MOONSHOT_SECONDS) if cpu_seconds is not None else "?", cpu_name),
        ("responses >= 500, any input" + (", Lambda path + uvicorn" if served else ""), str(server_errors(statuses)),
         str(server_errors([cost.status for cost in before.values()])) if before else "", "0",
         "met" if server_errors(statuses) == 0 else "NOT met", ""),
        ("statuses as tests/support/hostile.py expects", f"{expected} of {len(inputs)}", "", "all",
         "met" if expected == len(inputs) else "NOT met", ""),
        *(server_goals(inputs, *served) if served else []),
    ]
    print("\nGoals, one run, " + ("Lambda path now and before" if before else "Lambda path") +
          (", uvicorn now" if served else ""))
    print(GOAL_COLUMNS.format("", "now", f"before ({baseline})" if before else "", "goal (moonshot)", "",
                              "worst input"))
    for row in rows:
        print(GOAL_COLUMNS.format(*row))


def server_goals(inputs: list[Input], idle_median: float, served: dict[str, Served]) -> list[tuple[str, ...]]:
    rows = []
    quotes = {name: one for name, one in served.items() if name.startswith("64 KB JSON string of escaped quotes")}
    if quotes:
        name, one = max(quotes.items(), key=lambda pair: pair[1].wall_seconds)
        milliseconds = one.wall_seconds * 1000
        rows.append(("64 KB JSON string of escaped quotes, wall (uvicorn)", f"{milliseconds:,.1f} ms", "",
                     f"< {QUOTES_GOAL_MS} ms", "met" if milliseconds < QUOTES_GOAL_MS else "NOT met", name))
    # Hostile: what is refused and the attacks; the accepted pictures, large as they are, apart.
    for title, groups in (("/health during the worst single hostile request", ("refused pictures", "requests")),
                          ("/health during the worst accepted picture", ("accepted pictures",))):
        during = {item.name: served[item.name] for item in inputs if item.group in groups}
        if during:
            name, one = max(during.items(), key=lambda pair: pair[1].worst_health_seconds)
            ratio = one.worst_health_seconds / idle_median
            rows.append((title, f"{ratio:,.1f}x idle", "", f"<= {HEALTH_GOAL_RATIO}x idle",
                         verdict(ratio, HEALTH_GOAL_RATIO), name))
    return rows


# --- goal 3, the container under load (tests/support/hostile_load.py, written elsewhere) -----------


def container_rows() -> tuple[list[tuple[str, str, str]], str]:
    """hostile_load's (what, measured, met) rows against the image as the Deployment runs it, or
    ([], why not) while the module or the image is missing."""
    if importlib.util.find_spec("tests.support.hostile_load") is None:
        return [], "tests/support/hostile_load.py does not exist yet"
    if shutil.which("docker") is None:
        return [], "Docker is not installed"
    from deploy.docker.image import content_tag, image_exists
    from tests.support.containers import run_container
    from tests.support.hostile_load import run_hostile_load

    tag = content_tag()
    if not image_exists(tag):
        return [], f"no image {tag} built from the current files; run `make image` first"
    with run_container(tag) as container:
        return run_hostile_load(container.url, container.id).rows(), f"image {tag}"


def print_container(rows: list[tuple[str, str, str]], note: str) -> None:
    if not rows:
        print(f"\nContainer under load: unavailable ({note})")
        return
    print(f"\nContainer under load, tests/support/hostile_load.py ({note})")
    print(f"{'':70s} {'measured':60s} met")
    for name, measured, met in rows:
        print(f"{name:70s} {measured:60s} {met}")


# --- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' for none)")
    parser.add_argument("--no-server", action="store_true", help="skip part B, under uvicorn")
    parser.add_argument("--container", action="store_true",
                        help="also goal 3, the container under load (when tests/support/hostile_load.py exists)")
    parser.add_argument("--only", default="", help="only the inputs whose name contains this")
    parser.add_argument("--cpu-limit", type=int, default=CPU_LIMIT_SECONDS, help="seconds of CPU an input may take")
    arguments = parser.parse_args()
    started = time.monotonic()

    scratch = Path(tempfile.mkdtemp(prefix="function-hostile-"))
    try:
        inputs = all_inputs(arguments.only)
        bodies = {item.name: scratch / f"{index}.bin" for index, item in enumerate(inputs)}
        for item in inputs:
            bodies[item.name].write_bytes(item.body)
        functions = {"now": LAMBDA_DIR}
        baseline = baseline_function(arguments.baseline, scratch) if arguments.baseline else None
        if baseline:
            functions[f"before ({arguments.baseline})"] = baseline

        print(f"function under hostile input, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
        print(f"Lambda path: app.handler, an API Gateway event, a fresh process per input; CPU: median of up to "
              f"{arguments.repeats}; x canvas: against the canvas timed in the same process")
        costs = lambda_path(inputs, functions, bodies, arguments.repeats, arguments.cpu_limit)
        served = None if arguments.no_server else uvicorn_path(inputs, arguments.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print_goals(inputs, costs, arguments.baseline if baseline else None, arguments.cpu_limit, served)
    if arguments.container:
        print_container(*container_rows())
    print(f"\n{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
