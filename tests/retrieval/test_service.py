"""``mic serve``: the search service over a real socket on 127.0.0.1, on an index of the tiny random model.

The server runs in a background thread of the test process (uvicorn on a free port), so a test can also make
one request fail inside; every request has a timeout and the server is stopped when the module is done.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import run_cli
from mic.cli import app
from mic.retrieval import service
from mic.retrieval.corpus import Document
from mic.retrieval.index import build_index, open_index, search_texts
from mic.retrieval.service import MAX_K, MAX_QUERIES, MAX_QUERY_CHARS, create_app, listen, server

DOCUMENTS = 30
TIMEOUT = 30.0
"""Seconds any one request (or the server's start and stop) may take."""
TOPICS = "heart lung bone vitamin protein cell virus gene drug sleep diet brain".split()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """An 8-dim flat index of 30 documents of random topic words."""
    rng = np.random.default_rng(1)
    corpus = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    rows = [{"_id": f"d{row}", "text": " ".join(rng.choice(TOPICS, 5))} for row in range(DOCUMENTS)]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path_factory.mktemp("indexes") / "idx"
    build_index(str(tiny_model_dir), str(corpus), out, dim=8)
    return out


@pytest.fixture(scope="module")
def client(index: Path) -> Iterator[httpx.Client]:
    """An HTTP client of the service of ``index``, served by uvicorn in a thread on a free port of 127.0.0.1."""
    listener = listen("127.0.0.1", 0)
    uvicorn_server = server(create_app(index), log_level="warning")
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not uvicorn_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    host, port = listener.getsockname()[:2]
    try:
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=TIMEOUT) as http:
            yield http
    finally:
        uvicorn_server.should_exit = True
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the server did not stop"


def test_search_answers_like_the_python_api(client: httpx.Client, index: Path) -> None:
    texts = ["heart lung", "gene drug virus", "sleep"]
    response = client.post("/search", json={"queries": texts, "k": 5, "shortlist": 20})
    assert response.status_code == 200, response.text
    queries = [Document(str(row), text, "-") for row, text in enumerate(texts)]
    expected = search_texts(open_index(index), queries, k=5, shortlist=20)
    body = response.json()
    assert (body["k"], body["shortlist"]) == (5, 20)
    assert [result["query"] for result in body["results"]] == texts
    for result, reference in zip(body["results"], expected, strict=True):
        assert [hit["id"] for hit in result["hits"]] == [identifier for identifier, _ in reference.hits]
        np.testing.assert_allclose([hit["score"] for hit in result["hits"]], [s for _, s in reference.hits], atol=1e-6)


def test_one_query_gets_the_default_k_and_the_calibrated_shortlist(client: httpx.Client, index: Path) -> None:
    body = client.post("/search", json={"query": "bone vitamin"}).json()
    assert (body["k"], body["shortlist"]) == (10, open_index(index).default_shortlist())
    assert len(body["results"]) == 1 and len(body["results"][0]["hits"]) == 10


def test_concurrent_requests_get_the_answers_of_sequential_ones(client: httpx.Client) -> None:
    bodies = [{"queries": [TOPICS[row], f"{TOPICS[row]} {TOPICS[-row]}"], "k": 3} for row in range(8)]
    sequential = [client.post("/search", json=body).json() for body in bodies]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda body: client.post("/search", json=body).json(), bodies))
    assert concurrent == sequential


def test_health_says_what_the_index_is(client: httpx.Client, index: Path, tiny_model_dir: Path) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["index"] == str(index) and body["model"] == str(tiny_model_dir)
    assert (body["documents"], body["dim"], body["full_dim"]) == (DOCUMENTS, 8, 32)
    assert (body["precision"], body["kind"], body["backend"]) == ("float32", "flat", "faiss")


def test_the_openapi_schema_and_docs_are_served(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/search", "/health"} <= set(schema["paths"])
    request = schema["components"]["schemas"]["SearchRequest"]["properties"]
    assert request["queries"]["anyOf"][0]["maxItems"] == MAX_QUERIES
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"query": "heart', 422, "JSON decode error"),
        ({"query": ""}, 422, "String should have at least 1 character"),
        ({"query": " \n "}, 422, "a query is only whitespace; give it some text"),
        ({"queries": []}, 422, "List should have at least 1 item"),
        ({"queries": ["heart", ""]}, 422, "String should have at least 1 character"),
        ({}, 422, "give exactly one of `query` (a text) or `queries` (a list of texts)"),
        ({"query": "heart", "queries": ["lung"]}, 422, "give exactly one of `query`"),
        ({"query": "heart", "k": 0}, 422, "Input should be greater than or equal to 1"),
        ({"query": "heart", "k": -3}, 422, "Input should be greater than or equal to 1"),
        ({"query": "heart", "k": DOCUMENTS + 1}, 422, f"k {DOCUMENTS + 1} is more than the {DOCUMENTS} documents"),
        ({"query": "heart", "k": MAX_K + 1, "shortlist": MAX_K + 1}, 422, f"less than or equal to {MAX_K}"),
        ({"query": "heart", "k": 20, "shortlist": 10}, 422, "k 20 is more than the shortlist 10; need k <= shortlist"),
        ({"query": "heart", "shortlist": 0}, 422, "Input should be greater than or equal to 1"),
        ({"queries": ["heart"] * (MAX_QUERIES + 1)}, 422, f"List should have at most {MAX_QUERIES} items"),
        ({"query": "a" * (MAX_QUERY_CHARS + 1)}, 422, f"String should have at most {MAX_QUERY_CHARS} characters"),
        ({"query": 5}, 422, "Input should be a valid string"),
        ({"queries": "heart"}, 422, "Input should be a valid list"),
        ({"query": "heart", "k": "5"}, 422, "Input should be a valid integer"),
        ({"query": "heart", "k": 2.5}, 422, "Input should be a valid integer"),
        ({"query": "heart", "top_k": 3}, 422, "Extra inputs are not permitted"),
        (["heart"], 422, "Input should be a valid dictionary"),
    ],
)
def test_a_bad_request_gets_a_4xx_with_a_message_and_the_service_goes_on(
    client: httpx.Client, body: bytes | dict | list, status: int, message: str
) -> None:
    if isinstance(body, bytes):
        response = client.post("/search", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/search", json=body)
    assert response.status_code == status
    assert message in response.text
    assert client.post("/search", json={"query": "heart", "k": 1}).status_code == 200


def test_a_wrong_method_or_path_gets_a_4xx(client: httpx.Client) -> None:
    assert client.get("/search").status_code == 405
    assert client.get("/nothing").status_code == 404


def test_a_failure_inside_one_request_answers_500_and_the_service_goes_on(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the engine fell over")

    with monkeypatch.context() as patch:
        patch.setattr(service, "search_encoded", broken)
        response = client.post("/search", json={"query": "heart"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: RuntimeError: the engine fell over"}
    after = client.post("/search", json={"query": "heart"})
    assert after.status_code == 200
    # The failure did not cost the client its keep-alive connection.
    assert after.extensions["network_stream"] is response.extensions["network_stream"]


def test_cli_serve_prints_its_url_and_answers(index: Path, tmp_path: Path) -> None:
    process = run_cli("serve", str(index), "--port", "0", cwd=tmp_path)
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120  # a fresh interpreter imports torch before it listens
        while not any("press Ctrl+C to stop" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        line = next(line for line in lines if "press Ctrl+C to stop" in line)
        assert line.startswith(f"Serving {index} at http://127.0.0.1:")
        url = line.split(" at ")[1].split(" ")[0]
        response = httpx.get(f"{url}/health", timeout=TIMEOUT)
        assert response.json()["documents"] == DOCUMENTS
    finally:
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TIMEOUT)


def test_cli_serve_refuses_a_missing_index_and_a_busy_port(tmp_path: Path, index: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["serve", str(tmp_path / "missing"), "--port", "0"])
    assert result.exit_code == 2 and "does not exist" in " ".join(result.output.replace("│", " ").split())
    busy = listen("127.0.0.1", 0)
    try:
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["serve", str(index), "--port", str(port)])
    finally:
        busy.close()
    output = " ".join(result.stdout.split())
    assert result.exit_code == 2, output
    assert f"cannot listen on 127.0.0.1:{port}" in output and "choose another --host or --port" in output


def test_connections_accepted_on_the_listening_socket_send_without_delay() -> None:
    """asyncio sets TCP_NODELAY only on TCP-protocol sockets; without it keep-alive answers wait ~40 ms (Nagle)."""

    async def nodelay_of_one_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted.set_result(
                    transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                )

        tcp_server = await asyncio.get_running_loop().create_server(Probe, sock=listen("127.0.0.1", 0))
        async with tcp_server:
            host, port = tcp_server.sockets[0].getsockname()[:2]
            _, writer = await asyncio.open_connection(host, port)
            try:
                return await asyncio.wait_for(accepted, TIMEOUT)
            finally:
                writer.close()

    assert asyncio.run(nodelay_of_one_connection()) != 0
