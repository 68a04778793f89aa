"""``build_index`` / ``open_index`` / ``search_texts`` and ``mic index`` / ``mic search`` on the tiny random model.

Covers the round trip through the index folder, the metadata, streaming in chunks, and every user error:
each is a :class:`~mic.errors.MICError` with a message naming the bad value, and leaves nothing on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mic import __version__
from mic.cli import app
from mic.data import DataError
from mic.data.corpus import iter_documents
from mic.encoders import encoder_fingerprint, load_encoder
from mic.retrieval import exact_search
from mic.retrieval.backends import open_writer
from mic.retrieval.backends.faiss import FaissWriter
from mic.retrieval.corpus import Document, read_queries
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.index import AUTO_HNSW_MIN_DOCUMENTS, build_index, open_index, resolve_kind, search_texts
from mic.retrieval.light_encoder import LIGHT_ENCODER_FOLDER
from mic.staging import OutputError

TIE = 1e-3
"""Cosines closer than this are a tie: the re-rank reads float16 vectors (rounding ~1e-4)."""
WORDS = "river bank money loan water fish stone bridge market price boat rain".split()
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.stdout.split())  # rich wraps at 80 columns


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 BEIR-style documents of distinct random word strings."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    rows = [{"_id": f"doc{row}", "title": "t", "text": " ".join(rng.choice(WORDS, 6))} for row in range(60)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("indexes") / "idx"
    build_index(str(tiny_model_dir), str(corpus), out, dim=8, chunk_size=25)
    return out


def test_the_index_round_trips_and_searches_like_exact_search(index: Path, tiny_model_dir: Path, corpus: Path) -> None:
    """The reference is the torch model (its fingerprint is the index's); the index's fp32 ONNX vectors differ from
    its by far less than the float16 tie (cosine >= 0.999 in tests/test_onnx.py, 1.0000 on all-MiniLM-L6-v2)."""
    documents = list(iter_documents(str(corpus)))
    opened = open_index(index)
    meta = opened.meta
    encoder = load_encoder(str(tiny_model_dir))
    assert (meta.model, meta.fingerprint, meta.full_dim, meta.dim) == (
        str(tiny_model_dir), encoder_fingerprint(encoder), 32, 8
    )  # fmt: skip
    assert (meta.precision, meta.kind, meta.backend, meta.mic_version) == ("float32", "flat", "faiss", __version__)
    assert meta.doc_ids == [document.id for document in documents]
    queries = [Document("q0", "river bank money", "-"), Document("q1", "boat rain stone", "-")]
    results = search_texts(opened, queries, k=5, shortlist=len(documents))
    vectors = encoder.encode([document.text for document in documents]).numpy()
    cosines = exact_search(encoder.encode([query.text for query in queries]).numpy(), vectors, 32, len(documents))
    for result, rows, scores in zip(results, cosines.indices, cosines.scores, strict=True):
        exact = dict(zip((documents[row].id for row in rows), scores, strict=True))
        assert_best(result.hits, exact, 5)


def assert_best(hits: list[tuple[str, float]], exact: dict[str, float], k: int) -> None:
    """``hits`` are ``k`` documents of the ``k`` best exact cosines, best first, up to float16 ties (1e-3)."""
    best = sorted(exact.values(), reverse=True)[:k]
    np.testing.assert_allclose([exact[identifier] for identifier, _ in hits], best, rtol=0, atol=TIE)
    np.testing.assert_allclose([score for _, score in hits], best, rtol=0, atol=TIE)


def test_auto_kind_switches_to_hnsw_at_the_measured_size() -> None:
    assert resolve_kind("auto", AUTO_HNSW_MIN_DOCUMENTS - 1) == "flat"
    assert resolve_kind("auto", AUTO_HNSW_MIN_DOCUMENTS) == "hnsw"
    assert resolve_kind("flat", 10**9) == "flat"


def test_documents_stream_from_text_and_csv_with_line_number_ids(tmp_path: Path) -> None:
    lines = tmp_path / "docs.txt"
    lines.write_text("first document\n\nsecond document\n", encoding="utf-8")
    table = tmp_path / "docs.csv"
    table.write_text('text,title\n"a, quoted text",T\n', encoding="utf-8")
    assert [(d.id, d.text) for d in iter_documents(str(lines))] == [("1", "first document"), ("3", "second document")]
    assert [(d.id, d.text) for d in iter_documents(str(table))] == [("2", "T a, quoted text")]


def test_queries_of_a_beir_folder_come_from_its_queries_file(tmp_path: Path) -> None:
    (tmp_path / "queries.jsonl").write_text('{"_id": "q7", "text": "where"}\n', encoding="utf-8")
    assert read_queries(tmp_path) == [Document("q7", "where", f"{tmp_path / 'queries.jsonl'}:1")]


def test_qdrant_backend_builds_and_answers_like_faiss(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "q", dim=8, backend="qdrant", chunk_size=25)
    queries = [Document("q0", "river bank money", "-")]
    engine = open_index(tmp_path / "q")
    try:
        hits = search_texts(engine, queries, k=5, shortlist=20)[0].hits
    finally:
        engine.close()
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "f", dim=8)
    reference = search_texts(open_index(tmp_path / "f"), queries, k=20, shortlist=20)[0].hits
    assert_best(hits, dict(reference), 5)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_corpus_is_refused_and_a_document_without_text_left_out(
    tmp_path: Path, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(DataError, match=r"empty\.jsonl: the file is empty; no document to read"):
        build_index(str(tiny_model_dir), str(write(tmp_path / "empty.jsonl", "\n")), tmp_path / "a", dim=8)
    blank = write(tmp_path / "blank.jsonl", '{"_id": "y", "text": "  "}\n')
    with pytest.raises(DataError, match=r"blank\.jsonl: all 1 document rows have no text; no document to read"):
        build_index(str(tiny_model_dir), str(blank), tmp_path / "b", dim=8)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blank.jsonl", "empty.jsonl"]
    blank = write(tmp_path / "blank.jsonl", '{"_id": "x", "text": "ok"}\n{"_id": "y", "text": "  "}\n')
    assert build_index(str(tiny_model_dir), str(blank), tmp_path / "c", dim=8).count == 1
    assert f"{blank}: left out 1 document with no text ('y')." in caplog.text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dim": 64}, r"--dim 64 is outside 1..32, the embedding size of"),
        ({"dim": 0}, r"--dim 0 is outside 1..32"),
        ({"dim": 12, "precision": "binary"}, r"--dim 12 is not a multiple of 8 \(allowed: 8, 16, 24, 32\)"),
        ({"dim": 8, "precision": "int4"}, r"--precision 'int4' is not one of float32, int8, binary"),
        ({"dim": 8, "kind": "ivf"}, r"--kind 'ivf' is not one of flat, hnsw, auto"),
        ({"dim": 8, "backend": "milvus"}, r"--backend 'milvus' is not one of faiss, qdrant"),
        ({"dim": 8, "backend": "qdrant", "rerank_precision": "int8"}, r"qdrant backend keeps full vectors as float16"),
        ({"dim": 8, "chunk_size": 0}, r"--chunk-size must be a positive number of documents, got 0"),
    ],
)
def test_bad_build_options_are_refused_and_write_nothing(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, options: dict, message: str
) -> None:
    with pytest.raises(RetrievalError, match=message):
        build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", **options)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_build_leaves_nothing(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_on_second_chunk(self: FaissWriter, full: np.ndarray, ids: list[str]) -> None:
        if ids[0] != "doc0":
            raise KeyboardInterrupt
        self.index.add(full)

    monkeypatch.setattr(FaissWriter, "add", fail_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, chunk_size=25)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failing", ["calibrate", "write_light_encoder"])
def test_a_failure_after_the_writer_finished_still_aborts_it(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A Qdrant server collection lives outside the index folder: until meta.json points to it, the writer's
    abort must remove it, also when calibration or the light query path fails after :meth:`finish`."""
    import mic.retrieval.index as index_module

    calls: list[str] = []

    def recording(*args: object) -> FaissWriter:
        writer = open_writer(*args)  # type: ignore[arg-type]
        finish, abort = writer.finish, writer.abort
        writer.finish = lambda: (calls.append("finish"), finish())[1]  # type: ignore[method-assign]
        writer.abort = lambda: (calls.append("abort"), abort())[1]  # type: ignore[method-assign]
        return writer  # type: ignore[return-value]

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "open_writer", recording)
    monkeypatch.setattr(index_module, failing, interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, encoder_backend="onnx")
    assert calls == ["finish", "abort"]
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_replaced_only_when_it_is_an_index_and_overwrite_is_set(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, index: Path
) -> None:
    with pytest.raises(OutputError, match=r"already exists; pass --overwrite"):
        build_index(str(tiny_model_dir), str(corpus), index, dim=8)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "mine" / "meta.json").write_text('{"title": "my own metadata"}', encoding="utf-8")
    with pytest.raises(OutputError, match=r"mine was not written by mic \(no mic_output.json naming it a mic index\)"):
        build_index(str(tiny_model_dir), str(corpus), tmp_path / "mine", dim=8, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "twice", dim=8)
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "twice", dim=16, overwrite=True)
    assert open_index(tmp_path / "twice").meta.dim == 16
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mine", "twice"]


def test_overwrite_never_deletes_a_users_file_in_an_index(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8)
    (tmp_path / "idx" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match=r"is a mic index, but mic did not write notes.txt in it"):
        build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=16, overwrite=True)
    assert (tmp_path / "idx" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert open_index(tmp_path / "idx").meta.dim == 8


def test_an_index_built_before_the_marker_is_still_replaceable(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8)
    (tmp_path / "idx" / "mic_output.json").unlink()  # as the code before the marker wrote it
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=16, overwrite=True)
    assert open_index(tmp_path / "idx").meta.dim == 16


def test_a_build_killed_while_saving_is_cleared_by_the_next(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import subprocess
    import sys

    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    leftover = tmp_path / f".idx.{pid}.saving"
    leftover.mkdir()
    (leftover / "prefix.faiss").write_bytes(b"half")
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["idx"]
    assert [f"Removed {leftover}, left by process {pid}" in record.getMessage() for record in caplog.records] == [True]


def test_queries_of_another_model_or_width_are_refused(index: Path, tiny_model_dir: Path, tiny_st_dir: Path) -> None:
    other = tiny_st_dir  # the same weights with a Normalize module: another model, the same 32 dims
    opened = open_index(index)
    built = rf"built with {tiny_model_dir} \(32 dims, fingerprint \w+\); the query model {other} is another"
    with pytest.raises(RetrievalError, match=built):
        search_texts(opened, [Document("q", "river", "-")], model=str(other))
    with pytest.raises(RetrievalError, match=r"holds 32-dim vectors of .*; the queries have shape \(1, 16\)"):
        opened.search(np.ones((1, 16), dtype=np.float32))
    with pytest.raises(RetrievalError, match=r"need 1 <= --k <= --shortlist; got --k 10 and --shortlist 5"):
        opened.search(np.ones((1, 32), dtype=np.float32), k=10, shortlist=5)


def copy_index(index: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(index, tmp_path / "copy"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: (folder / "meta.json").unlink(), r"not a mic index \(no meta.json\)"),
        (lambda folder: write(folder / "meta.json", '{"schema": "mic-index/1", "dim'), r"unreadable index metadata"),
        (lambda folder: write(folder / "meta.json", '{"schema": "x"}'), r"unreadable index metadata"),
        (
            lambda folder: truncate(folder / "full.bin"),
            r"full.bin: expected \d+ bytes, found \d+; the index is truncated",
        ),
        (lambda folder: scramble(folder / "prefix.faiss"), r"prefix.faiss: not a readable FAISS index"),
    ],
)
def test_a_damaged_index_is_refused(index: Path, tmp_path: Path, damage, message: str) -> None:
    folder = copy_index(index, tmp_path)
    damage(folder)
    with pytest.raises(IndexFileError, match=message):
        open_index(folder)


def edit_meta(folder: Path, **fields: object) -> None:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    write(folder / "meta.json", json.dumps({**meta, **fields}))


def test_bytes_per_vector_is_derived_and_checked_against_the_layout(index: Path, tmp_path: Path) -> None:
    folder = copy_index(index, tmp_path)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["bytes_per_vector"] == 32  # 8 float32 dims
    del meta["bytes_per_vector"]  # an index written before the field existed
    write(folder / "meta.json", json.dumps(meta))
    assert open_index(folder).meta.bytes_per_vector == 32
    edit_meta(folder, bytes_per_vector=8)
    with pytest.raises(IndexFileError, match=r"unreadable index metadata"):
        open_index(folder)
    edit_meta(folder, bytes_per_vector=None, precision="binary", dim=12)
    with pytest.raises(IndexFileError, match=r"unreadable index metadata"):  # not a traceback
        open_index(folder)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def scramble(path: Path) -> None:
    path.write_bytes(b"\x07" * path.stat().st_size)


def test_cli_index_then_search_prints_hits_and_writes_json(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    code, output = run("index", str(tiny_model_dir), str(corpus), "--dim", "16", "--precision", "binary",
                       "--out", str(tmp_path / "idx"))  # fmt: skip
    assert code == 0, output
    assert "Indexed 60 documents" in output and "flat 16-dim binary prefixes (2 B/vector) on faiss" in output
    assert json.loads((tmp_path / "idx" / "meta.json").read_text(encoding="utf-8"))["bytes_per_vector"] == 2
    queries = write(tmp_path / "queries.txt", "river bank\nboat rain\n")
    code, output = run("search", str(tmp_path / "idx"), "--queries", str(queries), "--k", "3", "--shortlist", "20",
                       "--json", str(tmp_path / "hits.json"))  # fmt: skip
    assert code == 0, output
    record = json.loads((tmp_path / "hits.json").read_text(encoding="utf-8"))
    assert record["schema"] == "mic-search/1" and [r["query_id"] for r in record["results"]] == ["1", "2"]
    assert all(len(r["hits"]) == 3 for r in record["results"])
    assert record["results"][0]["hits"][0]["id"] in output


def test_mic_index_warns_of_documents_without_text_and_goes_on(tmp_path: Path, tiny_model_dir: Path) -> None:
    corpus = write(tmp_path / "docs.tsv", "_id\ttext\na\triver bank\nb\t \nc\tboat rain\n")
    code, output = run("index", str(tiny_model_dir), str(corpus), "--dim", "8", "--out", str(tmp_path / "idx"))
    assert code == 0, output
    assert f"warning: {corpus}: left out 1 document with no text ('b')." in output and "Indexed 2 documents" in output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["search", "{index}", "--queries", "{missing}"], "not found"),
        (["search", "{index}"], "give exactly one of --query TEXT or --queries FILE"),
        (["search", "{index}", "--query", "a", "--queries", "{missing}"], "give exactly one of --query"),
        (["search", "{corpus_dir}", "--query", "river"], "not a mic index (no meta.json)"),
        (["search", "{index}", "--query", "river", "--k", "20", "--shortlist", "10"], "need 1 <= --k <= --shortlist"),
        (["search", "{index}", "--query", "   "], "query 'query' has no text"),
        (["index", "{model}", "{missing}", "--dim", "8", "--out", "{out}"], "not found"),
        (["index", "{model}", "{corpus}", "--dim", "99", "--out", "{out}"], "--dim 99 is outside 1..32"),
        (
            ["index", "{model}", "{corpus}", "--dim", "12", "--precision", "binary", "--out", "{out}"],
            "--dim 12 is not a multiple of 8 (allowed: 8, 16, 24, 32)",
        ),
        (["index", "{model}", "{corpus}", "--dim", "8", "--out", ".", "--overwrite"], "--out '.' names no new folder"),
        (
            ["index", "{model}", "{corpus}", "--dim", "8", "--out", "{corpus}/idx"],
            "corpus.jsonl is a file, not a folder",
        ),
        (["search", "{index}", "--query", "river", "--json", "{corpus}/hits.json"], "corpus.jsonl is a file, not a"),
        (["search", "{index}", "--query", "river", "--json", "{index}"], "is a folder; give a file name"),
    ],
)
def test_cli_user_errors_exit_2_with_one_message(
    arguments: list[str], message: str, index: Path, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    values = {"index": index, "model": tiny_model_dir, "corpus": corpus, "missing": tmp_path / "missing.txt",
              "out": tmp_path / "out", "corpus_dir": corpus.parent}  # fmt: skip
    code, output = run(*(argument.format(**values) for argument in arguments))
    assert code == 2, output
    assert message in output and "Traceback" not in output
    assert not (tmp_path / "out").exists()


UNREACHABLE = "http://127.0.0.1:9"
NO_QDRANT = "has no effect without --backend qdrant (the faiss index is local files in --out); add --backend qdrant"
LOCAL_URL = f"{{index}} is a faiss index, whose vectors are local files; --url {UNREACHABLE} is for an index built on a"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["index", "{model}", "{corpus}", "--dim", "8", "--url", UNREACHABLE, "--out", "{out}"], f"--url {NO_QDRANT}"),
        (["index", "{model}", "{corpus}", "--dim", "8", "--collection", "docs", "--out", "{out}"], "--collection has"),
        (
            ["index", "{model}", "{corpus}", "--dim", "8", "--adapt-sample", "20", "--out", "{out}"],
            "--adapt-sample has no effect without --adapt (it is how many documents the adapter is fitted on); add "
            "--adapt or leave --adapt-sample out.",
        ),
        (["search", "{index}", "--query", "river", "--url", UNREACHABLE], LOCAL_URL),
        (["serve", "{index}", "--port", "0", "--url", UNREACHABLE], LOCAL_URL),
        (
            ["search", "{index}", "--query", "river", "--k", "61"],
            "--k 61 is more than the 60 documents of the index; give --k 60 or less.",
        ),
        (
            ["search", "{index}", "--query", "river", "--json", "{existing}"],
            "--json {existing} exists; pass --overwrite to replace it, or choose another file.",
        ),
        (
            ["search", "{index}", "--query", "river", "--overwrite"],
            "--overwrite has no effect without --json (it replaces an existing --json file); add --json FILE or leave "
            "--overwrite out.",
        ),
    ],
)
def test_an_option_that_would_be_ignored_or_a_k_beyond_the_index_is_refused_before_any_work(
    arguments: list[str],
    message: str,
    index: Path,
    tiny_model_dir: Path,
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mic.retrieval.index
    import mic.retrieval.service

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("worked before refusing the options")

    for module, name in ((mic.retrieval.index, "build_index"), (mic.retrieval.index, "open_index"),
                         (mic.retrieval.service, "listen"), (mic.retrieval.service, "create_app")):  # fmt: skip
        monkeypatch.setattr(module, name, no_work)
    existing = write(tmp_path / "hits.json", "mine")
    values = {"index": index, "model": tiny_model_dir, "corpus": corpus, "out": tmp_path / "out", "existing": existing}
    code, output = run(*(argument.format(**values) for argument in arguments))
    assert code == 2 and output.startswith("error:") and message.format(**values) in output, output
    assert existing.read_text(encoding="utf-8") == "mine" and not (tmp_path / "out").exists()


def test_search_replaces_its_json_only_with_overwrite(index: Path, tmp_path: Path) -> None:
    hits = write(tmp_path / "hits.json", "mine")
    code, output = run("search", str(index), "--query", "river bank", "--k", "60", "--json", str(hits), "--overwrite")
    assert code == 0, output
    record = json.loads(hits.read_text(encoding="utf-8"))
    assert record["k"] == 60 and len(record["results"][0]["hits"]) == 60


def test_int8_hits_do_not_depend_on_the_chunk_size(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    queries = [Document("q0", "river bank money", "-"), Document("q1", "boat rain stone", "-")]
    hits = []
    for chunk_size in (1, 25, 10_000):
        out = tmp_path / f"chunk-{chunk_size}"
        build_index(str(tiny_model_dir), str(corpus), out, dim=8, precision="int8", rerank_precision="int8",
                    chunk_size=chunk_size)  # fmt: skip
        hits.append(search_texts(open_index(out), queries, k=5, shortlist=20))
    assert hits[0] == hits[1] == hits[2]


def test_a_second_index_of_the_corpus_reads_its_embeddings_from_the_cache(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "a", dim=8, cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache" / "embeddings").glob("*.npy")
    assert json.loads(entry.with_suffix(".json").read_text(encoding="utf-8"))["texts"] == 60

    def no_encoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the corpus was encoded again")

    from mic.encoders import Encoder

    monkeypatch.setattr(Encoder, "encode", no_encoding)
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "b", dim=16, precision="int8",
                cache_dir=tmp_path / "cache")  # fmt: skip
    assert open_index(tmp_path / "b").meta.dim == 16


def test_an_index_built_with_a_relative_model_folder_searches_from_any_folder(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "output" / "mymodel")
    monkeypatch.chdir(tmp_path)
    code, output = run("index", "output/mymodel", str(corpus), "--dim", "8", "--out", "idx")
    assert code == 0, output
    assert open_index(tmp_path / "idx").meta.model == str(tmp_path.resolve() / "output" / "mymodel")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, output = run("search", "../idx", "--query", "river bank", "--k", "3")
    assert code == 0, output
    assert "doc" in output


def test_an_index_is_encoded_on_fp32_onnx_with_the_light_query_path_unless_told(index: Path) -> None:
    meta = open_index(index).meta
    assert (meta.encoder_backend, meta.query_encoder) == ("onnx", LIGHT_ENCODER_FOLDER)


@pytest.mark.parametrize(("encoder_backend", "query_path"), [("torch", "sentence_transformers"),
                                                              ("onnx", "mic.retrieval.light_encoder")])  # fmt: skip
def test_a_search_imports_only_what_the_query_path_needs(
    encoder_backend: str, query_path: str, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    """``mic search`` loads the model (torch) or the light query path (ONNX) and the index, not the evaluation
    runners, plotting, training or adapters."""
    import subprocess
    import sys

    index = tmp_path / "idx"
    build_index(str(tiny_model_dir), str(corpus), index, dim=8, encoder_backend=encoder_backend)
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mic.cli import app\n"
        f"result = CliRunner().invoke(app, ['search', {str(index)!r}, '--query', 'river bank', '--k', '3'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    run_search = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(run_search.stdout.split())
    assert query_path in loaded and "mic.retrieval.backends.faiss" in loaded
    needless = {"matplotlib", "pytrec_eval", "mic.evaluation.analyze", "mic.evaluation.runner", "mic.training",
                "mic.adapt", "mic.losses"}  # fmt: skip
    assert needless & loaded == set()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "qdrant", "collection": "docs"}, r"--collection docs names a collection on a Qdrant server; give"),
        ({"backend": "qdrant", "rerank_precision": "int8"}, r"--rerank-precision int8 is for the faiss backend"),
    ],
)
def test_qdrant_options_that_do_not_fit_are_refused_before_the_model_loads(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, str], message: str
) -> None:
    import mic.encoders

    monkeypatch.setattr(mic.encoders, "load_encoder", lambda *args, **kwargs: pytest.fail("loaded the model"))
    with pytest.raises(RetrievalError, match=message):
        build_index("default", str(corpus), tmp_path / "idx", dim=8, **options)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["search", "serve"])
@pytest.mark.parametrize(("name", "message"), [("nosuch", "does not exist"), ("file.txt", "is a file")])
def test_a_missing_index_folder_is_named_as_missing(command: str, name: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("mine")
    args = [command, str(tmp_path / name), *(["--query", "q"] if command == "search" else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in " ".join(result.output.replace("│", " ").split())  # a click box
