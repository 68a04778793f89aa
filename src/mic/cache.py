"""Embeddings computed once and kept on disk, keyed by the encoder and the exact texts.

Encoding a retrieval corpus takes minutes on a CPU; scoring it at seven dims, fitting an adapter on it or
re-running a benchmark should not encode it again. :func:`cached_encode` stores the full-dim float32
embeddings of a list of texts under ``CACHE_DIR/embeddings/KEY.npy`` with a JSON sidecar saying what they
are. ``KEY`` hashes the encoder's fingerprint (its weights, modules, maximum sequence length, backend and PCA
rotation, see :func:`mic.models.model_fingerprint` and :mod:`mic.onnx`) and the texts in order, so a changed
model or a changed text is a miss, never a stale hit. Writes are atomic (temporary file, then rename); an
unreadable entry is encoded again and replaced. Only files this module wrote are ever replaced. Within one command,
:class:`EmbeddingStore` keeps every encoding in memory as well, so nothing is encoded twice.

The cache folder is ``$MIC_CACHE_DIR``, else ``~/.cache/mic`` (:mod:`mic.cache_dir`).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from mic.cache_dir import default_cache_dir
from mic.encoders import Encoder, encoder_fingerprint
from mic.models import model_fingerprint
from mic.staging import write_atomic, write_json

SCHEMA = "mic-embeddings/1"


def texts_digest(texts: Sequence[str]) -> str:
    """A hash of the texts in order (NUL-separated, so ``["ab"]`` and ``["a", "b"]`` differ)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def cache_entry(
    kind: str, fingerprint: str, texts: Sequence[str], cache_dir: str | Path | None = None, variant: str = ""
) -> Path:
    """The cache file stem for what a model computed from ``texts``: ``CACHE_DIR/KIND/KEY``, ``KEY`` a hash of the
    model's fingerprint, the texts and ``variant`` (what else the entry depends on); a ``.json`` sidecar sits
    beside the data file."""
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    parts = [fingerprint, texts_digest(texts), *([variant] if variant else [])]
    return folder / kind / hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def embedding_entry(fingerprint: str, texts: Sequence[str], cache_dir: str | Path | None = None) -> Path:
    """Where :func:`cached_encode` keeps a model's embeddings of ``texts`` (``.npy``; its ``.json`` sidecar beside)."""
    return cache_entry("embeddings", fingerprint, texts, cache_dir).with_suffix(".npy")


def _load(entry: Path, rows: int) -> Tensor | None:
    """The cached array, or ``None`` when it is missing, unreadable or of the wrong length."""
    try:
        array = np.load(entry, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if array.ndim != 2 or array.shape[0] != rows or array.dtype != np.float32:
        return None
    return torch.from_numpy(array)


def cached_encode(
    encoder: Encoder,
    texts: Sequence[str],
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    fingerprint: str | None = None,
) -> Tensor:
    """``(N, D)`` full-dim float32 embeddings of ``texts``, read from the cache or encoded and stored.

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        texts: the texts, in the order of the returned rows.
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        batch_size: encoding batch size on a miss.
        show_progress_bar: encoding progress bar on a miss.
        fingerprint: the encoder's fingerprint when the caller already has it (saves hashing the weights again).
    """
    texts = list(texts)
    fingerprint = fingerprint or encoder_fingerprint(encoder)
    digest = texts_digest(texts)
    entry = embedding_entry(fingerprint, texts, cache_dir)
    cached = _load(entry, len(texts))
    if cached is not None:
        return cached
    start = time.perf_counter()
    embeddings = encoder.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
    entry.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, embeddings.numpy().astype(np.float32))
    write_atomic(entry, buffer.getvalue())
    sidecar = {
        "schema": SCHEMA,
        "model": encoder.name,
        "fingerprint": fingerprint,
        "texts": len(texts),
        "texts_sha256": digest,
        "dim": int(embeddings.shape[1]),
        "encode_seconds": round(time.perf_counter() - start, 3),
    }
    write_json(sidecar, entry.with_suffix(".json"))
    return embeddings


class EmbeddingStore:
    """The embeddings of one command: each (model, texts) is encoded at most once, whatever asks for it.

    Entries are keyed by the model's fingerprint and the texts, and hold the model's own output; an encoder
    with a PCA rotation gets the rotation applied on the way out. So ``MODEL``, ``truncation:MODEL`` and
    ``pca:MODEL`` share one encoding of a text list, and ``mic compare`` scores a task with the embeddings
    its geometry analysis already computed (:meth:`remember`). ``persist=True`` also keeps the entry on disk
    (:func:`cached_encode`), for retrieval corpora that take minutes to encode. A model's fingerprint is
    taken once, so its weights must not change while the store is in use (make a new store per evaluation
    during training).

    Args:
        batch_size: encoding batch size.
        show_progress_bar: encoding progress bars.
        cache_dir: the on-disk cache of persisted entries; ``None`` uses :func:`default_cache_dir`.
    """

    def __init__(
        self, batch_size: int = 64, show_progress_bar: bool | None = None, cache_dir: str | Path | None = None
    ) -> None:
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.cache_dir = cache_dir
        self._fingerprints: dict[int, tuple[SentenceTransformer, str]] = {}
        self._outputs: dict[tuple[str, str], Tensor] = {}

    def _key(self, model: SentenceTransformer, texts: Sequence[str]) -> tuple[str, str]:
        # The model is kept alongside its fingerprint so that its id cannot be reused by another object.
        if id(model) not in self._fingerprints:
            self._fingerprints[id(model)] = (model, model_fingerprint(model))
        return self._fingerprints[id(model)][1], texts_digest(texts)

    def embed(self, encoder: Encoder, texts: Sequence[str], *, persist: bool = False) -> Tensor:
        """``(N, D)`` full-dim float32 embeddings of ``texts`` by ``encoder``, encoding them only on a first ask."""
        texts = list(texts)
        key = self._key(encoder.model, texts)
        if key not in self._outputs:
            plain = Encoder(encoder.name, encoder.model)
            self._outputs[key] = (
                cached_encode(
                    plain,
                    texts,
                    self.cache_dir,
                    batch_size=self.batch_size,
                    show_progress_bar=self.show_progress_bar,
                    fingerprint=key[0],
                )
                if persist
                else plain.encode(texts, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar)
            )
        outputs = self._outputs[key]
        return encoder.projection.apply(outputs) if encoder.projection is not None else outputs

    def remember(self, model: SentenceTransformer, texts: Sequence[str], outputs: Tensor) -> None:
        """Keep ``(N, D)`` outputs of ``model`` on ``texts`` computed elsewhere (before any PCA rotation)."""
        self._outputs.setdefault(self._key(model, list(texts)), outputs.float().cpu())
