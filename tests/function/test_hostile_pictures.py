"""Inputs made to be expensive: each is refused with a status and a sentence saying why and what
is accepted, or answered, and none costs more than a bounded amount of memory and CPU time.

The costs are measured the way bench/function_hostile.py measures them (it prints the same
inputs in a table): in a fresh process that has answered the page's own canvas first, through
`app.handler` as Lambda runs it, each input's peak resident set over the idle process (Pillow's
and libwebp's memory included, which tracemalloc would miss) and its CPU time against the
canvas's, measured in the same process. CPU time, not wall time, and generous ratios: the
machine is shared. Before the checks on headers, the worst of these took 10-40 s of CPU or
hundreds of MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import LAMBDA_DIR, PROJECT_ROOT
from tests.support.hostile import ACCEPTED, REFUSED, REQUESTS, media_type, normal_canvas

MEMORY_LIMIT_MB = 100  # over the idle process, for any input
# Refused from the header: about the cost of receiving the body (a few canvases for 4 MB in
# base64), never of decoding it; the copies of a 4 MB body are all the memory it takes.
REFUSED_CPU_RATIO = 50
REFUSED_MEMORY_MB = 25
ANSWERED_CPU_RATIO = 500  # the largest pictures and 4 MB JSON bodies: under 1 s when a canvas takes 2 ms

# The child reads each input's peak memory from /proc.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak memory from /proc (Linux)")

MEASURE = r"""
import contextlib, io, json, re, statistics, sys, time
from tests.support.events import call_handler

def status(key):
    return int(re.search(key + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

def answer(case, body):
    with contextlib.redirect_stdout(io.StringIO()):  # the request log, one line a call
        return call_handler(case["path"], body, {"content-type": case["content_type"], **case["headers"]})

cases = json.load(open(sys.argv[1]))
canvas, canvas_body = cases[0], open(cases[0]["file"], "rb").read()
for _ in range(20):
    assert answer(canvas, canvas_body)[0] == 200
times = []
for _ in range(30):
    started = time.process_time()
    answer(canvas, canvas_body)
    times.append(time.process_time() - started)
results = {"canvas_seconds": statistics.median(times), "cases": {}}
for case in cases[1:]:
    body = open(case["file"], "rb").read()
    idle = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak starts again from the current size
    started = time.process_time()
    code, answered = answer(case, body)
    seconds = time.process_time() - started
    results["cases"][case["name"]] = {"status": code, "body": answered, "seconds": seconds,
                                      "peak_mb": status("VmHWM") - idle}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def costs(tmp_path_factory) -> dict:
    """Every hostile input's status, answer, CPU time and peak memory, measured in one fresh process."""
    folder = tmp_path_factory.mktemp("hostile")
    pictures = {"canvas": normal_canvas, **{name: build for name, (build, _) in REFUSED.items()}, **ACCEPTED}
    cases = [{"name": name, "path": "/predict", "body": build(), "headers": {}} for name, build in pictures.items()]
    cases += [{"name": name, "path": request.path, "body": request.body, "headers": request.headers,
               "content_type": request.content_type} for name, request in REQUESTS.items()]
    for index, case in enumerate(cases):
        case["file"] = str(folder / f"{index}.bin")
        (folder / f"{index}.bin").write_bytes(case.pop("body"))
        if "content_type" not in case:
            case["content_type"] = media_type((folder / f"{index}.bin").read_bytes())
    (folder / "cases.json").write_text(json.dumps(cases))
    completed = subprocess.run([sys.executable, "-c", MEASURE, str(folder / "cases.json")],
                               capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT,
                               env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "LOG_LEVEL": "ERROR",
                                    "PYTHONPATH": os.pathsep.join([str(LAMBDA_DIR), str(PROJECT_ROOT)])})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def message(result: dict) -> str:
    return result["body"].get("detail") or result["body"].get("error") or ""


def assert_within(costs: dict, name: str, memory_mb: float, cpu_ratio: float) -> None:
    """The input's peak memory over the idle process, and its CPU time against the canvas's."""
    result, canvas = costs["cases"][name], costs["canvas_seconds"]
    assert result["peak_mb"] < memory_mb, f"{name}: {result['peak_mb']:.0f} MB over the idle process"
    assert result["seconds"] < cpu_ratio * canvas, \
        f"{name}: {result['seconds'] * 1000:.0f} ms of CPU; the canvas took {canvas * 1000:.1f} ms"


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_picture_too_costly_to_decode_is_refused_cheaply_saying_why(costs, name):
    result, expected = costs["cases"][name], REFUSED[name][1]
    assert result["status"] == expected, result
    what_to_do = {413: "at most", 415: "send", 422: "save it again"}[expected]
    assert what_to_do in message(result), message(result)
    assert len(message(result)) < 400
    assert_within(costs, name, REFUSED_MEMORY_MB, REFUSED_CPU_RATIO)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_the_largest_accepted_pictures_are_read_within_the_budget(costs, name):
    result = costs["cases"][name]
    assert result["status"] == 200, result
    assert 0 <= result["body"]["digit"] <= 9
    assert_within(costs, name, MEMORY_LIMIT_MB, ANSWERED_CPU_RATIO)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_hostile_requests_are_refused_in_their_protocols_shape_within_the_budget(costs, name):
    result = costs["cases"][name]
    assert result["status"] == REQUESTS[name].status, result
    shape = "error" if REQUESTS[name].path.startswith(("/v1/", "/v2/")) else "detail"
    assert set(result["body"]) == {shape} and message(result), result["body"]
    assert len(message(result)) < 1000
    assert_within(costs, name, MEMORY_LIMIT_MB, ANSWERED_CPU_RATIO)


def test_the_64_kb_string_of_escaped_quotes_costs_about_a_canvas(costs):
    """It took 12-21 s, freezing the process, when the string scan could backtrack."""
    for name in ("64 KB JSON string of escaped quotes, /predict", "64 KB JSON string of escaped quotes, /v2"):
        result = costs["cases"][name]
        assert result["status"] == 400 and "not valid JSON" in message(result)
        assert result["seconds"] < REFUSED_CPU_RATIO * costs["canvas_seconds"], result["seconds"]
