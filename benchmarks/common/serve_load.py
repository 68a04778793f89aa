"""Latency of ``mic serve`` under concurrent clients, for ``benchmarks/search.py``.

:func:`serve_latency` starts ``python -m mic serve INDEX --host 127.0.0.1 --port 0`` as a subprocess (the ``mic``
package this process imports, on one thread, offline), waits until it listens, then for each client count sends
every client's queries one after another (``POST /search``, ``{"query": TEXT, "k": 10}``) from that many threads
at once, each with its own keep-alive connection. Latency is wall time at the clients; the server's CPU seconds
over the round (``psutil``), divided by the requests answered, say what a request costs the server on a machine
where the wall time also counts waits for a core. Everything is bounded: the start-up, each request and each
round have a timeout, and the server is always stopped (SIGTERM, then SIGKILL) before it returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

import mic
from common.funnel import K
from common.timing import latency_summary

HOST = "127.0.0.1"
READY = "press Ctrl+C to stop"
"""What ``mic serve`` prints once it listens (after the URL)."""
STARTUP_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
WARMUP_REQUESTS = 5


def server_environment() -> dict[str, str]:
    """This process's environment, with the ``mic`` package it imports first on the path, one thread, offline."""
    source = str(Path(mic.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def wait_until_listening(process: subprocess.Popen, lines: list[str], timeout: float) -> str:
    """The URL the server printed once it listens.

    Raises:
        RuntimeError: when the server exits or is not listening within ``timeout`` seconds, with its output.
    """
    deadline = time.monotonic() + timeout
    while not any(READY in line for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mic serve did not start (exit code {process.poll()}):\n{''.join(lines)}")
        time.sleep(0.1)
    line = next(line for line in lines if READY in line)
    return line.split(" at ")[1].split(" ")[0]


def stop(process: subprocess.Popen) -> None:
    """Stop the server: SIGTERM (uvicorn shuts down gracefully), SIGKILL if it is still there."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


def cpu_seconds(process: psutil.Process) -> float:
    """The user + system CPU seconds ``process`` has used so far."""
    times = process.cpu_times()
    return times.user + times.system


def client_round(url: str, texts: Sequence[str], clients: int, per_client: int, timeout: float, server: int) -> dict:
    """``clients`` threads at once, each sending ``per_client`` queries in turn until ``timeout`` seconds pass:
    the latency summary of the answered requests, their throughput, the failures, and the CPU milliseconds the
    server (process ``server``) spent per answered request."""
    deadline = time.monotonic() + timeout

    def client(number: int) -> tuple[list[float], int]:
        seconds, failures = [], 0
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as session:
            for position in range(per_client):
                if time.monotonic() > deadline:
                    break
                text = texts[(number * per_client + position) % len(texts)]
                start = time.perf_counter()
                try:
                    response = session.post("/search", json={"query": text, "k": K})
                    ok = response.status_code == 200 and len(response.json()["results"][0]["hits"]) == K
                except httpx.HTTPError:
                    ok = False
                if ok:
                    seconds.append(time.perf_counter() - start)
                else:
                    failures += 1
        return seconds, failures

    server_process = psutil.Process(server)
    start, server_start = time.perf_counter(), cpu_seconds(server_process)
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(client, range(clients)))
    wall, server_cpu = time.perf_counter() - start, cpu_seconds(server_process) - server_start
    seconds = [value for values, _ in outcomes for value in values]
    return {
        "clients": clients,
        "requests": len(seconds),
        "failures": sum(failures for _, failures in outcomes),
        "requests_per_s": len(seconds) / wall,
        "server_cpu_ms_per_request": 1e3 * server_cpu / max(len(seconds), 1),
        **(latency_summary(seconds) if seconds else {}),
    }


def serve_latency(
    index: Path, texts: Sequence[str], client_counts: Sequence[int], per_client: int, round_timeout: float
) -> dict:
    """Start ``mic serve`` on ``index``, run :func:`client_round` for each client count, stop the server.

    Returns ``{"startup_s": seconds from launch to listening, "rounds": [client_round(...), ...]}``.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mic", "serve", str(index), "--host", HOST, "--port", "0"],
        env=server_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True).start()
    try:
        url = wait_until_listening(process, lines, STARTUP_TIMEOUT_S)
        startup = time.perf_counter() - started
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as session:
            for text in texts[:WARMUP_REQUESTS]:
                session.post("/search", json={"query": text, "k": K}).raise_for_status()
        rounds = [client_round(url, texts, count, per_client, round_timeout, process.pid) for count in client_counts]
    finally:
        stop(process)
    return {"startup_s": startup, "rounds": rounds}
