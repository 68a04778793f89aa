"""Fit an adapter on frozen embeddings: the pure-array entry point, for vectors from any source.

``fit(embeddings)`` needs only an ``(N, D)`` matrix (the base model's full-dim outputs, e.g. loaded from a
``.npy``); labelled pairs, as embeddings too, add the supervised task loss. Each step samples ``batch_size``
rows without replacement (and ``pair_batch_size`` pairs from each supervision set), evaluates
:class:`~mic.adapt.objective.AdapterObjective` and takes one Adam step; the learning rate decays linearly to 0.
Everything random comes from one ``torch.Generator`` seeded with ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy.typing as npt
import torch
from torch import Tensor

import mic.dims as dims_module
from mic.adapt.adapter import Adapter, AdapterError, check_embeddings, check_fit_embeddings
from mic.adapt.config import FitSettings
from mic.adapt.objective import AdapterObjective
from mic.adapt.tokens import TokenStates
from mic.config import validate
from mic.progress import Progress

TOKEN_TEXTS_PER_STEP = 32
"""Texts whose token states enter each step's token-level SCR (about 1,000 token states for short sentences)."""
OBJECTIVE_FIELDS = (
    "pairwise",
    "topk",
    "topk_k",
    "distill",
    "distill_temperature",
    "sir",
    "scr",
    "scr_tolerance",
    "bits",
    "bits_temperature",
    "task",
    "teacher",
)


@dataclass(frozen=True)
class PairSupervision:
    """Labelled pairs as frozen embeddings: CoSENT when ``scores`` is given, else MNRL (``second`` = positives).

    Attributes:
        name: where the pairs came from, for messages and logs.
        first: ``(P, D)`` embeddings of the first texts (queries).
        second: ``(P, D)`` embeddings of the second texts (positive documents).
        scores: ``(P,)`` similarity labels, or ``None`` for (query, positive) pairs.
    """

    name: str
    first: Tensor
    second: Tensor
    scores: Tensor | None = None


def resolve_fit_dims(dims: Sequence[int] | None, dim: int) -> list[int]:
    """Ascending prefix dims for a ``dim``-sized embedding (:func:`mic.dims.resolve_dims`), ``dim`` always included.

    Raises:
        AdapterError: for an empty list, a non-positive dim or one larger than ``dim``.
    """
    try:
        return sorted({*dims_module.resolve_dims(dims, dim, "the input"), dim})
    except ValueError as error:
        raise AdapterError(str(error)) from None


def fit(
    embeddings: npt.ArrayLike | Tensor,
    dims: Sequence[int] | None = None,
    supervision: Sequence[PairSupervision] = (),
    *,
    tokens: TokenStates | None = None,
    teacher_embeddings: npt.ArrayLike | Tensor | None = None,
    base_model: str | None = None,
    base_fingerprint: str | None = None,
    show_progress_bar: bool | None = None,
    **settings: object,
) -> Adapter:
    """Fit an :class:`Adapter` so that every prefix of ``A(e)`` is strong (see :mod:`mic.adapt.objective`).

    Args:
        embeddings: ``(N, D)`` frozen full-dim embeddings of the fit texts (``N >= batch_size``).
        dims: the prefix dims to make strong (default: ``D`` and the powers of 2 down to 8); ``D`` is always kept.
        supervision: labelled pairs (:class:`PairSupervision`) for the task loss; empty = unsupervised.
        tokens: the base model's token states of some fit texts (:func:`mic.adapt.tokens.token_states`); with
            them SCR takes its token-level form (``TOKEN_TEXTS_PER_STEP`` texts a step), else its sentence form.
        teacher_embeddings: ``(N, D')`` another encoding of the same texts, row for row, whose similarities the
            prefixes keep instead of those of ``embeddings`` (the frozen teacher of :mod:`mic.adapt.objective`):
            e.g. the fp32 model's full embeddings when ``embeddings`` come from its int8 export, so the adapter
            also corrects the quantization error. ``None``: ``embeddings`` themselves.
        base_model: name of the model the embeddings come from, recorded in the adapter.
        base_fingerprint: its :func:`mic.models.model_fingerprint`, checked when the adapter is put on a model.
        show_progress_bar: progress over the steps (:class:`mic.progress.Progress`: ``None`` a bar on a terminal
            and plain lines in a log, ``False`` nothing).
        **settings: any field of :class:`~mic.adapt.config.FitSettings` (``steps``, ``init``, ``sir``, ``seed``...).

    Raises:
        AdapterError: for NaN/inf, all-zero or identical rows, fewer rows than one batch (or than ``D`` for PCA
            init), dims larger than ``D``, supervision of another width, or teacher embeddings of another row count
            or with teacher ``adapted``.
        ConfigError: for an unknown or invalid setting, naming it and what is allowed.

    Example:
        >>> import torch
        >>> from mic.adapt import fit
        >>> adapter = fit(torch.randn(600, 32), dims=[4, 8, 16], steps=5)
        >>> adapter.transform(torch.randn(3, 32))[:, :8].shape
        torch.Size([3, 8])
    """
    config = validate(FitSettings, settings, source="fit()")
    frozen = check_fit_embeddings(embeddings, "fit embeddings")
    count, dim = frozen.shape
    if count < config.batch_size:  # count >= MIN_FIT_ROWS, the smallest batch_size allowed: the advice works
        raise AdapterError(
            f"fit needs at least one batch of rows: got {count} embeddings, batch_size is {config.batch_size}; "
            f"give more texts or a smaller batch_size (--set fit.batch_size={count})."
        )
    if config.init == "pca" and count < dim:
        raise AdapterError(f"init 'pca' needs at least D = {dim} rows, got {count}; use init 'identity'.")
    chosen = resolve_fit_dims(dims, dim)
    teacher = frozen
    if teacher_embeddings is not None:
        teacher = check_fit_embeddings(teacher_embeddings, "teacher embeddings")
        if len(teacher) != count:
            raise AdapterError(
                f"teacher embeddings: {len(teacher)} rows for {count} fit embeddings; give one per fit text, in order."
            )
        if config.teacher == "adapted":
            raise AdapterError("teacher embeddings are a frozen teacher; they do not combine with teacher 'adapted'.")
    if config.teacher == "adapted" and not (supervision and config.task > 0):
        raise AdapterError(
            "teacher 'adapted' makes the prefixes follow the full output as the task loss moves it, so it needs "
            "supervision (--supervised) and task > 0; without them use teacher 'frozen'."
        )
    if tokens is not None and (tokens.hidden.ndim != 3 or tokens.hidden.shape[2] != dim or len(tokens.hidden) < 2):
        raise AdapterError(
            f"token states must be (S >= 2, T, {dim}) for {dim}-dim embeddings, got {tuple(tokens.hidden.shape)}."
        )
    for pairs in supervision:
        check_embeddings(pairs.first, f"supervision {pairs.name}", width=dim)
        check_embeddings(pairs.second, f"supervision {pairs.name}", width=dim)
        if len(pairs.first) != len(pairs.second) or (
            pairs.scores is not None and len(pairs.scores) != len(pairs.first)
        ):
            raise AdapterError(f"supervision {pairs.name}: first, second and scores must have one row per pair.")
        if len(pairs.first) < 2:
            raise AdapterError(f"supervision {pairs.name}: needs at least 2 pairs, got {len(pairs.first)}.")

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    adapter = Adapter(
        dim,
        chosen,
        residual_layer=config.residual_layer,
        base_model=base_model,
        base_fingerprint=base_fingerprint,
    )
    if config.init == "pca":
        adapter.initialise_pca(frozen)
    objective = AdapterObjective(chosen, dim, **{name: getattr(config, name) for name in OBJECTIVE_FIELDS})
    optimizer = torch.optim.Adam(adapter.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / config.steps)

    start = time.perf_counter()
    terms: dict[str, float] = {}
    adapter.train()
    with Progress(config.steps, "Fitting adapter", "steps", show=show_progress_bar) as progress:
        for step in range(config.steps):
            rows = torch.randperm(count, generator=generator)[: config.batch_size]
            batch = frozen[rows]
            adapted_tokens = None
            if tokens is not None and config.scr > 0:
                picked = torch.randperm(len(tokens.hidden), generator=generator)[:TOKEN_TEXTS_PER_STEP]
                hidden = tokens.hidden[picked]
                adapted_tokens = (adapter(hidden.flatten(0, 1)).view(hidden.shape), tokens.mask[picked])
            losses = objective(adapter(batch), teacher[rows], adapted_tokens)
            if supervision and config.task > 0:
                task = []
                for pairs in supervision:
                    picked = torch.randperm(len(pairs.first), generator=generator)[: config.pair_batch_size]
                    scores = None if pairs.scores is None else pairs.scores[picked]
                    task.append(
                        objective.task_loss(adapter(pairs.first[picked]), adapter(pairs.second[picked]), scores)
                    )
                losses["task"] = torch.stack(task).mean()
            total = torch.stack(list(losses.values())).sum()
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            schedule.step()
            if step % 50 == 0 or step == config.steps - 1:
                terms = {name: round(float(value.detach()), 5) for name, value in losses.items()}
                progress.bar.set_postfix(terms)
            progress.update(1)
    adapter.eval()
    adapter.info = {
        "settings": config.model_dump(mode="json"),
        "rows": count,
        "teacher_embeddings": teacher_embeddings is not None,
        "supervision": {pairs.name: len(pairs.first) for pairs in supervision},
        "scr_form": None if config.scr == 0 else "token" if tokens is not None else "sentence",
        "fit_seconds": round(time.perf_counter() - start, 3),
        "final_terms": terms,
    }
    return adapter
