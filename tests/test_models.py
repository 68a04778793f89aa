"""Model names: the packaged ``wordllama`` equals WordLlama's own ``embed``, has its own stable fingerprint, and its
token states are the token vectors its embedding averages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from mic.data import load_sentences
from mic.geometry import masked_mean_pool
from mic.models import (
    MODEL_KINDS,
    NOT_MODELS,
    WORDLLAMA_DIM,
    WORDLLAMA_MODEL,
    ModelError,
    load_model,
    model_fingerprint,
    static_token_states,
    token_layers,
)
from mic.staging import MARKER


@pytest.fixture(scope="module")
def wordllama() -> SentenceTransformer:
    return load_model(WORDLLAMA_MODEL)


def reference_embed(texts: list[str]) -> np.ndarray:
    """WordLlama's own inference: ``embed(texts, norm=True)`` on the wheel's 256-d weights, offline."""
    import wordllama

    package = Path(wordllama.__file__).parent
    return wordllama.WordLlama.load(dim=WORDLLAMA_DIM, cache_dir=package, disable_download=True).embed(texts, norm=True)


def assert_same_embeddings(model: SentenceTransformer, texts: list[str]) -> None:
    ours = model.encode(texts, convert_to_numpy=True)
    assert ours.shape == (len(texts), WORDLLAMA_DIM)
    np.testing.assert_allclose(ours, reference_embed(texts), rtol=0, atol=1e-6)


def test_wordllama_encode_equals_its_own_embed(wordllama: SentenceTransformer) -> None:
    texts = ["A man is playing a guitar.", "naïve café, 東京", "x" * 5000, "one"]  # 5000 chars: no truncation
    assert_same_embeddings(wordllama, texts)


@pytest.mark.integration
def test_wordllama_equals_its_own_embed_on_stsb(wordllama: SentenceTransformer, data_dir: Path) -> None:
    assert_same_embeddings(wordllama, load_sentences("stsb:test", data_dir)[:50])


def test_wordllama_embeds_an_empty_text_as_zeros_where_its_own_embed_gives_nan(wordllama: SentenceTransformer) -> None:
    assert not wordllama.encode([""], convert_to_numpy=True).any()
    assert np.isnan(reference_embed([""])).all()


def test_wordllama_fingerprint_is_stable_and_its_own(wordllama: SentenceTransformer, tiny_model) -> None:
    assert model_fingerprint(wordllama) == model_fingerprint(load_model(WORDLLAMA_MODEL))
    assert model_fingerprint(wordllama) != model_fingerprint(tiny_model)


def test_wordllama_leaves_the_logging_setup_alone() -> None:
    """Importing wordllama calls logging.basicConfig(level=INFO); loading it must not turn on every INFO log."""
    import logging
    import subprocess
    import sys

    script = (
        "import logging; from mic.models import load_model; load_model('wordllama'); "
        "root = logging.getLogger(); print(len(root.handlers), root.level)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", str(logging.WARNING)]


def test_static_token_states_average_to_the_sentence_embedding(wordllama: SentenceTransformer, tiny_model) -> None:
    texts = ["A man plays a guitar.", "", "Dogs run in the park on a sunny afternoon."]
    features = wordllama.preprocess(texts)
    hidden, mask = static_token_states(wordllama[0], features)
    assert hidden.shape[:2] == mask.shape and hidden.shape[0] == len(texts)
    tokens = wordllama[0].tokenizer.encode_batch(texts, add_special_tokens=False)
    assert mask.sum(dim=1).tolist() == [len(encoding.ids) for encoding in tokens]
    torch_embedding = wordllama[0](dict(features))["sentence_embedding"]
    assert (masked_mean_pool(hidden, mask) - torch_embedding).abs().max() < 1e-6
    assert token_layers(wordllama) == 0
    assert token_layers(tiny_model) == tiny_model[0].auto_model.config.num_hidden_layers


@pytest.mark.parametrize(
    ("kind", "hint"),
    [("index", "search it with mic search"), ("work folder", "finish the run with mic train --resume"),
     ("analysis", "")],
)  # fmt: skip
def test_a_mic_folder_that_is_not_a_model_is_named_for_what_it_is(tmp_path: Path, kind: str, hint: str) -> None:
    (tmp_path / MARKER).write_text(f'{{"mic_output": "{kind}", "entries": []}}')
    with pytest.raises(ModelError, match=rf"{tmp_path} is a mic {kind}, not a model.*{hint}.*; give 'default'"):
        load_model(str(tmp_path))


def test_the_kinds_named_here_are_the_kinds_mic_writes() -> None:
    from mic.adapt.adapter import ADAPTER_OUTPUT
    from mic.adapt.model import ADAPTED_MODEL_OUTPUT
    from mic.retrieval.index import INDEX_OUTPUT
    from mic.training.folders import MODEL_OUTPUT, WORK_OUTPUT

    assert set(MODEL_KINDS) == {MODEL_OUTPUT.name, ADAPTED_MODEL_OUTPUT.name}
    assert set(NOT_MODELS) == {INDEX_OUTPUT.name, ADAPTER_OUTPUT.name, WORK_OUTPUT.name}


def test_a_marked_model_folder_is_read_as_a_model_and_a_broken_marker_is_no_verdict(tmp_path: Path) -> None:
    for content in ('{"mic_output": "model", "entries": []}', "not json", '["a list"]', '{"mic_output": 3}'):
        (tmp_path / MARKER).write_text(content)
        with pytest.raises(ModelError, match="Could not load model"):  # read as a (broken) model folder
            load_model(str(tmp_path))
