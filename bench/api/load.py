"""Load generators (wrk or a threaded Python loader) and the CPU accounting from /proc."""

from __future__ import annotations

import json
import math
import os
import re
import resource
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

from .common import QUIET_CORES, log, run


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0  # non-2xx responses and socket errors
    cpu_ms: float = 0.0  # CPU time of gunicorn, PostgreSQL and Redis per request
    other_cores: float = 0.0  # CPU used meanwhile by processes that are not the bench's

    @property
    def capacity(self) -> float:
        """Requests per second the servers' CPU cost allows on all cores, with no contention."""
        return (os.cpu_count() or 1) * 1000 / self.cpu_ms if self.cpu_ms else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


WRK_SCRIPT = """\
-- Each request signs in as the next user in turn.
cookies = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, {["Cookie"] = cookies[(counter %% #cookies) + 1]})
end
"""


def load_wrk(url: str, cookies: list[str], connections: int, seconds: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-api-") as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(c) for c in cookies))
        script.flush()
        out = run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
                   "--latency", "-s", script.name, url], what="wrk")  # fmt: skip
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not done or "50" not in latency or "99" not in latency:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if socket_errors := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    ):
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        requests=int(done.group(1)),
        seconds=_wrk_ms(done.group(2) + done.group(3)) / 1000,
        p50_ms=_wrk_ms(latency["50"]),
        p99_ms=_wrk_ms(latency["99"]),
        errors=errors,
    )


def load_python(url: str, cookies: list[str], connections: int, seconds: float) -> LoadResult:
    """Closed-loop loader: `connections` threads, one keep-alive connection each."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    assert parts.hostname in {"127.0.0.1", "localhost", "::1"}, "loopback only"
    target = f"{parts.path}?{parts.query}"
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = time.perf_counter()
    deadline = start + seconds

    def worker(i: int) -> None:
        conn = HTTPConnection(parts.hostname, parts.port, timeout=10)
        sent = i
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            sent += connections
            try:
                conn.request("GET", target, headers={"Cookie": cookies[sent % len(cookies)]})
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except OSError:
                ok = False
                conn.close()
                conn = HTTPConnection(parts.hostname, parts.port, timeout=10)
            latencies[i].append((time.perf_counter() - t0) * 1000)
            errors[i] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    every = sorted(x for per in latencies for x in per)
    if len(every) < 2:  # nothing answered (or once): no percentiles to speak of
        return LoadResult(len(every), elapsed, math.nan, math.nan, sum(errors))
    quantiles = statistics.quantiles(every, n=100, method="inclusive")
    return LoadResult(len(every), elapsed, quantiles[49], quantiles[98], sum(errors))


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the loader, wrk or threads)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_snapshot(server_pids: list[int]) -> tuple[float, float, float]:
    return tree_cpu_seconds(server_pids), own_cpu_seconds(), machine_busy_seconds()


def split_cpu(
    server_pids: list[int], before: tuple[float, float, float]
) -> tuple[float, float, float]:
    """CPU seconds since `before`: (the servers, this process and wrk, every other process)."""
    after = cpu_snapshot(server_pids)
    servers, loader = after[0] - before[0], after[1] - before[1]
    return servers, loader, max(after[2] - before[2] - servers - loader, 0.0)


def wait_until_quiet(server_pids: list[int], max_wait: float) -> None:
    """Wait (at most max_wait seconds) until other processes use < QUIET_CORES of the CPU."""
    started = time.monotonic()
    while True:
        before = cpu_snapshot(server_pids)
        time.sleep(2)
        other = split_cpu(server_pids, before)[2] / 2
        waited = time.monotonic() - started
        if other < QUIET_CORES or waited >= max_wait:
            if waited > 2.5:
                state = "quiet" if other < QUIET_CORES else "still busy"
                log(f"waited {waited:.0f}s for a quiet machine: {state} ({other:.2f} cores)")
            return


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU time (user + system, reaped children included) of these processes and their
    descendants, from /proc: what the servers spent, whatever else the machine was doing."""
    procs: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "(comm)": state ppid ... utime(11) stime(12) cutime(13) cstime(14)
        procs[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [pid for pid in roots if pid in procs]
    while todo:
        pid = todo.pop()
        total += procs[pid][1]
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    rounds: list[LoadResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.rounds)
