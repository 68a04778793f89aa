"""``mic adapt MODEL``: the model folder it writes, the embedding cache it reads, and a wrong base model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

import mic.adapt.run
from mic.adapt import AdaptConfig, Adapter, AdapterError
from mic.adapt.fit import fit
from mic.adapt.run import run_adapt, run_apply
from mic.encoders import Encoder, load_encoder
from mic.evaluation import run_eval

FIT = {"steps": 5, "batch_size": 16, "learning_rate": 1e-2}


def config(model: Path, data: list[Path], cache: Path, **fields: object) -> AdaptConfig:
    fields = {"fit": FIT, **fields}
    return AdaptConfig(model=str(model), data=[str(path) for path in data], dims=[4, 8, 16], cache_dir=str(cache),
                       **fields)  # fmt: skip


def perturbed_copy(model_dir: Path, out: Path) -> Path:
    """The same architecture with one weight changed: another model, another fingerprint."""
    model = SentenceTransformer(str(model_dir))
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.save(str(out))
    return out


@pytest.fixture
def encode_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the texts of every real encoding (cache misses)."""
    calls: list[int] = []
    original = Encoder.encode

    def counting(self: Encoder, sentences, *args, **kwargs):
        calls.append(len(sentences))
        return original(self, sentences, *args, **kwargs)

    monkeypatch.setattr(Encoder, "encode", counting)
    return calls


def test_model_folder_round_trips_and_encodes_like_the_adapter(
    tiny_st_dir: Path, sentence_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "adapted"
    result = run_adapt(config(tiny_st_dir, [sentence_file], tmp_path / "cache"), out, show_progress_bar=False)
    texts = ["a cat sits on the table", "the dog plays music", "red birds sing"]
    base = SentenceTransformer(str(tiny_st_dir))
    expected = F.normalize(result.adapter.transform(base.encode(texts, convert_to_tensor=True)), dim=-1)

    loaded = SentenceTransformer(str(out))  # stock modules only: no trust_remote_code
    assert [type(module).__name__ for module in loaded] == ["Transformer", "Pooling", "Normalize", "Dense", "Normalize"]
    torch.testing.assert_close(loaded.encode(texts, convert_to_tensor=True), expected, atol=1e-5, rtol=0)
    short = SentenceTransformer(str(out), truncate_dim=8).encode(texts, convert_to_tensor=True)
    torch.testing.assert_close(short, expected[:, :8], atol=1e-5, rtol=0)

    saved = Adapter.load(out / "adapter")
    torch.testing.assert_close(saved.transform(torch.eye(32)), result.adapter.transform(torch.eye(32)))
    info = json.loads((out / "mic_adapt.json").read_text())
    assert info["base_fingerprint"] == saved.base_fingerprint and info["config"]["fit"]["steps"] == 5
    assert info["rows"] == 40 and "encode_seconds" in info and "fit_seconds" in info


def test_an_adapted_model_runs_on_the_onnx_backend(tiny_st_dir: Path, sentence_file: Path, tmp_path: Path) -> None:
    """Only the transformer is exported; the adapter's Dense and Normalize run as the model's own modules."""
    out = tmp_path / "adapted"
    run_adapt(config(tiny_st_dir, [sentence_file], tmp_path / "cache"), out, show_progress_bar=False)
    texts = ["a cat sits on the table", "the dog plays music in the park near the house", "red"]
    expected = load_encoder(str(out)).encode(texts)
    actual = load_encoder(str(out), backend="onnx", cache_dir=tmp_path / "cache").encode(texts)
    assert F.cosine_similarity(actual, expected).min() >= 0.999


def test_a_base_model_without_normalize_gets_one_after_the_adapter(
    tiny_model_dir: Path, sentence_file: Path, tmp_path: Path
) -> None:
    transformer = Transformer(str(tiny_model_dir), max_seq_length=32)
    plain = SentenceTransformer(modules=[transformer, Pooling(32)])
    plain.save(str(tmp_path / "plain"))
    run_adapt(
        config(tmp_path / "plain", [sentence_file], tmp_path / "cache"), tmp_path / "out", show_progress_bar=False
    )
    modules = [type(module).__name__ for module in SentenceTransformer(str(tmp_path / "out"))]
    assert modules == ["Transformer", "Pooling", "Dense", "Normalize"]


def test_every_mic_command_reads_the_folder(
    tiny_st_dir: Path, sentence_file: Path, scored_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "adapted"
    run_adapt(config(tiny_st_dir, [sentence_file], tmp_path / "cache"), out, show_progress_bar=False)
    result = run_eval(str(out), [str(scored_file)], [32, 8])
    assert result.embedding_dim == 32 and set(result.tasks[str(scored_file)].scores) == {32, 8}


def test_supervised_fit_reads_scored_pairs(
    tiny_st_dir: Path, sentence_file: Path, scored_file: Path, tmp_path: Path
) -> None:
    chosen = config(tiny_st_dir, [sentence_file], tmp_path / "cache", supervised=True, supervision=[str(scored_file)])
    result = run_adapt(chosen, tmp_path / "out", show_progress_bar=False)
    assert result.adapter.info["supervision"] == {str(scored_file): 30}
    assert "task" in result.adapter.info["final_terms"]


def test_the_cache_is_reused_and_invalidated_by_model_or_data(
    tiny_st_dir: Path, sentence_file: Path, tmp_path: Path, encode_calls: list[int]
) -> None:
    cache = tmp_path / "cache"
    run_adapt(config(tiny_st_dir, [sentence_file], cache), tmp_path / "a", show_progress_bar=False)
    assert encode_calls == [40]
    again = run_adapt(config(tiny_st_dir, [sentence_file], cache, fit={**FIT, "seed": 1}), tmp_path / "a",
                      show_progress_bar=False, overwrite=True)  # fmt: skip
    assert encode_calls == [40], "a second fit with other settings must not encode again"
    assert again.adapter.info["settings"]["seed"] == 1

    changed = tmp_path / "changed.txt"
    changed.write_text(sentence_file.read_text() + "one more sentence here\n")
    run_adapt(config(tiny_st_dir, [changed], cache), tmp_path / "b", show_progress_bar=False)
    assert encode_calls == [40, 41]

    other = perturbed_copy(tiny_st_dir, tmp_path / "other-model")
    run_adapt(config(other, [sentence_file], cache), tmp_path / "c", show_progress_bar=False)
    assert encode_calls == [40, 41, 40]


def test_an_adapter_refuses_another_base_model_naming_both(
    tiny_st_dir: Path, sentence_file: Path, tmp_path: Path
) -> None:
    run_adapt(config(tiny_st_dir, [sentence_file], tmp_path / "cache"), tmp_path / "a", show_progress_bar=False)
    other = perturbed_copy(tiny_st_dir, tmp_path / "other-model")
    with pytest.raises(AdapterError, match=f"fitted on embeddings of '{tiny_st_dir}'.*not of '{other}'"):
        run_apply(str(other), tmp_path / "a" / "adapter", tmp_path / "b")
    assert not (tmp_path / "b").exists()
    run_apply(str(tiny_st_dir), tmp_path / "a" / "adapter", tmp_path / "b")
    assert (tmp_path / "b" / "mic_adapt.json").is_file()


def test_dims_larger_than_the_model_are_refused(tiny_st_dir: Path, sentence_file: Path, tmp_path: Path) -> None:
    chosen = config(tiny_st_dir, [sentence_file], tmp_path / "cache")
    chosen.dims = [8, 64]
    with pytest.raises(AdapterError, match="dim 64 is larger than the 32-dim embeddings of the input"):
        run_adapt(chosen, tmp_path / "out", show_progress_bar=False)


def test_scr_reads_the_models_token_states_once(tiny_st_dir: Path, sentence_file: Path, tmp_path: Path) -> None:
    from mic.adapt.tokens import MAX_TOKENS, token_states

    cache = tmp_path / "cache"
    result = run_adapt(config(tiny_st_dir, [sentence_file], cache, fit={**FIT, "scr": 1.0}), tmp_path / "a",
                       show_progress_bar=False)  # fmt: skip
    assert result.adapter.info["scr_form"] == "token"
    entries = list((cache / "tokens").glob("*.npz"))
    assert len(entries) == 1
    encoder = Encoder("tiny", SentenceTransformer(str(tiny_st_dir)))
    texts = sentence_file.read_text().splitlines()
    states = token_states(encoder, texts, fingerprint="x", cache_dir=tmp_path / "fresh")
    assert states.hidden.shape == (40, MAX_TOKENS, 32) and states.mask.shape == (40, MAX_TOKENS)
    lengths = states.mask.sum(dim=1)
    assert lengths.min() >= 3 and (states.hidden[states.mask == 0] == 0).all()
    pooled = (states.hidden * states.mask[..., None]).sum(dim=1) / lengths[:, None]
    torch.testing.assert_close(F.normalize(pooled, dim=-1), encoder.encode(texts), atol=2e-3, rtol=0)


def test_scr_reads_a_static_models_token_vectors(sentence_file: Path, tmp_path: Path) -> None:
    """WordLlama's token states are its token vectors: the adapter's SCR takes its token-level form."""
    chosen = config(Path("wordllama"), [sentence_file], tmp_path / "cache", fit={**FIT, "scr": 1.0})
    chosen.model, chosen.dims = "wordllama", [4, 8]
    assert run_adapt(chosen, tmp_path / "a", show_progress_bar=False).adapter.info["scr_form"] == "token"


def test_the_adapter_is_fitted_on_the_vectors_of_the_chosen_backend(
    tiny_st_dir: Path, sentence_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: dict[str, torch.Tensor] = {}

    def recording(embeddings: torch.Tensor, *args: object, **kwargs: object) -> Adapter:
        fitted[str(kwargs["base_fingerprint"]) + str(len(fitted))] = embeddings
        return fit(embeddings, *args, **kwargs)

    monkeypatch.setattr(mic.adapt.run, "fit", recording)
    cache = tmp_path / "cache"
    run_adapt(config(tiny_st_dir, [sentence_file], cache), tmp_path / "torch", show_progress_bar=False)
    out = tmp_path / "int8"
    run_adapt(config(tiny_st_dir, [sentence_file], cache, encoder_backend="onnx-int8"), out, show_progress_bar=False)
    (torch_name, torch_vectors), (int8_name, int8_vectors) = fitted.items()
    assert torch_name[:-1] == int8_name[:-1]  # the adapter's base is the torch model either way
    texts = sentence_file.read_text().splitlines()
    expected = load_encoder(str(tiny_st_dir), backend="onnx-int8", cache_dir=cache).encode(texts)
    torch.testing.assert_close(int8_vectors, expected, atol=1e-6, rtol=0)
    assert not torch.equal(int8_vectors, torch_vectors)
    assert json.loads((out / "mic_adapt.json").read_text())["config"]["encoder_backend"] == "onnx-int8"
    assert type(SentenceTransformer(str(out))[0].auto_model).__name__ == "BertModel"  # saved as the torch model
