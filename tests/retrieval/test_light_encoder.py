"""Indexes encoded by an ONNX backend: the backend in ``meta.json``, mismatches refused unless allowed, and the
light query path (no torch) that gives the full path's vectors and hits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize
from sentence_transformers.sentence_transformer.modules import LayerNorm, Pooling, Transformer
from typer.testing import CliRunner

from helpers import one_torch_thread  # noqa: F401  (autouse fixture)
from mic.cli import app
from mic.encoders import Encoder, load_encoder
from mic.retrieval import RetrievalError, build_index, open_index
from mic.retrieval.corpus import Document
from mic.retrieval.errors import IndexFileError
from mic.retrieval.index import load_query_encoder, search_texts
from mic.retrieval.light_encoder import HEAD_FILE, LIGHT_ENCODER_FOLDER, LightEncoder
from mic.retrieval.service import create_app

HEAVY_MODULES = ("torch", "sentence_transformers", "transformers", "datasets")
"""What the light search path must not import: seconds of start-up for a query that takes milliseconds."""
SRC = str(Path(__file__).resolve().parents[2] / "src")
WORDS = "cat dog bird fish tree rock water fire music paper glass stone river cloud light table".split()
QUERIES = [
    "a",
    "the cat sits on the table",
    "a much longer sentence about a small dog that plays music in the park near the house on sunday",
    "water " * 40,
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 documents of random word strings."""
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    rows = [{"_id": f"doc{row}", "text": " ".join(rng.choice(WORDS, 7))} for row in range(40)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def stacked_model(
    tiny_model_dir: Path, folder: Path, mode: str, *extra: torch.nn.Module, padding_side: str = "right"
) -> Path:
    """The tiny random transformer with ``mode`` pooling, then ``extra`` modules, saved to ``folder``."""
    torch.manual_seed(0)
    transformer = Transformer(str(tiny_model_dir), max_seq_length=32)
    transformer.tokenizer.padding_side = padding_side
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode=mode)
    SentenceTransformer(modules=[transformer, pooling, *extra]).save(str(folder))
    return folder


def build(model: Path, corpus: Path, out: Path, backend: str) -> Path:
    build_index(str(model), str(corpus), out, dim=8, encoder_backend=backend)
    return out


def cosine_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left * right).sum(1) / np.linalg.norm(left, axis=1) / np.linalg.norm(right, axis=1)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_an_onnx_index_records_its_backend_and_the_light_path_matches_the_full_one(
    tiny_st_dir: Path, corpus: Path, tmp_path: Path, backend: str
) -> None:
    torch_index = open_index(build(tiny_st_dir, corpus, tmp_path / "torch", "torch"))
    index = open_index(build(tiny_st_dir, corpus, tmp_path / "onnx", backend))
    assert (torch_index.meta.encoder_backend, torch_index.meta.query_encoder) == ("torch", None)
    assert (index.meta.encoder_backend, index.meta.query_encoder) == (backend, LIGHT_ENCODER_FOLDER)
    assert index.meta.fingerprint == torch_index.meta.fingerprint  # the model's, the backend recorded apart
    light = load_query_encoder(index)
    assert isinstance(light, LightEncoder)
    full = load_encoder(str(tiny_st_dir), backend=backend)
    light_vectors, full_vectors = light.encode(QUERIES, batch_size=3), full.encode(QUERIES, batch_size=3).numpy()
    assert cosine_rows(light_vectors, full_vectors).min() >= 0.9999
    # The same batches as the full path: dynamic int8 quantizes each batch's activations with one range.
    np.testing.assert_allclose(light_vectors, full_vectors, atol=1e-5, rtol=0)
    queries = [Document(str(row), text, "test") for row, text in enumerate(QUERIES)]
    light_hits = search_texts(index, queries, k=5, shortlist=20)
    full_hits = search_texts(index, queries, k=5, shortlist=20, model=str(tiny_st_dir))  # a named model: full path
    assert [[hit for hit, _ in result.hits] for result in light_hits] == [
        [hit for hit, _ in result.hits] for result in full_hits
    ]


@pytest.mark.parametrize(
    ("mode", "extra", "padding_side"),
    [
        ("cls", lambda: [Dense(32, 16), Normalize()], "right"),
        ("max", lambda: [Dense(32, 32, activation_function=None)], "right"),
        ("mean", lambda: [Normalize(), Dense(32, 32, bias=False, activation_function=None), Normalize()], "right"),
        ("cls", lambda: [Normalize()], "left"),
        ("mean", lambda: [Dense(32, 32, use_residual=True), Normalize()], "right"),
    ],
    ids=["cls-dense-tanh", "max-dense-identity", "mean-adapter", "cls-left-padding", "residual-dense"],
)
def test_the_light_path_applies_every_plain_head(
    tiny_model_dir: Path, corpus: Path, tmp_path: Path, mode: str, extra: object, padding_side: str
) -> None:
    model = stacked_model(tiny_model_dir, tmp_path / "model", mode, *extra(), padding_side=padding_side)  # type: ignore[operator]
    index = open_index(build(model, corpus, tmp_path / "index", "onnx"))
    light = load_query_encoder(index)
    assert isinstance(light, LightEncoder)
    full = load_encoder(str(model), backend="onnx").encode(QUERIES).numpy()
    assert cosine_rows(light.encode(QUERIES), full).min() >= 0.9999


@pytest.mark.parametrize(
    "extra",
    [
        lambda: LayerNorm(32),
        lambda: Dense(32, 16, use_residual=True),
        lambda: Dense(32, 32, module_output_name="token_embeddings"),
        lambda: Dense(32, 32, module_input_name="token_embeddings"),
    ],
    ids=["layer-norm", "projected-residual", "another-output", "another-input"],
)
def test_a_module_the_light_path_cannot_run_leaves_queries_on_the_full_path(
    tiny_model_dir: Path, corpus: Path, tmp_path: Path, extra: object
) -> None:
    model = stacked_model(tiny_model_dir, tmp_path / "model", "mean", extra())  # type: ignore[operator]
    index = open_index(build(model, corpus, tmp_path / "index", "onnx"))
    assert index.meta.query_encoder is None
    assert not (index.path / LIGHT_ENCODER_FOLDER).exists()
    encoder = load_query_encoder(index)
    assert isinstance(encoder, Encoder) and encoder.backend == "onnx"
    assert search_texts(index, [Document("q", "the cat", "test")], k=3)[0].hits


def test_a_damaged_light_path_is_reported(tiny_st_dir: Path, corpus: Path, tmp_path: Path) -> None:
    index = open_index(build(tiny_st_dir, corpus, tmp_path / "index", "onnx-int8"))
    (index.path / LIGHT_ENCODER_FOLDER / HEAD_FILE).unlink()
    with pytest.raises(IndexFileError, match=r"unreadable query encoder .*build the index again"):
        load_query_encoder(index)


def test_queries_of_another_backend_are_refused_unless_allowed(tiny_st_dir: Path, corpus: Path, tmp_path: Path) -> None:
    index = open_index(build(tiny_st_dir, corpus, tmp_path / "index", "onnx-int8"))
    with pytest.raises(RetrievalError, match=r"encoded by the onnx-int8 encoder backend; .* encoded by torch"):
        load_query_encoder(index, encoder_backend="torch")
    with pytest.raises(RetrievalError, match="--allow-backend-mismatch"):
        create_app(index.path, encoder_backend="onnx")
    encoder = load_query_encoder(index, encoder_backend="torch", allow_backend_mismatch=True)
    assert isinstance(encoder, Encoder) and encoder.backend == "torch"


def test_mic_search_refuses_a_backend_mismatch_and_accepts_it_when_asked(
    tiny_st_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "index"
    made = runner.invoke(app, ["index", str(tiny_st_dir), str(corpus), "--dim", "8", "--out", str(out),
                               "--encoder-backend", "onnx"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads((out / "meta.json").read_text())["encoder_backend"] == "onnx"
    search = ["search", str(out), "--query", "the cat", "--encoder-backend", "torch"]
    refused = runner.invoke(app, search)
    assert refused.exit_code == 2
    assert "encoded by the onnx encoder backend; these queries would be encoded by torch" in refused.output
    allowed = runner.invoke(app, [*search, "--allow-backend-mismatch"])
    assert allowed.exit_code == 0, allowed.output
    serve = runner.invoke(app, ["serve", str(out), "--port", "0", "--encoder-backend", "onnx-int8"])
    assert serve.exit_code == 2 and "encoded by the onnx encoder backend" in serve.output, serve.output
    unknown = runner.invoke(app, ["search", str(out), "--query", "x", "--encoder-backend", "onnx-fp8"])
    assert unknown.exit_code == 2
    assert "--encoder-backend 'onnx-fp8' is not one of torch, onnx, onnx-int8" in unknown.output
    index = ["index", str(tiny_st_dir), str(corpus), "--dim", "8", "--out", str(tmp_path / "other")]
    unknown = runner.invoke(app, [*index, "--encoder-backend", "onnx-fp8"])
    assert unknown.exit_code == 2
    assert "--encoder-backend 'onnx-fp8' is not one of torch, onnx, onnx-int8" in unknown.output


def test_the_light_search_path_imports_no_torch(tiny_st_dir: Path, corpus: Path, tmp_path: Path) -> None:
    out = build(tiny_st_dir, corpus, tmp_path / "index", "onnx-int8")
    script = (
        "import sys\n"
        "from mic.cli import app\n"
        f"sys.argv = ['mic', 'search', {str(out)!r}, '--query', 'the cat']\n"
        "try:\n    app()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        f"print(sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "doc" in result.stdout  # it found documents
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_model_without_a_transformer_is_indexed_on_torch_unless_onnx_is_asked_for(
    corpus: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["index", "wordllama", str(corpus), "--dim", "64", "--out", str(tmp_path / "default")])
    assert made.exit_code == 0, made.output
    assert "wordllama has no transformer to export, so it is encoded on the torch encoder backend" in made.output
    meta = json.loads((tmp_path / "default" / "meta.json").read_text())
    assert (meta["encoder_backend"], meta["query_encoder"]) == ("torch", None)
    asked = ["index", "wordllama", str(corpus), "--dim", "64", "--out", str(tmp_path / "onnx")]
    refused = runner.invoke(app, [*asked, "--encoder-backend", "onnx"])
    assert refused.exit_code == 2
    assert "Encoder backend 'onnx' exports a transformer, but this model starts with StaticEmbedding" in refused.output
    assert not (tmp_path / "onnx").exists()


def test_the_full_query_path_keeps_its_export_in_the_cache_dir_it_is_given(
    tiny_st_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    index = open_index(build(tiny_st_dir, corpus, tmp_path / "index", "onnx"))
    encoder = load_query_encoder(index, model=str(tiny_st_dir), cache_dir=tmp_path / "cache")  # a model: full path
    assert isinstance(encoder, Encoder)
    assert [path.name for path in (tmp_path / "cache" / "onnx").iterdir()] == [encoder.model[0].model.path.name]
