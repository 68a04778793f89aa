"""``mic index --backend qdrant`` / ``mic search`` on the tiny random model: Qdrant Edge without ``--url``, and the
one-line errors of the server path (nothing listens at the URL) and of an Edge index given a ``--url``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mic.cli import app
from mic.retrieval.backends.qdrant_edge import SHARD_FOLDER

UNREACHABLE = "http://127.0.0.1:9"
"""The discard port: nothing listens there, so a connection is refused at once."""
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [str(argument) for argument in args])
    return result.exit_code, " ".join(result.stdout.split())  # rich wraps at 80 columns


@pytest.fixture(scope="module")
def edge_index(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A 30-document HNSW index with binary prefixes in a Qdrant Edge shard, built through the CLI."""
    folder = tmp_path_factory.mktemp("qdrant")
    corpus = folder / "docs.txt"
    corpus.write_text("".join(f"river bank {word} number {row}\n" for row, word in enumerate(["loan", "fish"] * 15)))
    code, output = run("index", tiny_model_dir, corpus, "--dim", "16", "--precision", "binary", "--kind", "hnsw",
                       "--backend", "qdrant", "--out", folder / "idx")  # fmt: skip
    assert code == 0, output
    assert "hnsw 16-dim binary prefixes (2 B/vector) on qdrant" in output
    return folder / "idx"


def test_without_url_the_index_is_a_qdrant_edge_shard_in_the_folder(edge_index: Path, tmp_path: Path) -> None:
    meta = json.loads((edge_index / "meta.json").read_text())
    assert meta["backend_fields"]["engine"] == "qdrant-edge" and (edge_index / SHARD_FOLDER).is_dir()
    code, output = run("search", edge_index, "--query", "river bank loan", "--k", "3", "--shortlist", "10",
                       "--json", tmp_path / "hits.json")  # fmt: skip
    assert code == 0, output
    hits = json.loads((tmp_path / "hits.json").read_text())["results"][0]["hits"]
    assert len(hits) == 3 and all(hit["id"] in meta["doc_ids"] for hit in hits)


def test_a_url_for_an_edge_index_is_refused(edge_index: Path) -> None:
    code, output = run("search", edge_index, "--query", "river", "--url", UNREACHABLE)
    assert code == 2
    expected = f"is an embedded Qdrant Edge index, whose vectors are local files; --url {UNREACHABLE} is for an index"
    assert expected in output


def test_an_unreachable_server_is_one_line_in_index_and_search(
    edge_index: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    message = f"error: Qdrant server unreachable at {UNREACHABLE}: [Errno 111] Connection refused; start it, or pass"
    code, output = run("index", tiny_model_dir, edge_index.parent / "docs.txt", "--dim", "8", "--backend", "qdrant",
                       "--url", UNREACHABLE, "--out", tmp_path / "server")  # fmt: skip
    assert (code, message in output, "Traceback" in output) == (2, True, False), output
    assert not (tmp_path / "server").exists()
    server = tmp_path / "server-index"
    server.mkdir()
    meta = json.loads((edge_index / "meta.json").read_text())
    meta["backend_fields"] = {"collection": "docs", "url": UNREACHABLE}
    (server / "meta.json").write_text(json.dumps(meta))
    code, output = run("search", server, "--query", "river")
    assert (code, message in output, "Traceback" in output) == (2, True, False), output
