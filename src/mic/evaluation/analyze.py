"""Geometry diagnostics of every prefix: what MIC's regularizers act on, measured with the same functions.

For each prefix size ``m`` of the sentence embeddings ``Z`` (the model output, or with ``layer`` the mask-aware
mean of that layer's token states, the ``Z`` of SIR in ``docs/method.md`` §1.2), on the unique sentences of a data set:

- ``variance_profile``: per-dimension variance of ``Z`` over the sentences (Figure 1 of the paper); its
  coefficient of variation over the prefix is ``variance_cv`` (SIR's ``L_cv``).
- ``eigen_spectrum``: eigenvalues of the covariance of ``Z_{:m}``; ``effective_rank`` = ``exp`` of the
  entropy of the normalised spectrum (Roy & Vetterli 2007), between 1 and ``m``.
- ``isotropy`` = ``effective_rank / m`` in ``(0, 1]``: 1 when the prefix's variance is spread evenly over
  ``m`` orthogonal directions, ``1/m`` when one direction holds it all. It is comparable across dims.
- ``token_correlation``: mean and max of ``|C_uv|`` over the prefix/residual block ``C[:m, m:]`` of the
  token-level correlation of ``docs/method.md`` §1.1 (what SCR decorrelates), at ``layer`` (default: the last layer);
  ``sentence_correlation``: mean ``|corr|`` of the same block across sentence embeddings.
- ``uniformity`` and ``alignment`` (Wang & Isola 2020) of ``norm(Z_{:m})``: uniformity over the sentences
  (at most ``UNIFORMITY_SAMPLE`` of them, drawn with the seed), alignment over the positive pairs, those whose
  gold score is at least ``POSITIVE_THRESHOLD`` of the way up the scale (>= 4 of 5 on STS-B).

Prefix statistics use the raw prefix ``Z_{:m}``, as SIR does; cosine-based ones (uniformity, alignment)
normalise it. JSON schema (``schema: "mic-analyze/1"``), from :meth:`Analysis.to_dict`::

    {"schema": "mic-analyze/1", "model": "default", "embedding_dim": 384, "dims": [384, ..., 8],
     "data": ".../sts-test.csv", "sentences": 2758, "positive_pairs": 340, "layer": 6,
     "statistics_on": "output", "variance_profile": [384 floats], "uniformity_sentences": 2758,
     "prefixes": {"128": {"effective_rank": 70.1, "isotropy": 0.55, "variance_cv": 0.61, "uniformity": -2.9,
                          "alignment": 0.31, "token_correlation_mean_abs": 0.08,
                          "token_correlation_max_abs": 0.71, "sentence_correlation_mean_abs": 0.05,
                          "eigen_spectrum": [128 floats]}, ...},
     "warnings": [], "seconds": 12.0, "command": ..., "seed": 0, "versions": {...}, "git_commit": ...}

The correlation fields are ``null`` at ``m = D`` (no residual) and alignment is ``null`` without positive pairs.
The full ``(D, D)`` token correlation matrix is kept in :attr:`Analysis.token_correlation` (saved as
``token_correlation.npy`` by :func:`write_analysis`); ``[:m, m:]`` is the prefix/residual block.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mic.cache import EmbeddingStore
from mic.data import ScoredPairs, load_pairs_task
from mic.defaults import DEFAULT_PAIRS
from mic.encoders import Encoder, EvaluationError, resolve_dims
from mic.evaluation.figures import plot_cross_correlation, plot_variance_profiles
from mic.evaluation.options import DEFAULT_OPTIONS, EvalOptions
from mic.evaluation.records import short_labels
from mic.geometry import (
    DEAD_VARIANCE_RATIO,
    PrefixGeometry,
    correlation,
    dead_dimensions,
    masked_mean_pool,
    masked_token_moments,
    prefix_geometry,
    token_correlation_sum,
    variance_profile,
)
from mic.provenance import provenance
from mic.staging import write_json

SCHEMA = "mic-analyze/1"
POSITIVE_THRESHOLD = 0.8
"""A pair is positive when ``(score - low) / (high - low) >= 0.8``: gold >= 4 of 5 on STS-B."""
UNIFORMITY_SAMPLE = 5000
"""Uniformity needs all ``N²`` pairwise similarities; above this many sentences it uses a seeded sample."""
HEATMAP_DIM = 128


@dataclass
class Analysis:
    """Geometry of one model's embeddings at every prefix dim; :meth:`to_dict` gives the documented JSON."""

    model: str
    embedding_dim: int
    dims: list[int]
    data: str
    sentences: int
    positive_pairs: int
    layer: int
    statistics_on: str
    variance_profile: list[float]
    prefixes: dict[int, PrefixGeometry]
    token_correlation: Tensor
    uniformity_sentences: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, object] = field(default_factory=dict)

    def cross_correlation(self, dim: int) -> Tensor:
        """``(m, D - m)`` token-level prefix/residual cross-correlation ``C[:m, m:]`` (Figure 2 of the paper)."""
        return self.token_correlation[:dim, dim:]

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "embedding_dim": self.embedding_dim,
            "dims": self.dims,
            "data": self.data,
            "sentences": self.sentences,
            "positive_pairs": self.positive_pairs,
            "layer": self.layer,
            "statistics_on": self.statistics_on,
            "variance_profile": self.variance_profile,
            "uniformity_sentences": self.uniformity_sentences,
            "prefixes": {str(dim): geometry.to_dict() for dim, geometry in self.prefixes.items()},
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            **self.provenance,
        }


def positive_pairs(pairs: ScoredPairs, threshold: float = POSITIVE_THRESHOLD) -> list[tuple[str, str]]:
    """The pairs whose gold score is at least ``threshold`` of the way up the scale (see :data:`POSITIVE_THRESHOLD`)."""
    normalised = pairs.normalised_scores()
    return [
        (first, second)
        for first, second, score in zip(pairs.sentences1, pairs.sentences2, normalised, strict=True)
        if score >= threshold
    ]


def dead_dimension_warnings(profile: Tensor) -> list[str]:
    """A warning naming the dead dimensions of a ``(D,)`` variance profile (:func:`mic.geometry.dead_dimensions`)."""
    dead = dead_dimensions(profile).tolist()
    if not dead:
        return []
    return [
        f"{len(dead)} dead dimension(s), constant over the sentences (variance <= {DEAD_VARIANCE_RATIO:g} x the "
        f"median): {', '.join(str(index + 1) for index in dead)} (1 = first coordinate); the variance-profile "
        "figure leaves them out."
    ]


def heatmap_dim(dims: Sequence[int], full_dim: int) -> int:
    """The dim whose cross-correlation is drawn: 128 when the model is larger, else the largest dim below ``D``.

    Raises:
        EvaluationError: for a 1-dim model (no prefix has a residual).
    """
    if HEATMAP_DIM < full_dim:
        return HEATMAP_DIM
    below = [dim for dim in dims if dim < full_dim]
    if below:
        return max(below)
    if full_dim < 2:
        raise EvaluationError("A 1-dim embedding has no prefix/residual split to draw.")
    return full_dim // 2


def analyze_encoder(
    encoder: Encoder,
    pairs: ScoredPairs,
    dims: Sequence[int] | None = None,
    *,
    layer: int | None = None,
    options: EvalOptions = DEFAULT_OPTIONS,
    store: EmbeddingStore | None = None,
) -> Analysis:
    """Geometry of ``encoder`` on the unique sentences of ``pairs`` at every prefix dim, from one forward pass.

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        pairs: scored pairs; their unique sentences are the sample, pairs above the threshold the positives.
        dims: prefix sizes (``None``: the defaults for the model's size).
        layer: ``None`` for statistics of the output embeddings plus token correlation at the last layer;
            ``N`` (``0..L``) for both computed from layer ``N`` (sentence statistics on its mean-pooled states).
        options: batch size (sentences per forward), progress bar, the seed that draws the uniformity sample
            (when there are more than ``UNIFORMITY_SAMPLE`` sentences) and the command (recorded).
        store: when given, it keeps the model outputs of the forward pass, so that scoring ``pairs`` afterwards
            (``mic compare``) encodes nothing again.

    Raises:
        EvaluationError: for fewer than 2 distinct sentences, a dim larger than the model or a missing layer.
    """
    start = time.perf_counter()
    chosen = resolve_dims(dims, encoder.dim, encoder.name)
    unique = pairs.distinct_sentences()
    if len(unique) < 2:
        raise EvaluationError(
            f"{pairs.source}: {len(unique)} distinct sentence(s); a covariance needs at least 2 (use more data)."
        )
    chosen_layer = encoder.num_layers if layer is None else layer
    embeddings = torch.zeros(len(unique), encoder.dim, dtype=torch.float64)
    correlation_sum = torch.zeros(encoder.dim, encoder.dim, dtype=torch.float64)
    outputs = torch.zeros(len(unique), encoder.dim)
    batches = encoder.layer_batches(unique, chosen_layer, options.batch_size, bool(options.show_progress_bar))
    for batch in batches:
        hidden, mask = batch.hidden.double(), batch.mask
        standardized, _ = masked_token_moments(hidden, mask)
        correlation_sum += token_correlation_sum(standardized, mask)
        pooled = batch.embeddings.double() if layer is None else masked_mean_pool(hidden, mask)
        embeddings[batch.indices] = pooled
        outputs[batch.indices] = batch.outputs
    if store is not None:
        store.remember(encoder.model, unique, outputs)

    row = {sentence: index for index, sentence in enumerate(unique)}
    positives = positive_pairs(pairs)
    anchors = embeddings[[row[first] for first, _ in positives]]
    partners = embeddings[[row[second] for _, second in positives]]
    generator = torch.Generator().manual_seed(options.seed)
    sample = torch.randperm(len(unique), generator=generator)[:UNIFORMITY_SAMPLE].sort().values
    token_correlation = correlation_sum / len(unique)
    sentence_correlation = correlation(embeddings)
    prefixes = {
        dim: prefix_geometry(embeddings, dim, token_correlation, sentence_correlation, anchors, partners, sample)
        for dim in chosen
    }

    warnings = []
    if len(unique) <= chosen[-1]:
        warnings.append(
            f"Only {len(unique)} sentences for {chosen[-1]} dims: the covariance has rank <= {len(unique) - 1}, "
            "so effective rank and isotropy are capped by the sample, not the model."
        )
    if not positives:
        warnings.append(f"No pair scores >= {POSITIVE_THRESHOLD:.0%} of the scale in {pairs.source}; no alignment.")
    profile = variance_profile(embeddings)
    warnings += dead_dimension_warnings(profile)
    return Analysis(
        model=encoder.name,
        embedding_dim=encoder.dim,
        dims=chosen,
        data=pairs.source,
        sentences=len(unique),
        positive_pairs=len(positives),
        layer=chosen_layer,
        statistics_on="output" if layer is None else f"mean-pooled layer {layer}",
        variance_profile=profile.tolist(),
        prefixes=prefixes,
        token_correlation=token_correlation.float(),
        uniformity_sentences=len(sample),
        seconds=time.perf_counter() - start,
        warnings=warnings,
        provenance=provenance(options.command, options.seed),
    )


def write_analysis(analysis: Analysis, out: str | Path, figures: bool = True) -> list[Path]:
    """Write ``analysis.json``, ``token_correlation.npy`` and (optionally) the two figures into ``out``."""
    out = Path(out)
    label = short_labels([analysis.model])[analysis.model]
    written = [write_json(analysis.to_dict(), out / "analysis.json")]
    np.save(out / "token_correlation.npy", analysis.token_correlation.numpy())
    written.append(out / "token_correlation.npy")
    if figures:
        dim = heatmap_dim(analysis.dims, analysis.embedding_dim)
        written.append(
            plot_variance_profiles({label: analysis.variance_profile}, out / "variance_profile.png", dims=analysis.dims)
        )
        written.append(
            plot_cross_correlation(
                {label: analysis.cross_correlation(dim)},
                dim,
                out / "cross_correlation.png",
                layer=analysis.layer,
            )
        )
    return written


def run_analyze(
    model: str,
    data: str = DEFAULT_PAIRS,
    dims: Sequence[int] | None = None,
    *,
    layer: int | None = None,
    options: EvalOptions = DEFAULT_OPTIONS,
) -> Analysis:
    """``mic analyze``: load ``data`` (an STS task spec, test split by default), then the model, then analyse.

    Raises:
        MICError: for user-fixable problems (see the messages).

    Example:
        >>> options = EvalOptions(data_dir="../shared/data")
        >>> analysis = run_analyze("default", "stsb", [384, 128, 16], options=options)  # doctest: +SKIP
        >>> analysis.prefixes[16].isotropy  # doctest: +SKIP
    """
    torch.manual_seed(options.seed)
    pairs = load_pairs_task(data, options.data_dir)
    encoder = options.load_encoder(model)
    return analyze_encoder(encoder, pairs, dims, layer=layer, options=options)
