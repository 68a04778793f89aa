"""The geometry of one embedding prefix ``Z_{:m}``: the statistics ``mic analyze`` reports at every dim.

For ``(N, D)`` sentence embeddings ``Z`` and a prefix size ``m``, all from :mod:`mic.geometry.stats`:

- ``effective_rank``: ``exp`` of the entropy of the normalised covariance spectrum of ``Z_{:m}`` (Roy & Vetterli
  2007), between 1 and ``m``; ``isotropy = effective_rank / m`` in ``(0, 1]``, comparable across dims.
- ``variance_cv``: coefficient of variation of the per-dimension variance over the prefix (SIR's ``L_cv``).
- ``uniformity`` and ``alignment`` (Wang & Isola 2020) of ``norm(Z_{:m})``: over the (sampled) sentences, and over
  positive pairs.
- ``token_correlation_*`` and ``sentence_correlation_mean_abs``: ``|C_uv|`` over the prefix/residual block
  ``C[:m, m:]`` of a token-level or sentence-level correlation matrix (what SCR decorrelates); ``None`` at ``m = D``.
- ``eigen_spectrum``: eigenvalues of the covariance of ``Z_{:m}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import Tensor

from mic.geometry.stats import alignment, effective_rank, eigen_spectrum, uniformity, variance_cv


@dataclass(frozen=True)
class PrefixGeometry:
    """Statistics of one prefix size ``m`` (see the module docstring for definitions; ``None``: not defined)."""

    dim: int
    effective_rank: float
    isotropy: float
    variance_cv: float
    uniformity: float
    alignment: float | None
    token_correlation_mean_abs: float | None
    token_correlation_max_abs: float | None
    sentence_correlation_mean_abs: float | None
    eigen_spectrum: list[float]

    def to_dict(self) -> dict[str, object]:
        return {name: value for name, value in asdict(self).items() if name != "dim"}


def prefix_geometry(
    embeddings: Tensor,
    dim: int,
    token_correlation: Tensor | None = None,
    sentence_correlation: Tensor | None = None,
    anchors: Tensor | None = None,
    positives: Tensor | None = None,
    uniformity_rows: Tensor | None = None,
) -> PrefixGeometry:
    """Statistics of the prefix ``Z_{:m}`` of ``(N, D)`` sentence embeddings.

    Args:
        embeddings: ``(N, D)`` sentence embeddings, ``N >= 2``.
        dim: the prefix size ``m`` (``1..D``).
        token_correlation: ``(D, D)`` token-level correlation (:func:`mic.geometry.token_correlation`); its block
            ``[:m, m:]`` gives the token correlation fields.
        sentence_correlation: ``(D, D)`` feature correlation of the sentence embeddings
            (:func:`mic.geometry.correlation`).
        anchors: ``(P, D)`` embeddings of the first sentences of positive pairs.
        positives: ``(P, D)`` embeddings of their second sentences.
        uniformity_rows: indices of the sentences uniformity is computed on (default: all).

    Raises:
        ValueError: for fewer than 2 sentences or ``dim`` outside ``1..D``.

    Example:
        >>> geometry = prefix_geometry(torch.randn(500, 16, dtype=torch.float64), 8)
        >>> 0.9 < geometry.isotropy <= 1.0
        True
    """
    count, width = embeddings.shape
    if count < 2:
        raise ValueError(f"A covariance needs at least 2 sentences, got {count}.")
    if not 1 <= dim <= width:
        raise ValueError(f"dim {dim} is outside 1..{width}, the size of the embeddings.")
    prefix = embeddings[:, :dim]
    rank = float(effective_rank(prefix))
    sample = prefix if uniformity_rows is None else prefix[uniformity_rows]
    has_residual = dim < width

    def block_abs(matrix: Tensor | None) -> Tensor | None:
        return matrix[:dim, dim:].abs() if matrix is not None and has_residual else None

    token_block, sentence_block = block_abs(token_correlation), block_abs(sentence_correlation)
    has_pairs = anchors is not None and positives is not None and len(anchors) > 0
    return PrefixGeometry(
        dim=dim,
        effective_rank=rank,
        isotropy=rank / dim,
        variance_cv=float(variance_cv(prefix)),
        uniformity=float(uniformity(sample)),
        alignment=float(alignment(anchors[:, :dim], positives[:, :dim])) if has_pairs else None,
        token_correlation_mean_abs=float(token_block.mean()) if token_block is not None else None,
        token_correlation_max_abs=float(token_block.max()) if token_block is not None else None,
        sentence_correlation_mean_abs=float(sentence_block.mean()) if sentence_block is not None else None,
        eigen_spectrum=eigen_spectrum(prefix).tolist(),
    )
