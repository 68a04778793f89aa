"""STS at every Matryoshka dim: Spearman and Pearson x100 of prefix cosine similarity against gold scores.

Each unique sentence of a task is encoded once at full dim; the dim-``m`` score uses
``cos(norm(a_{:m}), norm(b_{:m}))``, the similarity a user of the truncated embedding computes (SentEval/MTEB
convention: correlations x100, scipy.stats). Tasks are parsed and loaded by :mod:`mic.data.tasks`; the result
schema is :mod:`mic.evaluation.results`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import torch.nn.functional as F
from scipy.stats import ConstantInputWarning, pearsonr, spearmanr
from torch import Tensor

from mic.cache import EmbeddingStore
from mic.data import ScoredPairs
from mic.encoders import Encoder
from mic.evaluation.results import Metrics, TaskScores

METRICS = ("spearman", "pearson")
"""Reported per dim, Spearman (the headline) first."""


def prefix_cosine(first: Tensor, second: Tensor, dim: int) -> Tensor:
    """``cos(a_{:m}, b_{:m})`` row by row: ``(N, D), (N, D) -> (N,)``; the prefixes are re-normalised."""
    return (F.normalize(first[:, :dim], dim=-1) * F.normalize(second[:, :dim], dim=-1)).sum(dim=-1)


def sts_scores(first: Tensor, second: Tensor, gold: Sequence[float], dims: Sequence[int]) -> dict[int, Metrics]:
    """Spearman and Pearson x100 of the prefix cosine of each pair against ``gold``, at every dim.

    Args:
        first: ``(N, D)`` full-dim embeddings of the first sentences.
        second: ``(N, D)`` full-dim embeddings of the second sentences.
        gold: ``N`` gold scores.
        dims: the prefix sizes ``m`` to score.

    Returns:
        ``{m: {"spearman": ..., "pearson": ...}}``; NaN where the similarities are constant.
    """
    scores: dict[int, Metrics] = {}
    for dim in dims:
        cosine = prefix_cosine(first, second, dim).double().numpy()
        with warnings.catch_warnings():
            # Constant similarities make the correlation undefined: reported as NaN (JSON null), not warned twice.
            warnings.simplefilter("ignore", ConstantInputWarning)
            scores[dim] = {
                "spearman": 100 * float(spearmanr(cosine, gold).statistic),
                "pearson": 100 * float(pearsonr(cosine, gold).statistic),
            }
    return scores


def score_pairs(
    encoder: Encoder,
    pairs: ScoredPairs,
    dims: Sequence[int],
    store: EmbeddingStore | None = None,
    task: str | None = None,
) -> TaskScores:
    """Encode the unique sentences of ``pairs`` once at full dim and score every dim (see :func:`sts_scores`).

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        pairs: the scored pairs.
        dims: the prefix sizes ``m`` to score.
        store: where the embeddings come from (``None``: a fresh :class:`~mic.cache.EmbeddingStore`).
        task: names the result (default: the pairs' source).
    """
    start = time.perf_counter()
    unique = pairs.distinct_sentences()
    row = {sentence: index for index, sentence in enumerate(unique)}
    embeddings = (store or EmbeddingStore()).embed(encoder, unique)
    first = embeddings[[row[sentence] for sentence in pairs.sentences1]]
    second = embeddings[[row[sentence] for sentence in pairs.sentences2]]
    scores = sts_scores(first, second, pairs.scores, dims)
    counts: dict[str, int | None] = {"pairs": len(pairs), "sentences": len(unique)}
    seconds = time.perf_counter() - start
    return TaskScores(task or pairs.source, "sts", pairs.source, counts, seconds, list(METRICS), scores)
