"""Embeddings computed once and kept on disk, keyed by the encoder and the exact texts.

Encoding a retrieval corpus takes minutes on a CPU; scoring it at seven dims, fitting an adapter on it,
indexing it at another dim or re-running a benchmark should not encode it again. :func:`cached_encode` stores
the full-dim float32 embeddings of a list of texts under ``CACHE_DIR/embeddings/KEY.npy`` with a JSON sidecar
saying what they are; :func:`cached_encode_chunks` fills and reads the same entries chunk by chunk through a
memory map, for corpora larger than memory (``mic index``). ``KEY`` hashes the encoder's fingerprint (its
weights, modules, maximum sequence length, backend and PCA rotation, see :func:`mic.models.model_fingerprint`
and :mod:`mic.onnx`) and the texts in order, so a changed model or a changed text is a miss, never a stale hit.
Writes are atomic (temporary file, then rename); an unreadable entry is encoded again and replaced. Only files
this module wrote are ever replaced. Within one command, :class:`EmbeddingStore` keeps every encoding in memory
as well, so nothing is encoded twice.

The cache folder is ``$MIC_CACHE_DIR``, else ``~/.cache/mic`` (:mod:`mic.cache_dir`).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from mic.cache_dir import default_cache_dir
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoders import Encoder, EvaluationError, encoder_fingerprint
from mic.models import model_fingerprint
from mic.staging import write_atomic, write_json

SCHEMA = "mic-embeddings/1"


def texts_digest(texts: Iterable[str]) -> str:
    """A hash of the texts in order (NUL-separated, so ``["ab"]`` and ``["a", "b"]`` differ)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def cache_entry(
    kind: str, fingerprint: str, texts: Iterable[str], cache_dir: str | Path | None = None, variant: str = ""
) -> Path:
    """The cache file stem for what a model computed from ``texts``: ``CACHE_DIR/KIND/KEY``, ``KEY`` a hash of the
    model's fingerprint, the texts and ``variant`` (what else the entry depends on); a ``.json`` sidecar sits
    beside the data file."""
    return digest_entry(kind, fingerprint, texts_digest(texts), cache_dir, variant)


def digest_entry(
    kind: str, fingerprint: str, digest: str, cache_dir: str | Path | None = None, variant: str = ""
) -> Path:
    """:func:`cache_entry` for texts already hashed by :func:`texts_digest` into ``digest``."""
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    parts = [fingerprint, digest, *([variant] if variant else [])]
    return folder / kind / hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def embedding_entry(fingerprint: str, texts: Iterable[str], cache_dir: str | Path | None = None) -> Path:
    """Where :func:`cached_encode` keeps a model's embeddings of ``texts`` (``.npy``; its ``.json`` sidecar beside)."""
    return cache_entry("embeddings", fingerprint, texts, cache_dir).with_suffix(".npy")


def open_cached(entry: Path, rows: int) -> np.ndarray | None:
    """The cached ``(rows, D)`` float32 array as a read-only memory map, or ``None`` when it is missing,
    unreadable or of the wrong length."""
    try:
        array = np.load(entry, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if array.ndim != 2 or array.shape[0] != rows or array.dtype != np.float32:
        return None
    return array


def _load(entry: Path, rows: int) -> Tensor | None:
    """The cached array in memory, or ``None`` (see :func:`open_cached`)."""
    array = open_cached(entry, rows)
    return None if array is None else torch.from_numpy(np.array(array))


def _write_sidecar(
    entry: Path, encoder: Encoder, fingerprint: str, rows: int, digest: str, dim: int, start: float
) -> None:
    """The JSON beside a cache entry, saying what it holds."""
    sidecar = {
        "schema": SCHEMA,
        "model": encoder.name,
        "fingerprint": fingerprint,
        "texts": rows,
        "texts_sha256": digest,
        "dim": dim,
        "encode_seconds": round(time.perf_counter() - start, 3),
    }
    write_json(sidecar, entry.with_suffix(".json"))


def cached_encode(
    encoder: Encoder,
    texts: Sequence[str],
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
    _write_sidecar(entry, encoder, fingerprint, len(texts), digest, int(embeddings.shape[1]), start)
    return embeddings


def cached_encode_chunks(
    encoder: Encoder,
    chunks: Callable[[], Iterable[Sequence[str]]],
    rows: int,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_rows: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The ``(rows, D)`` float32 embeddings of a corpus too large for memory, as a read-only memory map.

    The same entry :func:`cached_encode` reads and writes for the same model and texts, so ``mic eval`` and
    ``mic index`` share their corpus encodings. On a miss the texts are encoded chunk by chunk straight into
    the ``.npy`` (under a temporary name, renamed when whole), so memory holds one chunk.

    Args:
        encoder: the model; its output before any PCA rotation is stored (as :class:`EmbeddingStore` does).
        chunks: called once to hash the texts and, on a miss, once more to encode them: lists of texts in order.
        rows: how many texts the chunks hold.
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        batch_size: encoding batch size on a miss.
        on_rows: called with the number of texts of each chunk once it is encoded (progress).
    """
    plain = Encoder(encoder.name, encoder.model)
    fingerprint = model_fingerprint(encoder.model)
    digest = texts_digest(text for chunk in chunks() for text in chunk)
    entry = digest_entry("embeddings", fingerprint, digest, cache_dir).with_suffix(".npy")
    cached = open_cached(entry, rows)
    if cached is not None:
        if on_rows is not None:
            on_rows(rows)
        return cached
    start = time.perf_counter()
    entry.parent.mkdir(parents=True, exist_ok=True)
    temporary = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        filled = 0
        array: np.ndarray | None = None
        for texts in chunks():
            vectors = plain.encode(texts, batch_size=batch_size, show_progress_bar=False).numpy()
            if array is None:
                array = np.lib.format.open_memmap(temporary, "w+", np.float32, (rows, vectors.shape[1]))
            array[filled : filled + len(vectors)] = vectors
            filled += len(vectors)
            if on_rows is not None:
                on_rows(len(vectors))
        if array is None or filled != rows:
            raise EvaluationError(f"the texts changed while they were encoded ({rows} then {filled}).")
        array.flush()
        dim = array.shape[1]
        del array
        os.replace(temporary, entry)
    finally:
        temporary.unlink(missing_ok=True)
    _write_sidecar(entry, plain, fingerprint, rows, digest, dim, start)
    return np.load(entry, mmap_mode="r")


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
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress_bar: bool | None = None,
        cache_dir: str | Path | None = None,
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
