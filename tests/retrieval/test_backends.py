"""Specification of the index backends on fixed vectors: the FAISS layouts and Qdrant Edge agree with numpy.

The reference is brute force in numpy: shortlist by the cosine of the re-normalised ``d``-dim prefixes,
re-rank by the full-dim cosine of the stored (float16) vectors. The vectors are drawn so that no two of the
scores that decide a top-k are closer than the float16 rounding of the stored vectors (checked below).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mic.retrieval.backends import Layout, open_reader, open_writer
from mic.retrieval.backends.faiss import FaissReader, FaissWriter
from mic.retrieval.backends.qdrant import QdrantReader, QdrantWriter
from mic.retrieval.backends.qdrant_edge import SHARD_FOLDER, EdgeReader, EdgeWriter
from mic.retrieval.errors import IndexFileError, RetrievalError

FULL, DIM, K = 24, 8, 5
GAP = 1e-3
"""Smallest allowed gap between consecutive top-(k+1) full-dim scores: well above float16 rounding (~1e-4)."""
SHORTLISTS = (30, 40, 60)


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def brute_force(queries: np.ndarray, documents: np.ndarray, stored: np.ndarray, dim: int, shortlist: int) -> np.ndarray:
    """Top-k rows: shortlist on the ``dim`` prefixes of ``documents``, re-ranked on the ``stored`` full vectors."""
    candidates = np.argsort(-(unit(queries[:, :dim]) @ unit(documents[:, :dim]).T), axis=1)[:, :shortlist]
    full = unit(stored.astype(np.float32))
    rescored = np.einsum("qd,qkd->qk", unit(queries), full[candidates])
    return np.take_along_axis(candidates, np.argsort(-rescored, axis=1)[:, :K], 1)


def well_separated(queries: np.ndarray, documents: np.ndarray) -> bool:
    """No near-tie among each query's top ``k + 1`` full-dim scores, nor at the prefix shortlist cut-offs."""
    top = -np.sort(-(queries @ documents.T), axis=1)[:, : K + 1]
    low = -np.sort(-(unit(queries[:, :DIM]) @ unit(documents[:, :DIM]).T), axis=1)
    cuts = [low[:, size - 1] - low[:, size] for size in SHORTLISTS]
    return bool(np.min(-np.diff(top, axis=1)) > GAP and np.min(cuts) > 1e-5)


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    """6 queries and 200 documents from the first seed whose scores have no near-ties."""
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        queries, documents = unit(rng.standard_normal((6, FULL))), unit(rng.standard_normal((200, FULL)))
        if well_separated(queries, documents):
            return queries, documents
    raise AssertionError("no seed without near-ties")


def build_faiss(folder: Path, documents: np.ndarray, layout: Layout, chunk: int = 70) -> FaissReader:
    writer = FaissWriter(folder, layout, documents)  # calibrated on the whole corpus
    for start in range(0, len(documents), chunk):  # several chunks, as a streamed corpus arrives
        rows = documents[start : start + chunk]
        writer.add(rows, [str(row) for row in range(start, start + len(rows))])
    return FaissReader(folder, layout, len(documents), writer.finish())


def layout(precision: str = "float32", kind: str = "flat", rerank: str = "float16", dim: int = DIM) -> Layout:
    return Layout(dim, FULL, precision, kind, rerank)  # type: ignore[arg-type]


def test_flat_float32_funnel_equals_brute_force(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout()).search(queries, K, 30)
    np.testing.assert_array_equal(hits.indices, brute_force(queries, documents, documents.astype(np.float16), DIM, 30))
    assert np.all(np.diff(hits.scores, axis=1) <= 0)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_a_shortlist_of_the_whole_corpus_is_exact_full_dim_search(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout(precision)).search(queries, K, len(documents))
    exact = np.argsort(-(queries @ documents.T), axis=1)[:, :K]
    np.testing.assert_array_equal(hits.indices, exact)


def test_hnsw_with_the_whole_corpus_as_beam_equals_flat(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    flat = build_faiss(_folder(tmp_path / "flat"), documents, layout()).search(queries, K, 200)
    graph = build_faiss(_folder(tmp_path / "hnsw"), documents, layout(kind="hnsw"))
    np.testing.assert_array_equal(graph.search(queries, K, 200).indices, flat.indices)


def scalar_quantized(documents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-bit codes and reconstruction of each dim between its min and max, as FAISS's ``QT_8bit`` defines them."""
    low, high = documents.min(axis=0), documents.max(axis=0)
    codes = np.floor(255 * np.clip((documents - low) / (high - low), 0, 1)).astype(np.uint8)
    return codes, low + (codes + np.float32(0.5)) / 255 * (high - low)


def test_int8_rerank_vectors_rank_like_their_dequantised_values(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout(rerank="int8"), chunk=200).search(queries, K, 40)
    codes, stored = scalar_quantized(documents)
    np.testing.assert_array_equal(hits.indices, brute_force(queries, documents, stored, DIM, 40))
    np.testing.assert_array_equal(np.fromfile(tmp_path / "full.bin", dtype=np.uint8).reshape(codes.shape), codes)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_the_stored_index_does_not_depend_on_the_chunk_size(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    queries, documents = vectors
    one = build_faiss(_folder(tmp_path / "one"), documents, layout(precision, rerank="int8"), chunk=1)
    whole = build_faiss(_folder(tmp_path / "whole"), documents, layout(precision, rerank="int8"), chunk=200)
    for name in ("prefix.faiss", "rerank.faiss", "full.bin"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    np.testing.assert_array_equal(one.search(queries, K, 30).indices, whole.search(queries, K, 30).indices)


def test_binary_prefixes_need_whole_bytes_of_dims(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout("binary", dim=16)).search(queries, K, 60)
    assert hits.indices.shape == (len(queries), K) and np.all(hits.indices >= 0)


def build_edge(folder: Path, documents: np.ndarray, layout: Layout, chunk: int = 70) -> dict[str, object]:
    """Write ``documents`` into a Qdrant Edge shard in ``folder`` chunk by chunk; the metadata fields."""
    writer = EdgeWriter(folder, layout)
    for start in range(0, len(documents), chunk):
        rows = documents[start : start + chunk]
        writer.add(rows, [str(row) for row in range(start, start + len(rows))])
    return writer.finish()


def search_edge(
    folder: Path, fields: dict[str, object], layout: Layout, queries: np.ndarray, count: int, shortlist: int
):
    reader = EdgeReader(folder, layout, count, fields)
    try:
        return reader.search(queries, K, shortlist)
    finally:
        reader.close()


def test_qdrant_edge_returns_the_faiss_top_k(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    faiss_hits = build_faiss(_folder(tmp_path / "faiss"), documents, layout()).search(queries, K, 30)
    fields = build_edge(_folder(tmp_path / "edge"), documents, layout())
    edge_hits = search_edge(tmp_path / "edge", fields, layout(), queries, len(documents), 30)
    np.testing.assert_array_equal(edge_hits.indices, faiss_hits.indices)
    np.testing.assert_allclose(edge_hits.scores, faiss_hits.scores, atol=1e-3)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_qdrant_edge_with_the_whole_corpus_as_shortlist_is_exact_full_dim_search(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    queries, documents = vectors
    plain = layout(precision, dim=16)
    hits = search_edge(tmp_path, build_edge(tmp_path, documents, plain), plain, queries, len(documents), 200)
    np.testing.assert_array_equal(hits.indices, np.argsort(-(queries @ documents.T), axis=1)[:, :K])


RECALL_FLOOR = 0.95
"""recall@10 against exact search of a 100-shortlist at 32 of 64 dims, HNSW and quantized (measured: 0.99-1.0)."""


@pytest.mark.parametrize("precision", ["int8", "binary"])
def test_qdrant_edge_hnsw_on_quantized_prefixes_keeps_the_exact_top_10(tmp_path: Path, precision: str) -> None:
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(np.arange(1, 65))  # decaying variance, as in a Matryoshka embedding: the prefix carries most
    centres = rng.standard_normal((50, 64))
    documents = unit((centres[rng.integers(0, 50, 2000)] + 0.5 * rng.standard_normal((2000, 64))) * scale)
    queries = unit((centres[rng.integers(0, 50, 40)] + 0.5 * rng.standard_normal((40, 64))) * scale)
    graph = Layout(32, 64, precision, "hnsw", "float16")  # type: ignore[arg-type]
    fields = build_edge(tmp_path, documents, graph, chunk=500)
    files = fields["files"]
    assert any(name.endswith("vector_storage-prefix/quantized.data") for name in files)  # the engine quantized
    assert any(name.endswith("vector_index-prefix/graph.bin") for name in files)  # and built the graph
    reader = EdgeReader(tmp_path, graph, len(documents), fields)
    found = reader.search(queries, 10, 100).indices
    reader.close()
    exact = np.argsort(-(queries @ documents.T), axis=1)[:, :10]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]) >= RECALL_FLOOR


def test_a_qdrant_edge_index_reopens_and_serves_two_readers_at_once(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    queries, documents = vectors
    fields = build_edge(tmp_path, documents, layout())
    first = EdgeReader(tmp_path, layout(), len(documents), fields)
    second = EdgeReader(tmp_path, layout(), len(documents), fields)  # the engine takes no lock: both work
    script = (
        "import json, sys; from pathlib import Path; import numpy as np\n"
        "from mic.retrieval.backends import Layout\n"
        "from mic.retrieval.backends.qdrant_edge import EdgeReader\n"
        f"reader = EdgeReader(Path(sys.argv[1]), Layout({DIM}, {FULL}, 'float32', 'flat', 'float16'), "
        f"{len(documents)}, json.loads(sys.argv[2]))\n"
        f"print(reader.search(np.eye({FULL}, dtype=np.float32)[:1], 3, 30).indices.tolist())\n"
    )
    other_process = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), json.dumps(fields)], capture_output=True, text=True, timeout=120
    )
    expected = first.search(np.eye(FULL, dtype=np.float32)[:1], 3, 30).indices.tolist()
    assert other_process.returncode == 0, other_process.stderr
    assert json.loads(other_process.stdout) == expected
    np.testing.assert_array_equal(first.search(queries, K, 30).indices, second.search(queries, K, 30).indices)
    first.close()
    second.close()
    reopened = search_edge(tmp_path, fields, layout(), queries, len(documents), 30)
    np.testing.assert_array_equal(
        reopened.indices, brute_force(queries, documents, documents.astype(np.float16), DIM, 30)
    )


def _segment_file(shard: Path, name: str) -> Path:
    return next(path for path in sorted(shard.rglob(name)) if path.stat().st_size > 0)


def _truncate(shard: Path) -> None:
    path = _segment_file(shard, "quantized.data")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble_state(shard: Path) -> None:
    _segment_file(shard, "segment.json").write_text("{not json")


def _newer_version(shard: Path) -> None:
    for path in shard.rglob("version.info"):
        path.write_text("9.9.0")  # as long as the engine's own "0.6.0": the size check passes


@pytest.mark.parametrize(
    ("damage", "fields_change", "message"),
    [
        (_truncate, {}, r"quantized\.data: \d+ bytes, written as \d+; damaged Qdrant Edge shard, build the index"),
        (lambda shard: None, {"files": {"segments/gone.dat": 8}}, r"gone\.dat: missing; damaged Qdrant Edge shard"),
        (_garble_state, {}, r"damaged Qdrant Edge shard \(Service runtime error: .*segment\.json.*\); build the"),
        (_newer_version, {}, r"another engine version \(.*Data version 9\.9\.0 is newer.*\); install the qdrant-edge"),
        (_garble_state, {"engine_version": "0.0.1"}, r"written by qdrant-edge-py 0\.0\.1, this is .*; install "
         r"qdrant-edge-py==0\.0\.1, or build the index again"),
        (lambda shard: __import__("shutil").rmtree(shard), {}, r"qdrant-edge: missing; the index is incomplete"),
    ],
)  # fmt: skip
def test_a_damaged_qdrant_edge_shard_is_refused_in_one_line(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], damage, fields_change: dict, message: str
) -> None:
    _, documents = vectors
    fields = build_edge(tmp_path, documents, layout("int8"))
    damage(tmp_path / SHARD_FOLDER)
    with pytest.raises(IndexFileError, match=message) as error:
        EdgeReader(tmp_path, layout("int8"), len(documents), {**fields, **fields_change})
    assert "\n" not in str(error.value)


def test_qdrant_options_that_do_not_fit_the_index_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        RetrievalError, match=r"--collection docs names a collection on a Qdrant server; give its --url"
    ):
        open_writer("qdrant", tmp_path, layout(), {"url": None, "collection": "docs"}, np.zeros((1, 8), np.float32))
    with pytest.raises(
        RetrievalError, match=r"embedded Qdrant Edge index, whose vectors are local files; --url http://q:6333 is"
    ):
        open_reader("qdrant", tmp_path, layout(), 1, {"shard": SHARD_FOLDER}, "http://q:6333")
    with pytest.raises(RetrievalError, match=r"is a faiss index, whose vectors are local files; --url http://q:6333"):
        open_reader("faiss", tmp_path, layout(), 1, {}, "http://q:6333")  # refused, not ignored
    with pytest.raises(IndexFileError, match=r"qdrant-client's local mode, which mic no longer reads; build it again"):
        open_reader("qdrant", tmp_path, layout(), 1, {"collection": "docs", "url": None}, None)


UNREACHABLE = "http://127.0.0.1:9"
"""The discard port: nothing listens there, so a connection is refused at once."""


def test_an_unreachable_qdrant_server_is_one_line_naming_the_url() -> None:
    message = r"^Qdrant server unreachable at http://127\.0\.0\.1:9: .*; start it, or pass the right --url\.$"
    with pytest.raises(RetrievalError, match=message):
        QdrantWriter(layout(), UNREACHABLE)
    with pytest.raises(RetrievalError, match=message):
        QdrantReader(layout(), 1, {"collection": "docs"}, UNREACHABLE)


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_a_qdrant_server_collection_is_removed_by_an_abort_after_finish(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """qdrant-client's local mode on disk stands in for the server: each ``connect`` opens it again."""
    from qdrant_client import QdrantClient

    import mic.retrieval.backends.qdrant as qdrant

    monkeypatch.setattr(qdrant, "connect", lambda url: QdrantClient(path=str(tmp_path / "server")))
    writer = QdrantWriter(layout(), "http://server:6333", "docs")
    writer.add(vectors[1], [str(row) for row in range(len(vectors[1]))])
    assert writer.finish() == {"collection": "docs", "url": "http://server:6333"}
    writer.abort()
    client = qdrant.connect("http://server:6333")
    assert not client.collection_exists("docs")
    client.close()


class StatusClient:
    """A stand-in for a Qdrant server's client: the collection's statuses in turn, the requests it was sent."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.updates: list[str] = []
        self.requests: list[object] = []

    def get_collection(self, collection: str) -> object:
        from qdrant_client import models

        return type("Info", (), {"status": models.CollectionStatus(self.statuses.pop(0))})()

    def update_collection(self, collection: str, **changes: object) -> bool:
        self.updates.append(collection)
        return True

    def query_batch_points(self, collection: str, requests: list[object]) -> list[object]:
        self.requests.extend(requests)
        return [type("Response", (), {"points": []})() for _ in requests]


def test_finishing_a_qdrant_server_index_waits_until_the_server_has_indexed_it() -> None:
    from mic.retrieval.backends.qdrant import wait_until_optimized

    client = StatusClient("yellow", "grey", "yellow", "green", "green")
    wait_until_optimized(client, "docs", "http://q:6333", poll=0)  # type: ignore[arg-type]
    assert client.statuses == ["green"]  # it stopped at the first green
    assert client.updates == ["docs"]  # a grey collection is asked to start optimizing
    with pytest.raises(RetrievalError, match=r"'docs' at http://q:6333 failed to build its index \(status red\)"):
        wait_until_optimized(StatusClient("yellow", "red"), "docs", "http://q:6333", poll=0)  # type: ignore[arg-type]
    message = r"'docs' at http://q:6333 is still building its index \(status yellow\) after 0 s; build the index"
    with pytest.raises(RetrievalError, match=message):
        wait_until_optimized(StatusClient("yellow"), "docs", "http://q:6333", timeout=0)  # type: ignore[arg-type]


def test_the_qdrant_server_shortlist_ranks_by_the_quantized_prefixes_as_edge_does(
    vectors: tuple[np.ndarray, np.ndarray],
) -> None:
    reader = QdrantReader.__new__(QdrantReader)  # no server: only the requests are checked
    reader.layout, reader.url, reader.collection = layout("int8"), "http://q:6333", "docs"
    reader.client = client = StatusClient()  # type: ignore[assignment]
    reader.search(vectors[0], K, 40)
    params = [request.prefetch.params for request in client.requests]  # type: ignore[attr-defined]
    assert len(params) == len(vectors[0])
    assert {(chosen.hnsw_ef, chosen.quantization.rescore) for chosen in params} == {(40, False)}
