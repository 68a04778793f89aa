"""Encoder backends (``mic.onnx``): exports agree with the torch model, are cached, and fail with clear messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer

import mic.encoders
import mic.onnx
from helpers import one_torch_thread  # noqa: F401  (autouse fixture)
from mic.cache import EmbeddingStore
from mic.encoders import EvaluationError, encoder_fingerprint, load_encoder
from mic.models import ModelError
from mic.onnx import onnx_path

# Lengths from 1 to about 30 tokens, so batches are padded and the tiny model's 32-token limit truncates.
SENTENCES = [
    "a",
    "the cat sits on the table",
    "a much longer sentence about a small dog that plays music in the park near the house on sunday",
    "red birds sing quickly",
    "water " * 40,
    "who eats the green food under the big table while the child sleeps happily",
]

INT8_MEAN_COSINE = 0.999
"""The ``onnx-int8`` tolerance: mean cosine to torch float32 over :data:`SENTENCES`. The tiny random model measured
0.99997 (min 0.99996); it quantizes more easily than a trained one (all-MiniLM-L6-v2: mean 0.993 on 100 SciFact
queries, see ``benchmarks/encoder_speed.py`` for its STS-B scores)."""


def cosines(model: str, backend: str, cache: Path) -> torch.Tensor:
    """Per-sentence cosine of ``model``'s embeddings of :data:`SENTENCES` on ``backend`` to those on torch."""
    expected = load_encoder(model).encode(SENTENCES, batch_size=4)
    actual = load_encoder(model, backend=backend, cache_dir=cache).encode(SENTENCES, batch_size=4)
    assert actual.shape == expected.shape
    return F.cosine_similarity(actual, expected)


def test_onnx_float32_matches_torch_sentence_by_sentence(tiny_st_dir: Path, tmp_path: Path) -> None:
    assert cosines(str(tiny_st_dir), "onnx", tmp_path).min() >= 0.999


def test_onnx_int8_stays_within_its_tolerance(tiny_st_dir: Path, tmp_path: Path) -> None:
    similarity = cosines(str(tiny_st_dir), "onnx-int8", tmp_path)
    assert similarity.mean() >= INT8_MEAN_COSINE


def test_the_export_is_made_once_and_reused(tiny_st_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exports: list[Path] = []
    original = mic.onnx.export_onnx
    monkeypatch.setattr(mic.onnx, "export_onnx", lambda model, path: exports.append(path) or original(model, path))
    first = load_encoder(str(tiny_st_dir), backend="onnx-int8", cache_dir=tmp_path)
    fingerprint = encoder_fingerprint(load_encoder(str(tiny_st_dir)))
    files = {backend: onnx_path(fingerprint, backend, tmp_path) for backend in ("onnx", "onnx-int8")}
    stamps = {backend: path.stat().st_mtime_ns for backend, path in files.items()}
    load_encoder(str(tiny_st_dir), backend="onnx", cache_dir=tmp_path)
    second = load_encoder(str(tiny_st_dir), backend="onnx-int8", cache_dir=tmp_path)
    assert len(exports) == 1
    assert {backend: path.stat().st_mtime_ns for backend, path in files.items()} == stamps
    assert sorted(path.name for path in (tmp_path / "onnx").iterdir()) == sorted(path.name for path in files.values())
    torch.testing.assert_close(first.encode(SENTENCES), second.encode(SENTENCES))


def test_an_interrupted_export_leaves_nothing(
    tiny_st_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(model: SentenceTransformer, path: Path) -> None:
        path.write_bytes(b"half an onnx file")
        raise KeyboardInterrupt

    monkeypatch.setattr(mic.onnx, "export_onnx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_encoder(str(tiny_st_dir), backend="onnx", cache_dir=tmp_path)
    assert list((tmp_path / "onnx").iterdir()) == []


def test_each_backend_has_its_own_fingerprint_and_cache_entries(tiny_st_dir: Path, tmp_path: Path) -> None:
    encoders = [load_encoder(str(tiny_st_dir), backend=backend, cache_dir=tmp_path) for backend in mic.onnx.BACKENDS]
    assert [encoder.backend for encoder in encoders] == list(mic.onnx.BACKENDS)
    assert len({encoder_fingerprint(encoder) for encoder in encoders}) == len(encoders)
    store = EmbeddingStore(cache_dir=tmp_path)
    torch_output, int8_output = (store.embed(encoders[index], SENTENCES, persist=True) for index in (0, 2))
    assert not torch.equal(torch_output, int8_output)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2


def test_a_missing_onnxruntime_names_what_to_install(
    tiny_st_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    with pytest.raises(ModelError, match=r"'onnx' needs onnxruntime: pip install onnxruntime"):
        load_encoder(str(tiny_st_dir), backend="onnx", cache_dir=tmp_path)


def test_a_static_model_is_refused_before_onnxruntime_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installing onnxruntime would not make a static-embedding model run on it: that is said first."""
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    static = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_dim=8)])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(mic.onnx.NotATransformerError, match=r"starts with StaticEmbedding; use the torch backend"):
        mic.onnx.use_backend(static, "onnx", tmp_path)


def test_an_unknown_backend_lists_the_allowed_ones(tiny_st_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"backend 'tensorrt' is not one of torch, onnx, onnx-int8"):
        load_encoder(str(tiny_st_dir), backend="tensorrt")


def test_token_statistics_ask_for_the_torch_backend(tiny_st_dir: Path, tmp_path: Path) -> None:
    encoder = load_encoder(str(tiny_st_dir), backend="onnx", cache_dir=tmp_path)
    with pytest.raises(EvaluationError, match="need the torch backend, not onnx"):
        next(encoder.layer_batches(SENTENCES, layer=1))


def test_an_onnx_backend_loads_the_model_on_the_cpu_when_no_device_is_given(
    tiny_st_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices: list[str | None] = []
    load_model = mic.encoders.load_model

    def recording(name: str, device: str | None = None) -> SentenceTransformer:
        devices.append(device)
        return load_model(name, device=device)

    monkeypatch.setattr(mic.encoders, "load_model", recording)  # sentence-transformers would pick CUDA or MPS
    load_encoder(str(tiny_st_dir), backend="onnx", cache_dir=tmp_path)
    load_encoder(str(tiny_st_dir))
    assert devices == ["cpu", None]


@pytest.mark.parametrize("device", ["cuda", "mps", "cuda:1"])
def test_an_onnx_backend_on_another_device_is_refused_before_loading(
    tiny_st_dir: Path, monkeypatch: pytest.MonkeyPatch, device: str
) -> None:
    monkeypatch.setattr(mic.encoders, "load_model", lambda *args, **kwargs: pytest.fail("loaded the model"))
    with pytest.raises(ModelError, match=f"--device {device};.*--encoder-backend torch"):
        load_encoder(str(tiny_st_dir), backend="onnx", device=device)
