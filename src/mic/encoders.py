"""The models that evaluation compares: a sentence encoder, its plain truncation, or a PCA of its embeddings.

A model spec is one string:

- ``default`` (offline all-MiniLM-L6-v2), a model folder or a Hugging Face hub id: the model itself; its
  dim-``m`` embedding is the first ``m`` coordinates of the full embedding, re-normalised.
- ``truncation`` or ``truncation:MODEL``: the baseline "base encoder, truncated" (``MODEL`` defaults to
  ``default``). It is the same computation as ``MODEL``, kept as its own name so reports label the baseline.
- ``pca`` or ``pca:MODEL``: the baseline "PCA of the base encoder's embeddings" (METHOD.md, Baselines). The
  principal axes are fitted on training sentences (STS-B train by default) and the embedding is rotated onto
  them, so the dim-``m`` prefix holds the top-``m`` components. At full dim it is the base model on
  mean-centred embeddings.

Every encoder embeds at full dim only; callers truncate, so a sentence is encoded once for all dims. Any of them
runs on a backend of :mod:`mic.onnx` (``torch``, ``onnx``, ``onnx-int8``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import batch_to_device
from torch import Tensor

import mic.dims as dims_module
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.errors import MICError
from mic.forward import encode
from mic.models import DEFAULT_MODEL, ModelError, absolute_model_name, load_model, model_fingerprint, token_layers
from mic.onnx import DEFAULT_BACKEND, check_backend, cpu_device, model_backend, source_fingerprint, use_backend

PSEUDO_MODELS = ("truncation", "pca")
ENCODE_BATCHES_PER_UPDATE = 8
"""Batches encoded between two progress updates when progress is shown."""
PCA_FIT_SOURCE = "stsb:train"
"""Sentences the PCA baseline is fitted on unless the user names others (METHOD.md: "fit on training sentences")."""


class EvaluationError(MICError):
    """A user-fixable evaluation problem (a dim larger than the model, too few sentences, an unknown task)."""


@dataclass(frozen=True)
class PCAProjection:
    """Principal axes of a set of embeddings: ``y = (x - mean) @ components.T``.

    Attributes:
        mean: ``(D,)`` mean of the fit embeddings.
        components: ``(D, D)`` orthonormal rows, sorted by explained variance (largest first); each row's
            largest-magnitude entry is positive, so the axes do not flip sign between runs.
        explained_variance: ``(D,)`` variance along each axis.
        fit_sentences: how many sentences the axes were fitted on.
    """

    mean: Tensor
    components: Tensor
    explained_variance: Tensor
    fit_sentences: int

    def apply(self, features: Tensor) -> Tensor:
        """Rotate ``(..., D)`` features onto the principal axes (works for ``(B, D)`` and ``(B, T, D)``)."""
        return (features - self.mean.to(features)) @ self.components.to(features).T


def fit_pca(embeddings: Tensor) -> PCAProjection:
    """PCA by SVD of the centred ``(N, D)`` embeddings, in float64.

    Raises:
        EvaluationError: when ``N < D``: fewer sentences than dims leave some axes undetermined.
    """
    count, width = embeddings.shape
    if count < width:
        raise EvaluationError(
            f"PCA of a {width}-dim model needs at least {width} fit sentences, got {count}; give more with --fit-data."
        )
    data = embeddings.double()
    mean = data.mean(dim=0)
    _, singular, components = torch.linalg.svd(data - mean, full_matrices=False)
    largest = components.abs().argmax(dim=1)
    signs = torch.sign(components.gather(1, largest[:, None]))
    return PCAProjection(
        mean=mean.float(),
        components=(components * signs).float(),
        explained_variance=(singular.pow(2) / count).float(),
        fit_sentences=count,
    )


@dataclass(frozen=True)
class LayerBatch:
    """One batch of a forward pass with hidden states.

    Attributes:
        indices: ``(b,)`` positions of the batch's sentences in the input list.
        embeddings: ``(b, D)`` sentence embeddings (the model output, PCA-rotated for a ``pca:`` encoder).
        hidden: ``(b, T, D)`` token states of the requested layer (rotated likewise).
        mask: ``(b, T)`` attention mask.
        outputs: ``(b, D)`` the model's own output before any rotation, what :meth:`Encoder.encode` rotates.
    """

    indices: Tensor
    embeddings: Tensor
    hidden: Tensor
    mask: Tensor
    outputs: Tensor


@dataclass
class Encoder:
    """A model under evaluation: a SentenceTransformer and an optional fixed rotation of its output (PCA).

    Attributes:
        name: the spec it was loaded from, used as its label in tables and figures.
        model: the underlying SentenceTransformer.
        projection: the PCA rotation of the ``pca:`` baseline, else ``None``.
    """

    name: str
    model: SentenceTransformer
    projection: PCAProjection | None = None

    @property
    def dim(self) -> int:
        """Full embedding size ``D``."""
        with self.model.truncate_embeddings(None):
            dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"Model {self.name!r} does not report its embedding size.")
        return dimension

    @property
    def num_layers(self) -> int:
        """Number of transformer layers ``L`` (hidden states 1..L; 0 is the embedding layer); 0 for a
        static-embedding model, whose one set of token states is its token vectors.

        Raises:
            EvaluationError: for a model that exposes no token states.
        """
        layers = token_layers(self.model)
        if layers is None:
            raise EvaluationError(
                f"{self.name}: token-level statistics need a transformer or a static-embedding model as first "
                f"module, not {type(self.model[0]).__name__}."
            )
        return layers

    @property
    def backend(self) -> str:
        """What computes the transformer: ``torch``, ``onnx`` or ``onnx-int8`` (see :mod:`mic.onnx`)."""
        return model_backend(self.model)

    def encode(
        self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE, show_progress_bar: bool | None = None
    ) -> Tensor:
        """``(N, D)`` full-dim float32 embeddings on the CPU, in the order of ``sentences``.

        ``show_progress_bar=True`` reports progress with :class:`mic.progress.Progress` (a bar on a terminal,
        plain lines in a log); otherwise it is passed to sentence-transformers as is.
        """
        sentences = list(sentences)
        with self.model.truncate_embeddings(None):
            if show_progress_bar and sentences:
                embeddings = self._encode_with_progress(sentences, batch_size)
            else:
                embeddings = self.model.encode(
                    sentences, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=show_progress_bar
                )
        embeddings = embeddings.float().cpu()
        return self.projection.apply(embeddings) if self.projection is not None else embeddings

    def _encode_with_progress(self, sentences: list[str], batch_size: int) -> Tensor:
        """Encode longest first (as sentence-transformers does) in blocks of batches, counting each block done."""
        from mic.progress import Progress

        order = sorted(range(len(sentences)), key=lambda row: -len(sentences[row]))
        block = batch_size * ENCODE_BATCHES_PER_UPDATE
        parts = []
        with Progress(len(sentences), "Encoding", "texts") as progress:
            for start in range(0, len(order), block):
                rows = order[start : start + block]
                texts = [sentences[row] for row in rows]
                parts.append(self.model.encode(texts, batch_size=batch_size, convert_to_tensor=True).float().cpu())
                progress.update(len(rows))
        in_order = torch.cat(parts)
        embeddings = torch.empty_like(in_order)
        embeddings[torch.tensor(order)] = in_order
        return embeddings

    def layer_batches(
        self,
        sentences: Sequence[str],
        layer: int,
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress_bar: bool = False,
    ) -> Iterator[LayerBatch]:
        """Forward ``sentences`` once, yielding sentence embeddings and the token states of ``layer`` per batch.

        Sentences are batched longest first (as ``encode`` does) to limit padding; ``indices`` say where each
        row belongs. The PCA rotation, when there is one, is applied to both outputs.

        Args:
            sentences: the input sentences.
            layer: ``1..L`` (a transformer layer) or ``0`` (the embedding layer; a static model's token vectors).
            batch_size: sentences per forward.
            show_progress_bar: show progress (:class:`mic.progress.Progress`: a bar, or lines in a log).
        """
        if self.backend != DEFAULT_BACKEND:
            raise EvaluationError(f"{self.name}: token-level statistics need the torch backend, not {self.backend}.")
        if not 0 <= layer <= self.num_layers:
            raise EvaluationError(f"layer {layer} does not exist: {self.name} has layers 0..{self.num_layers}.")
        from mic.progress import Progress

        order = sorted(range(len(sentences)), key=lambda row: -len(sentences[row]))
        progress = Progress(len(order), "Encoding", "texts", show=show_progress_bar)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            features = batch_to_device(self.model.preprocess([sentences[row] for row in rows]), self.model.device)
            with torch.inference_mode():
                output = encode(self.model, features, hidden=True)
            outputs = output.embedding.float().cpu()
            embeddings, hidden = outputs, output.hidden_states[layer].float().cpu()
            if self.projection is not None:
                embeddings, hidden = self.projection.apply(outputs), self.projection.apply(hidden)
            progress.update(len(rows))
            yield LayerBatch(torch.tensor(rows), embeddings, hidden, output.mask.cpu(), outputs)
        progress.close()


def encoder_fingerprint(encoder: Encoder) -> str:
    """The model's fingerprint (which names its backend, see :mod:`mic.onnx`), extended by the PCA rotation when
    the encoder has one."""
    return _with_projection(model_fingerprint(encoder.model), encoder.projection)


def base_fingerprint(encoder: Encoder) -> str:
    """:func:`encoder_fingerprint` of the encoder as a torch model: the same for every backend it runs on."""
    return _with_projection(source_fingerprint(encoder.model), encoder.projection)


def _with_projection(fingerprint: str, projection: PCAProjection | None) -> str:
    if projection is None:
        return fingerprint
    digest = hashlib.sha256(fingerprint.encode())
    for tensor in (projection.mean, projection.components):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def split_spec(spec: str) -> tuple[str, str]:
    """``(pseudo-model, base model)`` of a spec: ``("pca", "m")`` for ``pca:m``, ``("", spec)`` for a model
    (an empty base stands for ``default``).

    Raises:
        ModelError: for ``pca:`` or ``truncation:`` without a model.
    """
    kind, colon, base = spec.partition(":")
    if kind not in PSEUDO_MODELS:
        return "", spec
    if colon and not base:
        raise ModelError(f"Model spec {spec!r}: write {kind}:MODEL, e.g. {kind}:default.")
    return kind, base


def absolute_spec(spec: str) -> str:
    """``spec`` naming the same model from any working directory: a relative model folder made absolute."""
    kind, base = split_spec(spec)
    if kind and not base:
        return spec
    return f"{kind}:{absolute_model_name(base)}" if kind else absolute_model_name(base)


def load_encoder(
    spec: str,
    *,
    fit_data: str | Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | None = None,
    show_progress_bar: bool | None = None,
    embed: Callable[[Encoder, list[str]], Tensor] | None = None,
    backend: str = DEFAULT_BACKEND,
    cache_dir: str | Path | None = None,
) -> Encoder:
    """Load the model or pseudo-model ``spec`` (see the module docstring).

    Args:
        spec: ``default``, a folder, a hub id, ``truncation[:MODEL]`` or ``pca[:MODEL]``.
        fit_data: the sentences a ``pca:`` baseline is fitted on: any source :func:`mic.data.load_sentences`
            reads (a sentence-per-line ``.txt``, a table, ``stsb:train``); default ``stsb:train``.
        data_dir: folder of the benchmark files (``None``: ``$MIC_DATA_DIR``).
        batch_size: encoding batch size for the PCA fit.
        device: torch device; ``None`` lets sentence-transformers choose.
        show_progress_bar: progress bar while fitting PCA.
        embed: how the PCA fit sentences are embedded, e.g. through an
            :class:`~mic.cache.EmbeddingStore` (default: :meth:`Encoder.encode`).
        backend: ``torch``, ``onnx`` or ``onnx-int8`` (see :mod:`mic.onnx`); ONNX backends run on the CPU, so
            their model is loaded there whatever device sentence-transformers would choose.
        cache_dir: where ONNX exports are kept (``None``: ``$MIC_CACHE_DIR``, else ``~/.cache/mic``).

    Raises:
        ModelError: when the model cannot be loaded, for an unknown backend, when the backend's package is
            missing (naming what to install), or for an ONNX backend on a ``device`` other than the CPU.
        DataError: when the PCA fit sentences cannot be read.
        EvaluationError: when there are fewer fit sentences than dims.
    """
    kind, _ = split_spec(spec)
    encoder = Encoder(spec, backend_model(spec, backend, device, cache_dir))
    if kind == "pca":
        from mic.data import load_sentences

        sentences = load_sentences(fit_data or PCA_FIT_SOURCE, data_dir)
        embeddings = (
            embed(encoder, sentences)
            if embed is not None
            else encoder.encode(sentences, batch_size=batch_size, show_progress_bar=show_progress_bar)
        )
        encoder.projection = fit_pca(embeddings)
    return encoder


def backend_model(
    spec: str, backend: str = DEFAULT_BACKEND, device: str | None = None, cache_dir: str | Path | None = None
) -> SentenceTransformer:
    """The model of ``spec`` (its base model for a pseudo-model) running on ``backend`` (see :func:`load_encoder`).

    Raises:
        ModelError: as :func:`load_encoder` does.
    """
    _, base = split_spec(spec)
    check_backend(backend)
    if backend != DEFAULT_BACKEND:
        device = cpu_device(device, backend)
    return use_backend(load_model(base or DEFAULT_MODEL, device=device), backend, cache_dir)


def on_backend(encoder: Encoder, backend: str, cache_dir: str | Path | None = None) -> Encoder:
    """``encoder`` (its model and PCA rotation) on another ``backend``: its model is loaded again, on the CPU.

    Raises:
        ModelError: as :func:`load_encoder` does.
    """
    return Encoder(encoder.name, backend_model(encoder.name, backend, "cpu", cache_dir), encoder.projection)


def resolve_dims(dims: Sequence[int] | None, full_dim: int, model: str = "the model") -> list[int]:
    """:func:`mic.dims.resolve_dims` (ascending; ``None``: the defaults) with its message as an evaluation error.

    Raises:
        EvaluationError: for an empty list, a non-positive dim or one larger than ``full_dim``.
    """
    try:
        return dims_module.resolve_dims(dims, full_dim, model)
    except ValueError as error:
        raise EvaluationError(str(error)) from None
