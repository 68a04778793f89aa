"""The settings ``mic eval``, ``mic analyze`` and ``mic compare`` share, as one object built once per command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mic.cache import EmbeddingStore
from mic.defaults import DEFAULT_BATCH_SIZE, DEFAULT_SEED
from mic.encoders import Encoder, load_encoder
from mic.onnx import DEFAULT_BACKEND


@dataclass(frozen=True)
class EvalOptions:
    """How to load data and models and how to encode, recorded in every result.

    Attributes:
        data_dir: folder of the benchmark files (``None``: ``$MIC_DATA_DIR``).
        fit_data: the sentences a ``pca:`` model is fitted on (``None``: STS-B train).
        batch_size: encoding batch size.
        device: torch device (``None``: sentence-transformers' choice).
        seed: seeds torch (and the uniformity sample of the geometry); recorded.
        show_progress_bar: encoding progress bars.
        command: the command line, recorded.
        cache_dir: the embedding cache of retrieval corpora and PCA fit sentences, and the ONNX exports
            (``None``: ``$MIC_CACHE_DIR``, else ``~/.cache/mic``).
        backend: the encoder backend, ``torch``, ``onnx`` or ``onnx-int8`` (see :mod:`mic.onnx`); recorded.
    """

    data_dir: str | Path | None = None
    fit_data: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    device: str | None = None
    seed: int = DEFAULT_SEED
    show_progress_bar: bool | None = None
    command: str | None = None
    cache_dir: str | Path | None = None
    backend: str = DEFAULT_BACKEND

    def store(self) -> EmbeddingStore:
        """A fresh embedding store with these encoding settings (one per command)."""
        return EmbeddingStore(self.batch_size, self.show_progress_bar, self.cache_dir)

    def load_encoder(self, spec: str, store: EmbeddingStore | None = None) -> Encoder:
        """:func:`mic.evaluation.load_encoder` with these settings; a PCA fit is embedded through ``store``
        (default: a fresh one) and kept in its disk cache, so refitting the same model encodes nothing."""
        store = store or self.store()
        return load_encoder(
            spec,
            fit_data=self.fit_data,
            data_dir=self.data_dir,
            device=self.device,
            embed=lambda encoder, sentences: store.embed(encoder, sentences, persist=True),
            backend=self.backend,
            cache_dir=self.cache_dir,
        )


DEFAULT_OPTIONS = EvalOptions()
