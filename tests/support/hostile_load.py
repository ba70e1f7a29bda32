"""The worst inputs against a running container, all at once, while its memory and /health are watched.

    report = run_hostile_load(container.url, container.id, seconds=60, clients=4, stalled=80)

For `seconds`, at the same time:

* `stalled` raw connections each declare a body of STALLED_DECLARED bytes to POST /predict, send
  STALLED_SENT of them and pause; one the server closes (408 once it stops waiting, 503 when
  its budget of bodies is spent) is opened again after `reopen_pause` (the server's Retry-After),
  so the pressure lasts the whole run;
* `clients` threads send, round-robin and each from a different place in the list, every picture
  of hostile.ACCEPTED (the largest accepted: expensive, and answered), of hostile.REFUSED and
  every hostile.REQUESTS, with httpx, noting every answer;
* /health is asked every HEALTH_PERIOD seconds;
* the container's memory is read every MEMORY_PERIOD seconds: the high-water mark of each of its
  processes' resident memory as the kernel keeps it (VmHWM), its cgroup's tmpfs pages, its OOM
  kills, and, for the record, the cgroup's own peak, which counts page cache: at the limit the
  kernel reclaims that cache rather than kill anything, so a cgroup peak equal to the limit is
  the limit working, not memory the processes needed; at the end, Docker's OOMKilled,
  RestartCount and Running.

An answer is a failure when the connection breaks or the status is 500 or more other than
503, or a 503 carries no Retry-After: under this much pressure 503 + Retry-After is a fair
answer to anything. Apart from 503, every input must get the status it gets alone (its
`expected`), and an accepted picture a digit.

Nothing here decides what is fast enough: the load shares the machine with the container, so
latencies are reported, not judged.
"""

from __future__ import annotations

import contextlib
import functools
import json
import selectors
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import hostile

STALLED_DECLARED = 4_100_000  # just under the function's 4 MiB body limit: the most one body may reserve
STALLED_SENT = 4_000_000
HEALTH_PERIOD = 0.5
HEALTH_TIMEOUT = 10.0  # past this a poll counts as unanswered; a bound for "answers", not a latency goal
REQUEST_TIMEOUT = 120.0  # the slowest refusal on a shared CPU takes seconds, never minutes
MEMORY_PERIOD = 0.2
ERROR_PAUSE = 0.1  # after a broken connection: a server that is down is not asked thousands of times a second
MiB = 2**20



# --- what is sent ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    name: str
    group: str  # "accepted", "refused" or "request"
    path: str
    body: bytes
    headers: dict[str, str]
    expected: int


def hostile_inputs() -> list[Input]:
    """Every hostile input, built once (some take seconds to build)."""
    inputs = []
    for name, build in hostile.ACCEPTED.items():
        body = build()
        inputs.append(Input(name, "accepted", "/predict", body, {"Content-Type": hostile.media_type(body)}, 200))
    for name, (build, status) in hostile.REFUSED.items():
        body = build()
        inputs.append(Input(name, "refused", "/predict", body, {"Content-Type": hostile.media_type(body)}, status))
    for name, request in hostile.REQUESTS.items():
        inputs.append(Input(name, "request", request.path, request.body,
                            {"Content-Type": request.content_type, **request.headers}, request.status))
    return inputs


# --- what came back ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    name: str
    group: str
    started: float  # seconds since the load began
    seconds: float
    status: int | None  # None: the connection broke
    failure: str = ""  # a broken connection, 5xx other than 503, or 503 without Retry-After: what came
    unexpected: str = ""  # not 503 and not what the input gets alone (or no digit): what came


@dataclass
class MemorySample:
    at: float  # seconds since the load began
    usage: int  # bytes the cgroup holds (page cache included)
    anonymous: int | None  # of which the processes' own memory (rss), where the cgroup says
    shared: int | None  # of which tmpfs and shared memory, which cannot be reclaimed but by deleting files


@dataclass
class LoadReport:
    seconds: float
    clients: int
    stalled: int
    answers: list[Answer] = field(default_factory=list)
    stalled_opened: int = 0
    stalled_statuses: Counter = field(default_factory=Counter)  # "408", "503", "closed", "refused connection"
    stalled_most_open: int = 0  # stalled connections open at once, at most
    driver_errors: list[str] = field(default_factory=list)  # a thread of this driver that stopped early, and why
    health_latencies: list[float] = field(default_factory=list)  # of the polls answered 200
    health_failures: list[str] = field(default_factory=list)
    memory: list[MemorySample] = field(default_factory=list)
    memory_source: str = ""
    peak_memory: int | None = None  # the cgroup's high-water mark (else the highest sample), page cache included
    resident_peak: int | None = None  # the live processes' resident high-water marks added up, most of any read
    processes: int = 0  # the most processes alive in the container at one read
    memory_limit: int | None = None
    oom_kills: int | None = None  # OOM kills in the container's cgroup where it counts them, as last read
    oom_killed: bool = False
    restarts: int = 0
    running: bool = True

    @property
    def statuses(self) -> Counter:
        return Counter("error" if answer.status is None else answer.status for answer in self.answers)

    @property
    def failures(self) -> list[Answer]:
        """Broken connections, 5xx other than 503, and 503 without Retry-After."""
        return [answer for answer in self.answers if answer.failure]

    @property
    def unexpected(self) -> list[Answer]:
        """Answers, other than 503, with another status than the input gets alone, or no digit."""
        return [answer for answer in self.answers if answer.unexpected]

    @property
    def health_polls(self) -> int:
        return len(self.health_latencies) + len(self.health_failures)

    def statuses_by_input(self) -> dict[str, Counter]:
        table: dict[str, Counter] = {}
        for answer in self.answers:
            table.setdefault(answer.name, Counter())["error" if answer.status is None else answer.status] += 1
        return table

    @property
    def needed_memory(self) -> int | None:
        """What the container needed at most and the kernel could not reclaim: the resident
        high-water marks of the processes alive at once added up (their peaks need not coincide,
        so this errs high; resident memory counts their mapped code too), plus the most tmpfs it held."""
        if self.resident_peak is None:
            return None
        return self.resident_peak + max((sample.shared or 0 for sample in self.memory), default=0)

    def in_flight(self, at: float) -> list[str]:
        """The inputs being sent or worked on at `at` seconds into the load."""
        return [answer.name for answer in self.answers if answer.started <= at <= answer.started + answer.seconds]

    def rows(self) -> list[tuple[str, str, str]]:
        """(what, measured, goal met) for a benchmark table."""
        def met(condition: bool) -> str:
            return "yes" if condition else "NO"

        accepted = [answer for answer in self.answers if answer.group == "accepted"]
        answered = sum(answer.status == 200 and not answer.unexpected for answer in accepted)
        busy = sum(answer.status == 503 for answer in accepted)
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items(), key=str))
        stalled = ", ".join(f"{status}: {count}" for status, count in sorted(self.stalled_statuses.items()))
        latencies = sorted(self.health_latencies)
        health = (f"median {statistics.median(latencies) * 1000:.0f} ms, worst {latencies[-1] * 1000:.0f} ms"
                  if latencies else "none answered")
        limit = f" of {self.memory_limit / MiB:.0f} MiB" if self.memory_limit else ""
        peak_anonymous = max((sample.anonymous or 0 for sample in self.memory), default=0)
        peak = "?" if self.peak_memory is None else f"{self.peak_memory / MiB:.0f} MiB{limit}"
        needed = self.needed_memory
        return [
            ("load", f"{self.seconds:.0f} s, {self.clients} clients, {self.stalled} stalled bodies",
             met(not self.driver_errors)),
            ("requests sent (status: count)", f"{len(self.answers)} ({statuses})", met(bool(self.answers))),
            ("failures (broken connection, 5xx but 503, 503 without Retry-After)", str(len(self.failures)),
             met(not self.failures)),
            ("other answers than the input's own or 503", str(len(self.unexpected)), met(not self.unexpected)),
            ("accepted pictures answered 200 with a digit", f"{answered} of {len(accepted)} sent ({busy} got 503)",
             met(answered > 0)),
            ("stalled bodies: connections opened (how each ended)", f"{self.stalled_opened} ({stalled})", ""),
            ("stalled connections open at once, at most", str(self.stalled_most_open), ""),
            ("/health polls answered 200", f"{len(self.health_latencies)} of {self.health_polls}",
             met(self.health_polls > 0 and not self.health_failures)),
            ("/health latency", health, ""),
            (f"memory needed: resident peaks of up to {self.processes} processes + tmpfs",
             "?" if needed is None else f"{needed / MiB:.0f} MiB{limit}",
             met(needed is not None and (not self.memory_limit or needed < self.memory_limit))),
            ("peak of the processes' own memory, anonymous (sampled)", f"{peak_anonymous / MiB:.0f} MiB", ""),
            (f"peak container memory, page cache included ({self.memory_source})", peak, ""),
            ("OOM kills in the cgroup / Docker's OOMKilled", f"{'?' if self.oom_kills is None else self.oom_kills} / "
             f"{self.oom_killed}", met(not self.oom_kills and not self.oom_killed)),
            ("restarts / running at the end", f"{self.restarts} / {self.running}",
             met(self.restarts == 0 and self.running)),
        ]


# --- the container's memory ----------------------------------------------------------------------------


def inspect(container: str) -> dict:
    completed = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)[0]


def _stat(folder: Path, *keys: str) -> int | None:
    try:
        values = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
    except OSError:  # the container is gone, and its cgroup with it
        return None
    return next((int(values[key]) for key in keys if key in values), None)


def _number(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().split()[0])
    return None


def _count(path: Path, key: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return None


class Memory:
    """The container's memory cgroup, read from this host's /sys/fs/cgroup (v1 or v2), found from
    its first process's /proc/PID/cgroup; where that is not reachable (Docker elsewhere), `docker
    stats`, which counts less (no page cache) and has no high-water mark."""

    def __init__(self, container: str):
        self.container = container
        self.folder, self.version = self._find(inspect(container)["State"]["Pid"])
        self.source = f"cgroup v{self.version}" if self.folder else "docker stats"

    @staticmethod
    def _find(pid: int) -> tuple[Path | None, int]:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None, 0
        for line in lines:
            _, controllers, relative = line.split(":", 2)
            if "memory" in controllers.split(","):
                folder = Path("/sys/fs/cgroup/memory") / relative.lstrip("/")
                if (folder / "memory.usage_in_bytes").is_file():
                    return folder, 1
        for line in lines:
            if line.startswith("0::"):
                folder = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
                if (folder / "memory.current").is_file():
                    return folder, 2
        return None, 0

    def sample(self, at: float) -> MemorySample | None:
        if self.version == 1:
            usage = _number(self.folder / "memory.usage_in_bytes")
            anonymous = _stat(self.folder, "total_rss", "rss")
            shared = _stat(self.folder, "total_shmem", "shmem")
        elif self.version == 2:
            usage = _number(self.folder / "memory.current")
            anonymous = _stat(self.folder, "anon")
            shared = _stat(self.folder, "shmem")
        else:
            usage, anonymous, shared = self._docker_stats(), None, None
        return None if usage is None else MemorySample(at, usage, anonymous, shared)

    def resident_peaks(self) -> dict[int, int]:
        """Each process's resident high-water mark in bytes (VmHWM in /proc/PID/status), by id."""
        peaks = {}
        if self.folder is None:  # Docker elsewhere: its processes are not this host's
            return peaks
        with contextlib.suppress(OSError):
            for pid in (self.folder / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError, StopIteration):
                    status = Path(f"/proc/{pid}/status").read_text().splitlines()
                    kilobytes = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
                    peaks[int(pid)] = int(kilobytes) * 1024
        return peaks

    def peak(self) -> int | None:
        if self.version == 1:
            return _number(self.folder / "memory.max_usage_in_bytes")
        if self.version == 2:
            return _number(self.folder / "memory.peak")  # Linux 5.19 and later
        return None

    def limit(self) -> int | None:
        limit = inspect(self.container)["HostConfig"]["Memory"]
        return limit or None

    def oom_kills(self) -> int | None:
        if self.version == 1:
            return _count(self.folder / "memory.oom_control", "oom_kill")  # Linux 4.13 and later
        if self.version == 2:
            return _count(self.folder / "memory.events", "oom_kill")
        return None

    def _docker_stats(self) -> int | None:
        completed = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", self.container],
                                   capture_output=True, text=True)
        used = completed.stdout.split("/")[0].strip()
        units = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "B": 1}
        for unit, factor in units.items():
            if used.endswith(unit):
                return int(float(used[: -len(unit)]) * factor)
        return None


# --- the load ------------------------------------------------------------------------------------------


class Load:
    """The threads of one run; each appends to the report (list.append is atomic under the GIL)."""

    def __init__(self, base_url: str, container: str, seconds: float, clients: int, stalled: int,
                 reopen_pause: float):
        self.base_url = base_url
        self.inputs = hostile_inputs()
        self.memory = Memory(container)
        self.report = LoadReport(seconds, clients, stalled, memory_source=self.memory.source,
                                 memory_limit=self.memory.limit())
        self.container = container
        self.reopen_pause = reopen_pause
        self.stop = threading.Event()
        self.started = 0.0

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> LoadReport:
        report = self.report
        work = [self.watch_memory, self.poll_health, self.hold_stalled_bodies]
        work += [functools.partial(self.send_inputs, index) for index in range(report.clients)]
        threads = [threading.Thread(target=self.guarded, args=(job,)) for job in work]
        self.started = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(report.seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        self.read_memory()
        state = inspect(self.container)
        report.oom_killed = state["State"]["OOMKilled"]
        report.restarts = state["RestartCount"]
        report.running = state["State"]["Running"]
        return report

    def guarded(self, job) -> None:
        """A thread that fails stops pressing: say so in the report rather than on stderr alone."""
        try:
            job()
        except Exception as error:
            self.report.driver_errors.append(f"{self.now():.1f} s: {job}: {type(error).__name__}: {error}")
            raise

    def watch_memory(self) -> None:
        while not self.stop.is_set():
            self.read_memory()
            self.stop.wait(MEMORY_PERIOD)

    def read_memory(self) -> None:
        """A sample, and the peak and OOM kills so far: a container killed takes its cgroup with it."""
        report = self.report
        sample = self.memory.sample(self.now())
        if sample is not None:
            report.memory.append(sample)
        residents = self.memory.resident_peaks()
        if residents:
            report.resident_peak = max(sum(residents.values()), report.resident_peak or 0)
            report.processes = max(len(residents), report.processes)
        peaks = [self.memory.peak(), report.peak_memory, sample and sample.usage]
        report.peak_memory = max((peak for peak in peaks if peak is not None), default=None)
        oom_kills = self.memory.oom_kills()
        report.oom_kills = report.oom_kills if oom_kills is None else oom_kills

    def poll_health(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=HEALTH_TIMEOUT) as client:
            next_poll = time.monotonic()
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    answer = client.get("/health")
                    if answer.status_code == 200:
                        self.report.health_latencies.append(time.monotonic() - started)
                    else:
                        self.report.health_failures.append(f"{self.now():.1f} s: {answer.status_code} {answer.text}")
                except httpx.HTTPError as error:
                    self.report.health_failures.append(f"{self.now():.1f} s: {type(error).__name__}: {error}")
                next_poll += HEALTH_PERIOD
                self.stop.wait(max(0.0, next_poll - time.monotonic()))

    def send_inputs(self, index: int) -> None:
        position = index * len(self.inputs) // self.report.clients
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT) as client:
            while not self.stop.is_set():
                sent = self.inputs[position % len(self.inputs)]
                position += 1
                self.report.answers.append(self.send(client, sent))

    def send(self, client: httpx.Client, sent: Input) -> Answer:
        started = self.now()
        try:
            # as bytes: a hostile header may be other than ASCII ("²"), which goes as UTF-8
            answer = client.post(sent.path, content=sent.body,
                                 headers={name: value.encode() for name, value in sent.headers.items()})
        except httpx.HTTPError as error:
            self.stop.wait(ERROR_PAUSE)
            return Answer(sent.name, sent.group, started, self.now() - started, None,
                          failure=f"connection: {type(error).__name__}: {error}")
        seconds, status, text = self.now() - started, answer.status_code, answer.text[:200]
        failure = unexpected = ""
        if status == 503:
            failure = "" if answer.headers.get("retry-after") else f"503 without Retry-After: {text}"
        elif status >= 500:
            failure = f"{status}: {text}"
        elif status != sent.expected:
            unexpected = f"expected {sent.expected}, got {status}: {text}"
        elif sent.group == "accepted" and answer.json().get("digit") not in range(10):
            unexpected = f"expected a digit, got {text}"
        return Answer(sent.name, sent.group, started, seconds, status, failure, unexpected)

    def hold_stalled_bodies(self) -> None:
        """Every stalled connection in one thread, on non-blocking sockets: the server reads a body
        only as the app asks for it, so a send may have to wait."""
        host, port = self.base_url.removeprefix("http://").rsplit(":", 1)
        head = (f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n"
                f"Content-Length: {STALLED_DECLARED}\r\n\r\n").encode()
        payload = memoryview(head + bytes(STALLED_SENT))
        selector = selectors.DefaultSelector()
        sent: dict[socket.socket, int] = {}
        received: dict[socket.socket, bytes] = {}
        reopen_at = [0.0] * self.report.stalled

        def close(connection: socket.socket, how: str) -> None:
            selector.unregister(connection)
            connection.close()
            self.report.stalled_statuses[how] += 1
            del sent[connection], received[connection]
            reopen_at[reopen_at.index(float("inf"))] = time.monotonic() + self.reopen_pause

        try:
            while not self.stop.is_set():
                now = time.monotonic()
                for slot, when in enumerate(reopen_at):
                    if when <= now:
                        try:
                            connection = socket.create_connection((host, int(port)), timeout=5)
                        except OSError:
                            self.report.stalled_statuses["refused connection"] += 1
                            reopen_at[slot] = now + self.reopen_pause
                            continue
                        connection.setblocking(False)
                        sent[connection], received[connection] = 0, b""
                        selector.register(connection, selectors.EVENT_READ | selectors.EVENT_WRITE)
                        reopen_at[slot] = float("inf")
                        self.report.stalled_opened += 1
                for key, events in selector.select(timeout=0.1):
                    connection = key.fileobj
                    if events & selectors.EVENT_READ:
                        try:
                            data = connection.recv(65536)
                        except OSError:
                            data = b""
                        if data:
                            received[connection] += data
                        if not data or b"\r\n" in received[connection]:
                            first_line = received[connection].split(b"\r\n", 1)[0].split()
                            close(connection, first_line[1].decode() if len(first_line) > 1 else "closed")
                            continue
                    if events & selectors.EVENT_WRITE:
                        try:
                            sent[connection] += connection.send(payload[sent[connection]:])
                        except BlockingIOError:
                            pass
                        except OSError:
                            close(connection, "closed")
                            continue
                        if sent[connection] == len(payload):
                            selector.modify(connection, selectors.EVENT_READ)
                self.report.stalled_most_open = max(self.report.stalled_most_open, len(sent))
        finally:
            for connection in list(sent):
                connection.close()
            selector.close()


def run_hostile_load(base_url: str, container: str, seconds: float = 60, clients: int = 4, stalled: int = 80,
                     reopen_pause: float = 1.0) -> LoadReport:
    """Load the container at `base_url` (Docker's id or name `container`) for `seconds`; see the module."""
    return Load(base_url, container, seconds, clients, stalled, reopen_pause).run()
