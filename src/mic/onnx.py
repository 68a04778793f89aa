"""Encoder backends: run a model's transformer through onnxruntime, in float32 or with dynamic int8 weights.

A backend names how a sentence-transformers model's first module (the transformer) is computed:

- ``torch``: the model as loaded, float32 (the reference).
- ``onnx``: the transformer exported to ONNX and run by onnxruntime, float32.
- ``onnx-int8``: that export with its weights quantized to int8 (``onnxruntime.quantization.quantize_dynamic``:
  int8 weights per output channel, activations quantized per batch at run time). Per channel, not per tensor:
  on 100 SciFact queries with all-MiniLM-L6-v2 the mean cosine to torch float32 is 0.993 against 0.956, at
  the same speed.

Only the transformer is exported. Everything after it (pooling, ``Dense``, ``Normalize``, the adapter modules
``mic adapt`` appends) stays the model's own torch modules, run by sentence-transformers as usual, so they apply
exactly and any module stack exports. They cost microseconds next to the transformer. Tokenisation, batching,
prompts and truncation are sentence-transformers' too: the backend replaces ``model[0].model`` (the Hugging
Face model) by :class:`OnnxTransformerModel`, the same seam sentence-transformers' own ``backend="onnx"`` uses.

Why not that ``backend="onnx"``: it loads and exports through optimum-onnx, whose 0.1.0 requires
``transformers<4.58`` and would break this stack (transformers 5). So the transformer is exported with
``torch.onnx.export(dynamo=False)``, the TorchScript exporter, whose ``dynamic_axes`` give free batch and sequence
axes; the default dynamo exporter needs the extra ``onnxscript`` package. The export example holds sentences of
two lengths, so the attention mask is traced as used (a mask of ones would let transformers drop it).

Exports are made once per model and kept under ``CACHE_DIR/onnx/FINGERPRINT-BACKEND.onnx`` (``$MIC_CACHE_DIR``,
else ``~/.cache/mic``), keyed by :func:`mic.models.model_fingerprint` of the torch model; they are written in a
temporary folder and renamed, so a concurrent or interrupted export never leaves a partial file. onnxruntime runs
with as many threads as torch (``torch.get_num_threads()``, which follows ``OMP_NUM_THREADS``), on the CPU.

The backed model's fingerprint differs from the torch model's (:class:`OnnxTransformerModel` holds the source
fingerprint and backend as a buffer), so embedding caches and indexes never mix vectors of two backends.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from transformers import PretrainedConfig
from transformers.modeling_outputs import BaseModelOutput

from mic.cache_dir import default_cache_dir
from mic.encoder_backends import BACKENDS, DEFAULT_BACKEND
from mic.models import ModelError, model_fingerprint

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""The tokenizer outputs the exported transformer takes (those the model's tokenizer produces)."""
EXPORT_EXAMPLE = ["an example", "a longer example sentence, so that the batch is padded"]


class NotATransformerError(ModelError):
    """A model whose first module is not a transformer (``wordllama``'s ``StaticEmbedding``): nothing to export."""


def check_backend(backend: str) -> None:
    """Raises:
    ModelError: for a name that is not one of :data:`BACKENDS`."""
    if backend not in BACKENDS:
        raise ModelError(f"Encoder backend {backend!r} is not one of {', '.join(BACKENDS)}.")


def import_onnxruntime(backend: str) -> ModuleType:
    """The ``onnxruntime`` module.

    Raises:
        ModelError: when it is not installed, saying what to install.
    """
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(
            f"Encoder backend {backend!r} needs onnxruntime: pip install onnxruntime onnx (or use the torch backend)."
        ) from None
    return onnxruntime


def cpu_device(device: str | None, backend: str) -> str:
    """The device an ONNX ``backend``'s model is loaded on: the CPU, also when ``device`` is ``None`` (where
    sentence-transformers would choose CUDA or MPS).

    Raises:
        ModelError: for a ``device`` other than the CPU, pointing to the torch backend.
    """
    if device is not None and device.split(":")[0] != "cpu":
        raise ModelError(
            f"Encoder backend {backend!r} runs on the CPU, not on --device {device}; "
            "use --encoder-backend torch for that device."
        )
    return "cpu"


class _TokenEmbeddings(torch.nn.Module):
    """The Hugging Face model as a function of positional tensors, returning ``(B, T, D)`` token states."""

    def __init__(self, model: torch.nn.Module, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.input_names, inputs, strict=True))).last_hidden_state


def export_onnx(model: SentenceTransformer, path: Path) -> None:
    """Write ``model``'s transformer (its first module's Hugging Face model) as float32 ONNX to ``path``.

    Inputs are the tokenizer's outputs among :data:`MODEL_INPUTS`, each ``(batch, sequence)`` int64; the output
    ``token_embeddings`` is ``(batch, sequence, D)``.
    """
    features = model.preprocess(EXPORT_EXAMPLE)
    names = [name for name in MODEL_INPUTS if name in features]
    wrapper = _TokenEmbeddings(model[0].model, names).eval()
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes are not the user's concern
        torch.onnx.export(
            wrapper.cpu(),
            tuple(features[name].cpu() for name in names),
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
        )


def onnx_path(fingerprint: str, backend: str, cache_dir: str | Path | None = None) -> Path:
    """Where the export of the model with ``fingerprint`` for ``backend`` is kept."""
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / "onnx" / f"{fingerprint}-{backend}.onnx"


def exported_model(
    model: SentenceTransformer, backend: str, fingerprint: str, cache_dir: str | Path | None = None
) -> Path:
    """The cached ONNX file of ``model`` for ``backend`` (``onnx`` or ``onnx-int8``), exported on a first ask.

    ``onnx-int8`` quantizes the cached ``onnx`` export (made first when missing).
    """
    path = onnx_path(fingerprint, backend, cache_dir)
    if path.is_file():
        return path
    source = exported_model(model, "onnx", fingerprint, cache_dir) if backend == "onnx-int8" else None
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
    try:
        if source is None:
            export_onnx(model, staging / path.name)
        else:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            previous = logging.root.manager.disable
            logging.disable(logging.WARNING)  # its advice to pre-process the graph is not for our users
            try:
                quantize_dynamic(source, staging / path.name, weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.disable(previous)
        (staging / path.name).replace(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


class OnnxTransformerModel(torch.nn.Module):
    """An onnxruntime session in the place of a Hugging Face model, inside a sentence-transformers ``Transformer``.

    It answers ``forward(input_ids=..., attention_mask=..., ...)`` with ``last_hidden_state``, and keeps the
    model's ``config``. Its one buffer, ``identity``, holds the source model's fingerprint and the backend, so
    :func:`mic.models.model_fingerprint` of the backed model names both.

    Args:
        path: the ONNX file (see :func:`export_onnx`).
        config: the Hugging Face model's config.
        fingerprint: the torch model's :func:`mic.models.model_fingerprint`.
        backend: ``onnx`` or ``onnx-int8``.
    """

    def __init__(self, path: Path, config: PretrainedConfig, fingerprint: str, backend: str) -> None:
        super().__init__()
        onnxruntime = import_onnxruntime(backend)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [node.name for node in self.session.get_inputs()]
        self.path = path
        self.config = config
        self.fingerprint = fingerprint
        self.backend = backend
        self.register_buffer(
            "identity", torch.frombuffer(bytearray(f"{fingerprint}|{backend}".encode()), dtype=torch.uint8)
        )

    def forward(self, **features: object) -> BaseModelOutput:
        inputs = {name: np.asarray(features[name].cpu(), dtype=np.int64) for name in self.input_names}  # type: ignore[union-attr]
        (hidden,) = self.session.run(["token_embeddings"], inputs)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden).to(self.identity.device))


def use_backend(model: SentenceTransformer, backend: str, cache_dir: str | Path | None = None) -> SentenceTransformer:
    """Run ``model``'s transformer on ``backend`` (in place; ``torch`` leaves it as it is) and return it.

    Raises:
        ModelError: for an unknown backend or onnxruntime missing (naming what to install).
        NotATransformerError: for a model whose first module is not a transformer.
    """
    check_backend(backend)
    if backend == "torch":
        return model
    transformer = model[0]  # checked before onnxruntime: installing it would not help a model it cannot run
    if not isinstance(getattr(transformer, "model", None), torch.nn.Module) or not hasattr(transformer, "preprocess"):
        raise NotATransformerError(
            f"Encoder backend {backend!r} exports a transformer, but this model starts with "
            f"{type(transformer).__name__}; use the torch backend."
        )
    import_onnxruntime(backend)
    if model.device.type != "cpu":
        raise ModelError(f"Encoder backend {backend!r} runs on the CPU; the model is on {model.device}.")
    fingerprint = model_fingerprint(model)
    path = exported_model(model, backend, fingerprint, cache_dir)
    transformer.model = OnnxTransformerModel(path, transformer.model.config, fingerprint, backend)
    return model


def model_backend(model: SentenceTransformer) -> str:
    """The backend ``model``'s transformer runs on (see :data:`BACKENDS`)."""
    inner = getattr(model[0], "model", None)
    return inner.backend if isinstance(inner, OnnxTransformerModel) else DEFAULT_BACKEND


def source_fingerprint(model: SentenceTransformer) -> str:
    """The fingerprint of ``model`` as a torch model, whatever backend runs it (the backend not included)."""
    inner = getattr(model[0], "model", None)
    return inner.fingerprint if isinstance(inner, OnnxTransformerModel) else model_fingerprint(model)


def onnx_file(model: SentenceTransformer) -> Path | None:
    """The ONNX file ``model``'s transformer runs from, or ``None`` on the torch backend."""
    inner = getattr(model[0], "model", None)
    return inner.path if isinstance(inner, OnnxTransformerModel) else None
