"""``mic adapt`` as library functions: fit on a model's cached embeddings, on a ``.npy``, or reuse an adapter.

- :func:`run_adapt`: ``mic adapt MODEL --data SOURCES --out DIR`` — embed the fit texts (cached), fit, write
  a model folder (:mod:`mic.adapt.model`);
- :func:`run_adapt_array`: ``mic adapt --embeddings FILE.npy --out ADAPTER`` — fit on vectors from anywhere,
  write the adapter folder;
- :func:`run_apply`: ``mic adapt MODEL --adapter ADAPTER --out DIR`` — put a saved adapter on its model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mic.adapt.adapter import ADAPTER_OUTPUT, Adapter, AdapterError, check_fit_embeddings
from mic.adapt.config import AdaptConfig
from mic.adapt.data import EmbeddingSource, fit_embeddings, fit_texts, supervision_pairs
from mic.adapt.fit import fit, resolve_fit_dims
from mic.adapt.model import ADAPTED_MODEL_OUTPUT, adapted_model, save_adapted_model
from mic.adapt.tokens import exposes_token_states, sample_texts, token_states
from mic.encoders import Encoder
from mic.models import load_model, model_fingerprint
from mic.onnx import DEFAULT_BACKEND, use_backend
from mic.provenance import provenance
from mic.staging import check_output


@dataclass(frozen=True)
class AdaptResult:
    """What one ``mic adapt`` call produced.

    Attributes:
        output: the model folder or adapter folder written.
        adapter: the fitted (or reused) adapter.
        rows: fit embeddings (0 when an adapter was reused).
        encode_seconds: time spent embedding or reading the cache.
        fit_seconds: time spent fitting (after the embeddings were ready).
    """

    output: Path
    adapter: Adapter
    rows: int
    encode_seconds: float
    fit_seconds: float


def run_adapt(
    config: AdaptConfig,
    out: str | Path,
    *,
    command: str | None = None,
    show_progress_bar: bool | None = None,
    overwrite: bool = False,
) -> AdaptResult:
    """Fit an adapter on ``config.model``'s embeddings of ``config.data`` and write the adapted model to ``out``.

    ``overwrite``: replace an existing ``out`` that mic adapt wrote (checked before anything is encoded or fitted).

    Raises:
        ModelError, DataError: for a model or data source that cannot be read.
        AdapterError: for bad embeddings, dims larger than the model or too few texts.
        OutputError: for an ``out`` that may not be written (see :func:`mic.staging.check_output`).
    """
    check_output(out, ADAPTED_MODEL_OUTPUT, overwrite=overwrite, option="--out")
    torch.manual_seed(config.fit.seed)
    encoder = Encoder(config.model, load_model(config.model, device=config.device))
    fingerprint = model_fingerprint(encoder.model)
    dims = resolve_fit_dims(config.dims, encoder.dim)
    embed = EmbeddingSource(*fit_encoder(config, encoder, fingerprint), config.cache_dir, config.encode_batch_size,
                            show_progress_bar)  # fmt: skip
    embeddings = fit_embeddings(config.data, embed, config.data_dir)
    supervision = (
        [supervision_pairs(spec, embed, config.data_dir) for spec in config.supervision] if config.supervised else []
    )
    tokens = None
    if config.fit.scr > 0 and exposes_token_states(encoder):
        tokens = token_states(
            encoder,
            sample_texts(fit_texts(config.data, config.data_dir)),
            fingerprint=fingerprint,
            cache_dir=config.cache_dir,
            batch_size=config.encode_batch_size,
            show_progress_bar=bool(show_progress_bar),
        )
    adapter = fit(
        embeddings,
        dims,
        supervision,
        tokens=tokens,
        base_model=config.model,
        base_fingerprint=fingerprint,
        show_progress_bar=show_progress_bar,
        **config.fit.model_dump(),
    )
    model = adapted_model(encoder.model, adapter, config.model, fingerprint)
    info = {
        "config": config.model_dump(mode="json"),
        "base_model": config.model,
        "base_fingerprint": fingerprint,
        "rows": len(embeddings),
        "encode_seconds": round(embed.seconds, 3),
        "fit_seconds": adapter.info["fit_seconds"],
        **provenance(command, config.fit.seed),
    }
    output = save_adapted_model(model, adapter, out, info, overwrite=overwrite)
    return AdaptResult(output, adapter, len(embeddings), embed.seconds, float(adapter.info["fit_seconds"]))


def fit_encoder(config: AdaptConfig, encoder: Encoder, fingerprint: str) -> tuple[Encoder, str]:
    """The encoder whose vectors the adapter is fitted on, and its fingerprint: ``encoder`` (the torch model,
    which the adapted model is built on and SCR's token states come from) or a second copy of the model on
    ``config.encoder_backend``."""
    if config.encoder_backend == DEFAULT_BACKEND:
        return encoder, fingerprint
    model = use_backend(load_model(config.model, device=config.device), config.encoder_backend, config.cache_dir)
    return Encoder(config.model, model), model_fingerprint(model)


def load_array(path: str | Path) -> np.ndarray:
    """An ``(N, D)`` float array from a ``.npy`` file.

    Raises:
        AdapterError: for a missing or unreadable file, or one that does not hold a float matrix an adapter can
            be fitted on (:func:`mic.adapt.adapter.check_fit_embeddings`).
    """
    path = Path(path).expanduser()
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise AdapterError(f"Embeddings file {path} does not exist.") from None
    except (OSError, ValueError, EOFError) as error:
        why = "not in .npy format" if "pickle" in str(error) else str(error)  # numpy reads any other file as a pickle
        raise AdapterError(f"{path} is not a readable .npy array ({why}); save it with numpy.save.") from None
    check_fit_embeddings(array, str(path))
    return array


def run_adapt_array(
    embeddings_path: str | Path,
    out: str | Path,
    config: AdaptConfig,
    *,
    model: str | None = None,
    show_progress_bar: bool | None = None,
    overwrite: bool = False,
) -> AdaptResult:
    """Fit an adapter on the vectors of a ``.npy`` file and save it to ``out`` (see :meth:`Adapter.save`).

    Args:
        embeddings_path: an ``(N, D)`` float ``.npy``.
        out: the adapter folder to write.
        config: its ``dims`` and ``fit`` are used.
        model: the model that produced the vectors, when known: their width is checked against it, and its
            fingerprint recorded so the adapter refuses other models later.
        overwrite: replace an existing ``out`` that mic saved as an adapter (checked before the fit).

    Raises:
        AdapterError: for an unreadable file, NaN/inf rows, a width that does not match ``model``, too few rows.
        OutputError: for an ``out`` that may not be written (see :func:`mic.staging.check_output`).
    """
    check_output(out, ADAPTER_OUTPUT, overwrite=overwrite, option="--out")
    array = load_array(embeddings_path)
    fingerprint = None
    if model is not None:
        base = load_model(model, device=config.device)
        with base.truncate_embeddings(None):
            width = base.get_embedding_dimension()
        if array.shape[1] != width:
            raise AdapterError(
                f"{embeddings_path} holds {array.shape[1]}-dim vectors, but {model!r} outputs {width}-dim embeddings."
            )
        fingerprint = model_fingerprint(base)
    adapter = fit(
        array,
        config.dims,
        base_model=model,
        base_fingerprint=fingerprint,
        show_progress_bar=show_progress_bar,
        **config.fit.model_dump(),
    )
    return AdaptResult(
        adapter.save(out, overwrite=overwrite), adapter, len(array), 0.0, float(adapter.info["fit_seconds"])
    )


def run_apply(
    model: str, adapter_path: str | Path, out: str | Path, *, command: str | None = None, overwrite: bool = False
) -> AdaptResult:
    """Write ``model`` + the saved adapter at ``adapter_path`` as a model folder.

    ``overwrite``: replace an existing ``out`` that mic adapt wrote.

    Raises:
        AdapterError: when the adapter was fitted on another model (naming both) or another width.
        OutputError: for an ``out`` that may not be written (see :func:`mic.staging.check_output`).
    """
    check_output(out, ADAPTED_MODEL_OUTPUT, overwrite=overwrite, option="--out")
    adapter = Adapter.load(adapter_path)
    base = load_model(model)
    fingerprint = model_fingerprint(base)
    adapted = adapted_model(base, adapter, model, fingerprint)
    info = {
        "base_model": model,
        "base_fingerprint": fingerprint,
        "adapter": str(adapter_path),
        **provenance(command, 0),
    }
    return AdaptResult(save_adapted_model(adapted, adapter, out, info, overwrite=overwrite), adapter, 0, 0.0, 0.0)
