"""The light query path of an ONNX-backed index: encode queries with numpy, tokenizers and onnxruntime only.

One ``mic search`` call spends seconds importing torch and sentence-transformers and milliseconds encoding
its query. When an index is built with an ONNX backend (:mod:`mic.onnx`), :func:`write_light_encoder` stores
what a query needs beside it, in ``INDEX/query_encoder/``:

    model.onnx       the exported transformer (float32 or int8, as the index's documents were encoded)
    tokenizer.json   the model's fast tokenizer (``tokenizers`` package), padding and truncation set per call
    head.npz         the weights of the ``Dense`` layers after pooling
    encoder.json     max_seq_length, the pad token and the steps after the transformer

:class:`LightEncoder` runs them: tokenise (pad to the longest in the batch, truncate at ``max_seq_length``),
the transformer, then the steps in order. Only plain steps are stored: ``Pooling`` with one mode of
:data:`POOLING_MODES`, ``Dense`` with an activation of :data:`ACTIVATIONS` on the sentence embedding, optionally
with sentence-transformers' residual ``x + f(Wx + b)`` when it keeps the width (the adapter ``mic adapt`` appends,
``residual_layer`` included, is such a layer) and ``Normalize``. Any other module, a PCA rotation, a default
prompt or a slow tokenizer makes :func:`write_light_encoder` store nothing, and queries take the full path (the
model itself).

This module imports no torch at module level; :func:`write_light_encoder` reads the model it is given.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from mic.defaults import DEFAULT_BATCH_SIZE
from mic.retrieval.errors import IndexFileError

if TYPE_CHECKING:
    from sentence_transformers.base.modules import Dense

    from mic.encoders import Encoder

LIGHT_ENCODER_FOLDER = "query_encoder"
SPEC_FILE = "encoder.json"
GRAPH_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
HEAD_FILE = "head.npz"
POOLING_MODES = ("mean", "cls", "max")
ACTIVATIONS = {"torch.nn.modules.linear.Identity": "identity", "torch.nn.modules.activation.Tanh": "tanh"}
"""``Dense`` activations (sentence-transformers' config name) the light path applies, by the name it stores."""


class Step(BaseModel):
    """One step after the transformer: ``pool`` (with ``mode``), ``dense`` (``activation``, and ``residual``: its
    input added to its output) or ``normalize``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pool", "dense", "normalize"]
    mode: Literal["mean", "cls", "max"] | None = None
    activation: Literal["identity", "tanh"] | None = None
    residual: bool = False


class LightSpec(BaseModel):
    """``encoder.json``: how queries are tokenised and what follows the transformer."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    max_seq_length: int
    pad_id: int
    pad_token: str
    pad_type_id: int
    padding_side: Literal["right", "left"]
    steps: list[Step]


def light_steps(encoder: Encoder) -> tuple[list[Step], list[tuple[np.ndarray, np.ndarray]]] | None:
    """The steps after ``encoder``'s transformer and its ``Dense`` weights ``(out, in)`` and biases ``(out,)``,
    or ``None`` when any of them is not plain (see the module docstring)."""
    from sentence_transformers.base.modules import Dense, Normalize
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = list(encoder.model)[1:]
    if not modules or not isinstance(modules[0], Pooling):
        return None
    steps: list[Step] = []
    weights: list[tuple[np.ndarray, np.ndarray]] = []
    for module in modules:
        if isinstance(module, Pooling) and not steps and module.pooling_mode in POOLING_MODES:
            steps.append(Step(kind="pool", mode=module.pooling_mode))
        elif isinstance(module, Dense) and plain_dense(module):
            activation = ACTIVATIONS[module.get_config_dict()["activation_function"]]
            steps.append(Step(kind="dense", activation=activation, residual=module.use_residual))
            linear = module.linear
            weight = linear.weight.detach().cpu().float().numpy()
            bias = linear.bias.detach().cpu().float().numpy() if linear.bias is not None else np.zeros(len(weight))
            weights.append((weight, bias.astype(np.float32)))
        elif isinstance(module, Normalize):
            steps.append(Step(kind="normalize"))
        else:
            return None
    return steps, weights


def plain_dense(module: Dense) -> bool:
    """Whether the light path computes ``module`` exactly: an activation of :data:`ACTIVATIONS`, the sentence
    embedding in and out, and no residual or one that keeps the width (no projection of its own)."""
    return (
        module.get_config_dict()["activation_function"] in ACTIVATIONS
        and module.module_input_name == module.module_output_name == "sentence_embedding"
        and (not module.use_residual or module.in_features == module.out_features)
    )


def write_light_encoder(encoder: Encoder, folder: Path) -> str | None:
    """Store ``encoder``'s light query path in ``folder / LIGHT_ENCODER_FOLDER`` when it has one.

    Returns:
        The subfolder's name, or ``None`` (nothing written) for the torch backend or a model that is not plain.
    """
    from mic.onnx import onnx_file

    graph = onnx_file(encoder.model)
    transformer = encoder.model[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    plain = (
        graph is not None
        and encoder.projection is None
        and encoder.model.default_prompt_name is None
        and not getattr(transformer, "do_lower_case", False)
        and getattr(tokenizer, "is_fast", False)
        and tokenizer.pad_token is not None
        and transformer.max_seq_length is not None
    )
    head = light_steps(encoder) if plain else None
    if graph is None or tokenizer is None or head is None:
        return None
    steps, weights = head
    target = folder / LIGHT_ENCODER_FOLDER
    target.mkdir()
    try:
        os.link(graph, target / GRAPH_FILE)  # the cached export, shared where the file system allows
    except OSError:
        shutil.copyfile(graph, target / GRAPH_FILE)
    tokenizer.backend_tokenizer.save(str(target / TOKENIZER_FILE))
    np.savez(target / HEAD_FILE, **{f"dense{row}_{part}": array for row, pair in enumerate(weights)
                                    for part, array in zip(("weight", "bias"), pair, strict=True)})  # fmt: skip
    spec = LightSpec(backend=encoder.backend, max_seq_length=transformer.max_seq_length,
                     pad_id=tokenizer.pad_token_id, pad_token=tokenizer.pad_token,
                     pad_type_id=tokenizer.pad_token_type_id, padding_side=tokenizer.padding_side,
                     steps=steps)  # fmt: skip
    (target / SPEC_FILE).write_text(spec.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return LIGHT_ENCODER_FOLDER


class LightEncoder:
    """Queries to full-dim vectors through the files :func:`write_light_encoder` stored (no torch).

    Raises:
        IndexFileError: for a missing or unreadable file in ``folder``.
    """

    def __init__(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            self.spec = LightSpec.model_validate_json((folder / SPEC_FILE).read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            with np.load(folder / HEAD_FILE) as head:
                dense = sum(step.kind == "dense" for step in self.spec.steps)
                self.dense = [(head[f"dense{row}_weight"], head[f"dense{row}_bias"]) for row in range(dense)]
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS") or 0)  # 0: onnxruntime's default
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(
                str(folder / GRAPH_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime and tokenizers raise their own types for a damaged file
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise IndexFileError(f"{folder}: unreadable query encoder ({reason}); build the index again.") from None
        self.tokenizer.enable_truncation(self.spec.max_seq_length)
        self.tokenizer.enable_padding(
            direction=self.spec.padding_side,
            pad_id=self.spec.pad_id,
            pad_type_id=self.spec.pad_type_id,
            pad_token=self.spec.pad_token,
        )
        self.input_names = [node.name for node in self.session.get_inputs()]

    @property
    def backend(self) -> str:
        return self.spec.backend

    def encode(self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """``(N, D)`` float32 embeddings of ``sentences``, in order.

        Batched as sentence-transformers batches (longest first, by characters): dynamic int8 quantizes each
        batch's activations with one range, so a sentence's vector depends on its batch mates (cosine about
        0.99 between two batchings), and the same batches give the full path's vectors.
        """
        order = np.argsort([-len(sentence) for sentence in sentences])
        parts = [self._encode_batch([sentences[row] for row in order[start : start + batch_size]])
                 for start in range(0, len(sentences), batch_size)]  # fmt: skip
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        embeddings = np.empty_like(np.concatenate(parts))
        embeddings[order] = np.concatenate(parts)
        return embeddings

    def _encode_batch(self, sentences: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(sentences)
        features = {
            "input_ids": np.array([encoding.ids for encoding in encodings], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids for encoding in encodings], dtype=np.int64),
        }
        (hidden,) = self.session.run(["token_embeddings"], {name: features[name] for name in self.input_names})
        mask = features["attention_mask"]
        vectors = hidden
        dense = iter(self.dense)
        for step in self.spec.steps:
            if step.kind == "pool":
                vectors = pool(hidden, mask, step.mode or "mean")
            elif step.kind == "dense":
                weight, bias = next(dense)
                output = vectors @ weight.T + bias
                output = np.tanh(output) if step.activation == "tanh" else output
                vectors = output + vectors if step.residual else output
            else:
                vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.asarray(vectors, dtype=np.float32)


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence-transformers' ``Pooling`` of ``hidden: (B, T, D)`` token states under ``mask: (B, T)``.

    ``mean``: the mean over unmasked tokens; ``cls``: the first unmasked token; ``max``: the maximum over them.
    """
    weights = mask[:, :, None].astype(hidden.dtype)
    if mode == "mean":
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if mode == "cls":
        return hidden[np.arange(len(hidden)), mask.argmax(axis=1)]
    return np.where(weights > 0, hidden, -np.inf).max(axis=1)
