"""The container image against `make serve` (uvicorn from .venv), measured in one run here.

    .venv/bin/python bench/container.py [--seconds 10] [--connections 4] [--starts 5] [--lambda]

* image size (uncompressed, as `docker image inspect` reports it);
* start to first answer: `docker run` until GET /health answers 200, against starting
  `make serve`'s uvicorn until the same; the median of --starts;
* requests/s and p50/p99 latency of POST /predict (a 280x280 canvas PNG) and GET /health, with
  wrk (Debian's `wrk`; else a Python client, and the table says so), for `make serve` and the
  container with 1 and 2 worker processes (WEB_CONCURRENCY), 1 and 4 threads beside the event
  loop (DIGITS_CPU_WORKERS; the app's default is the CPU count, 2 here), and with the
  Deployment's CPU limit; the container's CPU (cores busy during the load) and peak memory, which set the
  Deployment's requests and limits;
* with --lambda: the cold start of the zip function (template.yaml, `sam build`, on SAM's
  python3.11 stand-in image) against the container image (deploy/lambda-image/template.yaml),
  each a fresh `sam local invoke` of the health event, its first and only invocation.

The containers run as the Deployment runs them (non-root, read-only root, tmpfs /tmp, no
capabilities). Everything shares this machine's CPUs with the load generator, so compare
within one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.function_throughput import canvas_png, free_port, load_tool, run_python_client, run_wrk
from deploy import lambda_standin
from deploy.docker import image as image_builder
from tests.support import containers

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CONTAINER_PORT = 8080
LOCKED_DOWN = ["--user", "10001:10001", "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=16m",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
SAM_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
SAM = Path(sys.executable).with_name("sam")


def wait_for_health(url: str, alive, timeout: float = 120.0) -> float:
    """Seconds until GET /health answers 200 (polled every 10 ms); exits if the server dies."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if not alive():
            sys.exit(f"the server at {url} exited before answering")
        time.sleep(0.01)
    sys.exit(f"{url} did not answer /health within {timeout:.0f} s")


class Serve:
    """`make serve`: uvicorn app:app --app-dir lambda from .venv, one process, its log to a file."""

    label = "make serve (uvicorn, .venv)"

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the server's lifetime, closed in stop()
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda", "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=PROJECT_ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_health(self.url, lambda: self.process.poll() is None)
        self.ready_seconds = time.monotonic() - started

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def peak_memory(self) -> int:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class Container:
    """The image under `docker run`, locked down as the Deployment runs it.

    network "host" shares this machine's loopback, as `make serve` uses it (and as a pod's
    network adds no proxy); "published" goes through `-p` (Docker's bridge and its userland
    proxy). logs "docker" is Docker's default json-file driver; "none" drops the log.
    """

    def __init__(self, image: str, workers: int = 1, cpus: str | None = None, memory: str | None = None,
                 network: str = "host", logs: str = "docker", threads: int | None = None):
        self.label = (f"container, {workers} worker{'s' if workers > 1 else ''}" + (f", --cpus {cpus}" if cpus else "")
                      + (", via -p" if network == "published" else "") + (", no log" if logs == "none" else "")
                      + (f", {threads} thread{'s' if threads > 1 else ''}" if threads else ""))
        options = (["--cpus", cpus] if cpus else []) + (["--memory", memory] if memory else [])
        options += ["--env", f"DIGITS_CPU_WORKERS={threads}"] if threads else []
        options += ["--log-driver", "none"] if logs == "none" else []
        port = free_port()
        if network == "host":
            options += ["--network", "host", "--env", f"PORT={port}"]
        else:
            options += ["--publish", f"127.0.0.1::{CONTAINER_PORT}"]
        started = time.monotonic()
        completed = subprocess.run(["docker", "run", "--detach", *LOCKED_DOWN, *options,
                                    "--env", f"WEB_CONCURRENCY={workers}", image],
                                   capture_output=True, text=True, check=True)
        self.id = completed.stdout.strip()
        if network == "host":
            self.url = f"http://127.0.0.1:{port}"
        else:
            published = subprocess.run(["docker", "port", self.id, f"{CONTAINER_PORT}/tcp"], capture_output=True,
                                       text=True).stdout.split()[0]
            self.url = f"http://{published}"
        wait_for_health(self.url, self.running)
        self.ready_seconds = time.monotonic() - started

    def running(self) -> bool:
        state = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}}", self.id],
                               capture_output=True, text=True).stdout.strip()
        return state == "true"

    def _cgroup(self, controller: str, name: str) -> int | None:
        path = Path("/sys/fs/cgroup") / controller / "docker" / self.id / name
        return int(path.read_text()) if path.is_file() else None

    def cpu_seconds(self) -> float:
        usage = self._cgroup("cpuacct", "cpuacct.usage")
        return usage / 1e9 if usage is not None else float("nan")

    def memory(self) -> int | None:
        return self._cgroup("memory", "memory.usage_in_bytes")

    def peak_memory(self) -> int | None:
        return self._cgroup("memory", "memory.max_usage_in_bytes")

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "--force", self.id], capture_output=True)


def docker_run_overhead(image: str, starts: int) -> float:
    """`docker run` of a process that does nothing: what any container start costs here."""
    times = []
    for _ in range(starts):
        started = time.monotonic()
        subprocess.run(["docker", "run", "--rm", *LOCKED_DOWN, "--entrypoint", "true", image], check=True,
                       capture_output=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def median_start(make, starts: int) -> float:
    times = []
    for _ in range(starts):
        server = make()
        times.append(server.ready_seconds)
        server.stop()
    return statistics.median(times)


def median_result(results: list[dict]) -> dict:
    merged = {kind: {key: statistics.median(result[kind][key] for result in results)
                     for key in ("rate", "p50", "p99", "cores")} for kind in ("predict", "health")}
    for kind in ("predict", "health"):
        merged[kind]["errors"] = sum(result[kind]["errors"] for result in results)
    merged["peak_memory"] = max((result["peak_memory"] or 0) for result in results)
    return merged


def load(server, body: Path, seconds: int, connections: int, scratch: Path) -> dict:
    results = {}
    for label, path, payload in (("predict", "/predict", body), ("health", "/health", None)):
        cpu_before, started = server.cpu_seconds(), time.monotonic()
        if shutil.which("wrk"):
            result = run_wrk(server.url, path, payload, seconds, connections, scratch)
        else:
            result = run_python_client(server.url, path, payload, seconds, connections)
        result["cores"] = (server.cpu_seconds() - cpu_before) / (time.monotonic() - started)
        results[label] = result
    results["peak_memory"] = server.peak_memory()
    return results


def sam_cold_starts(template: Path, extra: list[str], invokes: int) -> list[dict]:
    """Each `sam local invoke` starts a fresh container: its one invocation is a cold start."""
    event = PROJECT_ROOT / "events" / "health.json"
    results = []
    for _ in range(invokes):
        started = time.monotonic()
        completed = subprocess.run([str(SAM), "local", "invoke", "--template", str(template), "--skip-pull-image",
                                    *extra, "--event", str(event)], cwd=PROJECT_ROOT, capture_output=True,
                                   text=True, env=SAM_ENV, timeout=600)
        wall = time.monotonic() - started
        report = re.search(r"REPORT RequestId.*?\tDuration: ([\d.]+) ms", completed.stdout + completed.stderr)
        if completed.returncode != 0 or report is None or '\\"status\\":\\"ok\\"' not in completed.stdout:
            sys.exit(f"sam local invoke failed:\n{(completed.stdout + completed.stderr)[-3000:]}")
        results.append({"duration_ms": float(report[1]), "wall_s": wall})
    return results


def lambda_comparison(image: str, invokes: int, scratch: Path) -> dict:
    standin = lambda_standin.ensure_image()
    build_dir = scratch / "sam-build"
    built = subprocess.run([str(SAM), "build", "--template-file", "template.yaml", "--build-dir", str(build_dir)],
                           cwd=PROJECT_ROOT, capture_output=True, text=True, env=SAM_ENV, timeout=900)
    if built.returncode != 0:
        sys.exit(f"sam build failed:\n{(built.stdout + built.stderr)[-3000:]}")
    zip_runs = sam_cold_starts(build_dir / "template.yaml", ["DigitsFunction", "--invoke-image", standin], invokes)
    # SAM adds its emulator to an image with a build step that needs root: wrap the image with USER root.
    local_tag = f"{image.split(':', maxsplit=1)[0]}:sam-local"
    subprocess.run(["docker", "build", "--quiet", "--tag", local_tag, "-"], input=f"FROM {image}\nUSER root\n",
                   capture_output=True, text=True, check=True)
    image_runs = sam_cold_starts(PROJECT_ROOT / "deploy" / "lambda-image" / "template.yaml",
                                 ["DigitsImageFunction", "--parameter-overrides", f"ImageUri={local_tag}"], invokes)
    return {"zip": zip_runs, "image": image_runs}


def megabytes(value: float | None) -> str:
    return "?" if value is None else f"{value / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each load (default %(default)s)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (default %(default)s)")
    parser.add_argument("--starts", type=int, default=5, help="starts timed for the median (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds, medians kept (default %(default)s)")
    parser.add_argument("--lambda", dest="with_lambda", action="store_true",
                        help="also compare Lambda cold starts, zip against image, under sam local invoke")
    parser.add_argument("--invokes", type=int, default=3, help="cold starts per Lambda package (default %(default)s)")
    arguments = parser.parse_args()

    image, base = image_builder.ensure_image()
    size = int(subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True,
                              text=True, check=True).stdout)
    limits = containers.manifest("deployment.yaml")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    cpu_limit = containers.cpus(str(limits["cpu"]))

    scratch = Path(tempfile.mkdtemp(prefix="container-bench-"))
    body = canvas_png(scratch)
    print(f"image {image} on {base}; load by {load_tool()}, {arguments.connections} connections, "
          f"{arguments.seconds} s each; "
          f"{os.cpu_count()} CPUs shared with the load tool, load average {os.getloadavg()[0]:.1f}\n")

    try:
        serve_start = median_start(Serve, arguments.starts)
        container_start = median_start(lambda: Container(image, network="published"), arguments.starts)
        overhead = docker_run_overhead(image, arguments.starts)
        idle = Container(image)
        time.sleep(2)
        idle_memory = idle.memory()
        idle.stop()

        # Interleaved rounds, the median of each: the machine's other load drifts during a run.
        configurations = {
            Serve.label: Serve,
            "container, 1 worker, no log": lambda: Container(image, 1, logs="none"),
            "container, 1 worker": lambda: Container(image, 1),
            "container, 1 worker, via -p": lambda: Container(image, 1, network="published"),
            "container, 2 workers": lambda: Container(image, 2),
            "container, 1 worker, 1 thread": lambda: Container(image, 1, threads=1),
            "container, 1 worker, 4 threads": lambda: Container(image, 1, threads=4),
            f"container, 1 worker, --cpus {cpu_limit}": lambda: Container(
                image, 1, cpus=cpu_limit, memory=limits["memory"].replace("Mi", "m")),
        }
        rounds = {label: [] for label in configurations}
        for _ in range(arguments.rounds):
            for label, make in configurations.items():
                server = make()
                try:
                    rounds[label].append(load(server, body, arguments.seconds, arguments.connections, scratch))
                finally:
                    server.stop()
        rows = {label: median_result(results) for label, results in rounds.items()}
        print_tables(image, size, arguments.starts, serve_start, container_start, overhead, idle_memory, rows)
        if arguments.with_lambda:
            print_lambda(lambda_comparison(image, arguments.invokes, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def print_tables(image, size, starts, serve_start, container_start, overhead, idle_memory, rows) -> None:
    print(f"image size (uncompressed): {size / 1e6:.0f} MB")
    print(f"start to first answer, median of {starts}: container {container_start:.2f} s, "
          f"make serve {serve_start:.2f} s ({container_start / serve_start:.2f}x); `docker run` of `true` alone: "
          f"{overhead:.2f} s")
    print(f"container memory at rest: {megabytes(idle_memory)}\n")
    baseline = rows[Serve.label]
    print("req/CPU-s: requests served per second of CPU the server used, which the other jobs sharing this "
          "machine disturb far less than req/s\n")
    print(f"{'':44s}{'predict req/s':>14s}{'ratio':>7s}{'p50 ms':>8s}{'p99 ms':>8s}{'cores':>7s}{'req/CPU-s':>10s}"
          f"{'ratio':>7s}{'health req/s':>14s}{'ratio':>7s}{'req/CPU-s':>10s}{'ratio':>7s}{'peak memory':>13s}")
    for label, result in rows.items():
        predict, health = result["predict"], result["health"]
        predict_efficiency, health_efficiency = (result[kind]["rate"] / result[kind]["cores"]
                                                 for kind in ("predict", "health"))
        base_predict, base_health = (baseline[kind]["rate"] / baseline[kind]["cores"] for kind in ("predict", "health"))
        print(f"{label:44s}{predict['rate']:14.0f}{predict['rate'] / baseline['predict']['rate']:7.2f}"
              f"{predict['p50']:8.2f}{predict['p99']:8.2f}{predict['cores']:7.2f}{predict_efficiency:10.0f}"
              f"{predict_efficiency / base_predict:7.2f}"
              f"{health['rate']:14.0f}{health['rate'] / baseline['health']['rate']:7.2f}{health_efficiency:10.0f}"
              f"{health_efficiency / base_health:7.2f}{megabytes(result['peak_memory']):>13s}")
    errors = sum(result[kind]["errors"] for result in rows.values() for kind in ("predict", "health"))
    print(f"\nnon-2xx answers: {errors}")
    print(json.dumps({"image": image, "size": size, "container_start": container_start, "serve_start": serve_start,
                      "docker_run_overhead": overhead, "idle_memory": idle_memory, "rows": rows}))


def print_lambda(results: dict) -> None:
    print("\nLambda cold start under `sam local invoke` (first invocation of a fresh container, health event):")
    for kind, runs in results.items():
        duration = statistics.median(run["duration_ms"] for run in runs)
        wall = statistics.median(run["wall_s"] for run in runs)
        print(f"  {kind:6s} init + first answer (REPORT Duration): median {duration:6.0f} ms;"
              f" whole `sam local invoke`: median {wall:5.1f} s")
    print(json.dumps({"lambda": results}))


if __name__ == "__main__":
    main()
