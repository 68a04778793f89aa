"""``build_index(..., adapt=True)`` / ``mic index --adapt``: the adapter fitted on the documents, inside the index.

The adapter in the index is ``mic adapt``'s, fitted on the same vectors with the same settings and seed; the
index holds the adapted documents and adapts every query before the funnel.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import mic.adapt
from mic.adapt import AdaptConfig
from mic.adapt.run import run_adapt
from mic.cli import app
from mic.encoders import load_encoder
from mic.retrieval import exact_search
from mic.retrieval.corpus import Document
from mic.retrieval.errors import IndexFileError
from mic.retrieval.index import ADAPTER_FOLDER, adapter_rows, build_index, open_index, search_texts

SETTINGS = {"steps": 20, "batch_size": 64}
"""A short fit: the comparison is exact, however long the fit."""
WORDS = "river bank money loan water fish stone bridge market price boat rain cat dog sings runs".split()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 distinct random word strings, one document per line."""
    generator = random.Random(0)
    lines: dict[str, None] = {}
    while len(lines) < 200:
        lines[" ".join(generator.choices(WORDS, k=generator.randint(3, 8)))] = None
    path = tmp_path_factory.mktemp("corpus") / "docs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("indexes") / "idx"
    build_index(str(tiny_model_dir), str(corpus), out, dim=8, adapt=True, adapt_settings=SETTINGS, seed=3)
    return out


def test_the_adapter_in_the_index_is_mic_adapts(
    index: Path, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    opened = open_index(index)
    config = AdaptConfig(model=str(tiny_model_dir), data=[str(corpus)], fit={**SETTINGS, "seed": 3},
                         encoder_backend=opened.meta.encoder_backend)  # fmt: skip
    reference = run_adapt(config, tmp_path / "adapted", show_progress_bar=False).adapter
    assert opened.meta.adapter is not None and (opened.meta.adapter.rows, opened.meta.adapter.seed) == (200, 3)
    assert (index / ADAPTER_FOLDER / "adapter.json").is_file()
    vectors = torch.randn(50, 32, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(opened.adapter.transform(vectors), reference.transform(vectors), rtol=0, atol=1e-6)


def test_queries_are_adapted_before_the_funnel(index: Path, tiny_model_dir: Path, corpus: Path) -> None:
    opened = open_index(index)
    encoder = load_encoder(str(tiny_model_dir), backend=opened.meta.encoder_backend)
    documents = corpus.read_text(encoding="utf-8").splitlines()
    queries = ["river bank money", "boat rain stone"]
    results = search_texts(opened, [Document(str(row), text, "-") for row, text in enumerate(queries)], k=5,
                           shortlist=len(documents))  # fmt: skip
    adapt = opened.adapter.transform
    exact = exact_search(adapt(encoder.encode(queries)), adapt(encoder.encode(documents)), 32, 5)
    for result, rows, scores in zip(results, exact.indices, exact.scores, strict=True):
        np.testing.assert_allclose([score for _, score in result.hits], scores, rtol=0, atol=1e-3)  # float16 re-rank
        assert [identifier for identifier, _ in result.hits] == [opened.meta.doc_ids[row] for row in rows]


def test_a_sample_fits_the_adapter_on_that_many_documents(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    meta = build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, adapt=True, adapt_sample=80,
                       adapt_settings=SETTINGS)  # fmt: skip
    assert meta.adapter is not None and meta.adapter.rows == 80 and "fit" in meta.build_seconds


@pytest.fixture
def fit_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """The arguments of every :func:`mic.adapt.fit` call, which still fits."""
    calls: list[dict[str, object]] = []
    real = mic.adapt.fit

    def recording(embeddings: torch.Tensor, dims: list[int], **options: object) -> mic.adapt.Adapter:
        calls.append({"embeddings": embeddings, **options})
        return real(embeddings, dims, **options)

    monkeypatch.setattr(mic.adapt, "fit", recording)
    return calls


def test_an_int8_index_fits_its_adapter_to_the_fp32_encoding_of_the_sample(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path, fit_calls: list[dict[str, object]]
) -> None:
    lines: list[str] = []
    meta = build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, adapt=True, adapt_sample=80,
                       adapt_settings=SETTINGS, seed=3, encoder_backend="onnx-int8", report=lines.append)  # fmt: skip
    (call,) = fit_calls
    documents = corpus.read_text(encoding="utf-8").splitlines()
    sample = [documents[row] for row in adapter_rows(len(documents), 80, 3, SETTINGS)]
    fp32 = load_encoder(str(tiny_model_dir), backend="onnx").encode(sample)
    torch.testing.assert_close(torch.as_tensor(call["teacher_embeddings"]), fp32, rtol=0, atol=1e-5)
    assert not torch.allclose(torch.as_tensor(call["embeddings"]), fp32, atol=1e-5)  # the int8 vectors are fitted
    assert meta.adapter is not None and (meta.adapter.rows, meta.adapter.teacher) == (80, "onnx")
    assert json.loads((tmp_path / "idx" / "meta.json").read_text())["adapter"]["teacher"] == "onnx"
    assert "teacher" in meta.build_seconds
    assert any(line.startswith("Encoded the adapter's 80 documents in fp32 on onnx, its teacher") for line in lines)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_an_fp32_index_fits_its_adapter_to_its_own_vectors(
    backend: str, tmp_path: Path, tiny_model_dir: Path, corpus: Path, fit_calls: list[dict[str, object]]
) -> None:
    meta = build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, adapt=True,
                       adapt_settings=SETTINGS, encoder_backend=backend)  # fmt: skip
    (call,) = fit_calls
    assert call["teacher_embeddings"] is None
    assert meta.adapter is not None and meta.adapter.teacher == "self" and "teacher" not in meta.build_seconds
    assert json.loads((tmp_path / "idx" / "meta.json").read_text())["adapter"]["teacher"] == "self"


def test_a_damaged_adapter_is_refused(tmp_path: Path, tiny_model_dir: Path, corpus: Path) -> None:
    build_index(str(tiny_model_dir), str(corpus), tmp_path / "idx", dim=8, adapt=True, adapt_settings=SETTINGS)
    (tmp_path / "idx" / ADAPTER_FOLDER / "adapter.safetensors").unlink()
    with pytest.raises(IndexFileError, match="is not an adapter folder.*build it again"):
        open_index(tmp_path / "idx")


@pytest.mark.parametrize(("options", "message"), [
    (["--adapt"], "--adapt fits the adapter on batches of 512 documents, but it has 200 to fit on; index more "
                  "documents, or leave out --adapt."),
    (["--adapt", "--adapt-sample", "0"], "--adapt-sample must be a positive number of documents, got 0."),
])  # fmt: skip
def test_mic_index_adapt_refuses_what_it_cannot_fit(
    options: list[str], message: str, tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    result = CliRunner().invoke(app, ["index", str(tiny_model_dir), str(corpus), "--dim", "8", "--out",
                                      str(tmp_path / "idx"), *options])  # fmt: skip
    assert result.exit_code == 2 and message in " ".join(result.stdout.split()), result.stdout
    assert not (tmp_path / "idx").exists()
