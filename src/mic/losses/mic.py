"""MICLoss: Matryoshka task loss plus SCR and SIR on middle-layer hidden states, from one encoder forward."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.losses import uses_gradient_cache
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss
from sentence_transformers.util import cat_padded_token_embeddings
from torch import Tensor, nn

from mic.dims import check_dims
from mic.forward import EncoderForward, encode
from mic.geometry import masked_mean_pool
from mic.losses.defaults import MIC_DEFAULTS
from mic.losses.distill import DistillObjective, PrefixSelfDistillation
from mic.losses.scr import SoftCollapseRegularizer
from mic.losses.sir import SpectralIsotropyRegularizer
from mic.losses.teacher import DistillationTeacher, DistillTeacher, check_teacher
from mic.losses.validation import check_all_finite, check_non_negative, deferred_finite_checks
from mic.models import token_layers

LayerSpec = Literal["middle", "last", "middle+last"] | Sequence[int]


def resolve_layers(layers: LayerSpec, num_layers: int) -> tuple[int, ...]:
    """Turn a layer spec into 1-based encoder layer indices.

    ``"middle"`` is the middle third of the encoder (layers 3-4 of a 6-layer MiniLM, 5-8 of a 12-layer BERT),
    ``"last"`` the final layer, ``"middle+last"`` both; a list names layers directly (1..L). A model with no
    layers (``num_layers`` 0: a static-embedding model) has one set of token states, its token vectors (index
    0), which every name resolves to.

    Raises:
        ValueError: for an unknown name or a layer outside ``1..num_layers``.
    """
    if isinstance(layers, str):
        low = num_layers // 3 + 1
        middle = tuple(range(low, max(low, 2 * num_layers // 3) + 1)) if num_layers else (0,)
        last = (num_layers,)
        named = {"middle": middle, "last": last, "middle+last": tuple(sorted({*middle, *last}))}
        if layers not in named:
            raise ValueError(f"layers must be one of {sorted(named)} or a list of layer numbers, got {layers!r}.")
        return named[layers]
    resolved = tuple(layers)
    if not resolved or any(isinstance(layer, bool) or not isinstance(layer, int) for layer in resolved):
        raise ValueError(f"layers must be a non-empty list of layer numbers, got {list(resolved)!r}.")
    for layer in resolved:
        if not num_layers:
            raise ValueError(
                f"layer {layer} does not exist: this model has no layers (static token vectors); give layers "
                "'middle', 'last' or 'middle+last', which read its token vectors."
            )
        if not 1 <= layer <= num_layers:
            raise ValueError(f"layer {layer} does not exist: this encoder has layers 1..{num_layers}.")
    return tuple(sorted(set(resolved)))


def normalized_prefix(embeddings: Tensor, dim: int) -> Tensor:
    """``norm(z[..., :dim])``, the prefix a Matryoshka loss scores (what ``MatryoshkaLoss`` computes per dim)."""
    return F.normalize(embeddings[..., :dim], p=2, dim=-1)


class MICLoss(nn.Module):
    """The MIC objective: ``L = L_MRL + γ · L_align + λ_SD · L_SD`` (``docs/method.md`` §1).

    Like sentence-transformers' ``MatryoshkaLoss`` it takes the model and a base loss and wraps them.

    - ``L_MRL``: sentence-transformers' :class:`MatryoshkaLoss` around ``loss`` at every dim of ``dims``.
    - ``L_align = mean_{ℓ∈Λ} [ scr_weight · L_SCR(ℓ) + sir_weight · L_SIR(ℓ) ]``, each averaged over the
      regularised prefix dims ``𝓜'`` (default: ``dims`` without the full size): SCR on the token hidden states
      of layer ℓ (all input columns together), SIR on their mask-aware mean pool (per encoder forward, so the
      two dropout views of a SimCSE pair are not pushed apart, averaged over forwards).
    - ``L_SD``: :class:`PrefixSelfDistillation` of the ``𝓜'`` prefixes of the final sentence embedding (or,
      for ``"cka"``, of the last layer's token states), per forward. Its teacher is the student's own full
      embedding, detached (``"full"``), or a :class:`~mic.losses.teacher.DistillationTeacher`: a frozen copy of
      the initial model (``"initial"``) or an exponential moving average of the student (``"ema"``,
      ``θ_T ← d θ_T + (1 − d) θ`` before each training forward). The copy's forward (eval mode, no dropout, no
      gradients) is the term's extra cost (``benchmarks/overhead.py``); a frozen teacher's embeddings are
      memoised by token ids. To keep an EMA teacher across ``resume_from_checkpoint``, give the trainer
      :class:`~mic.losses.teacher.TeacherCheckpoint` ``(loss.teacher, checkpoint)``.

    One encoder forward per input column, with hidden states when a term needs them, serves every dim, every
    layer and every term; the task loss is ``Σ_m w_m · loss.compute_loss_from_embeddings`` of the normalised
    prefixes, summed in ``MatryoshkaLoss``'s order (sentence-transformers' ``InfoNCEGORLoss`` pattern). The
    forward returns a dict (``task``, ``scr_correlation``, ``scr_variance_floor``, ``sir_variance_cv``,
    ``sir_uniformity``, ``distill``; each already weighted, only the active ones), which
    ``SentenceTransformerTrainer`` sums and logs term by term, after one fused finiteness check (one
    device→host sync per step). With ``gamma=0`` and ``distill_weight=0`` it is exactly ``MatryoshkaLoss``.

    Inputs:
        +--------------------------------------+---------------------------------+
        | Inputs                               | Labels                          |
        +======================================+=================================+
        | whatever ``loss`` accepts, e.g.      | whatever ``loss`` accepts       |
        | (anchor, positive) pairs for MNRL,   | (none for MNRL, float scores    |
        | (sentence_A, sentence_B) for CoSENT  | for CoSENT/AnglE)               |
        +--------------------------------------+---------------------------------+

    Args:
        model: a SentenceTransformer whose first module is a Hugging Face ``Transformer`` or a
            ``StaticEmbedding`` (whose token states are its token vectors, :func:`mic.models.static_token_states`).
        loss: the base loss (e.g. ``MultipleNegativesRankingLoss``, ``CoSENTLoss``, ``AnglELoss``).
        dims: ascending Matryoshka dims, at most the embedding size (include it).
        weights: per-dim task weights ``w_m`` (default 1).
        layers: ``Λ``, see :func:`resolve_layers` (default the middle third).
        regularizer_dims: ``𝓜'``, prefixes smaller than the embedding size regularised by SCR/SIR and taught by
            SD (default ``dims`` minus the embedding size).
        gamma: ``γ``, weight of ``L_align``.
        tolerance: ``τ_corr`` of SCR.
        variance_floor_weight: ``λ_var`` of SCR.
        scr_weight, sir_weight: switch SCR / SIR off (0) for ablations or re-balance them. SIR is off by
            default, the dev sweeps' choice (:mod:`mic.losses.defaults`); ``sir_weight=1`` is METHOD.md's form.
        distill_weight: ``λ_SD`` (0 = off).
        distill_temperature: ``τ_d`` (``"kl"``).
        distill_objective: ``"kl"``, ``"cosine"`` or ``"cka"`` (:class:`PrefixSelfDistillation`).
        distill_teacher: ``"full"``, ``"initial"`` or ``"ema"`` (see ``L_SD`` above).
        distill_ema_decay: ``d`` of the EMA teacher.
        uniformity_temperature: ``t`` of SIR's uniformity kernel.
        gather_across_devices: batch statistics over all data-parallel ranks.

    Example:
        ::

            from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, losses
            from datasets import Dataset
            from mic.losses import MICLoss

            model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
            data = Dataset.from_dict({"anchor": ["A man plays guitar.", "A dog runs."],
                                      "positive": ["Someone plays an instrument.", "An animal is running."]})
            loss = MICLoss(model, losses.MultipleNegativesRankingLoss(model), dims=[8, 16, 32, 64, 128, 256, 384])
            SentenceTransformerTrainer(model=model, train_dataset=data, loss=loss).train()

    References:
        MIC, https://arxiv.org/abs/2605.29987; Matryoshka Representation Learning, https://arxiv.org/abs/2205.13147
    """

    def __init__(
        self,
        model: SentenceTransformer,
        loss: nn.Module,
        dims: Sequence[int],
        weights: Sequence[float] | None = None,
        layers: LayerSpec = MIC_DEFAULTS.layers,
        regularizer_dims: Sequence[int] | None = None,
        gamma: float = MIC_DEFAULTS.gamma,
        tolerance: float = MIC_DEFAULTS.tolerance,
        variance_floor_weight: float = MIC_DEFAULTS.variance_floor_weight,
        scr_weight: float = MIC_DEFAULTS.scr_weight,
        sir_weight: float = MIC_DEFAULTS.sir_weight,
        distill_weight: float = MIC_DEFAULTS.distill_weight,
        distill_temperature: float = MIC_DEFAULTS.distill_temperature,
        distill_objective: DistillObjective = MIC_DEFAULTS.distill_objective,
        distill_teacher: DistillTeacher = MIC_DEFAULTS.distill_teacher,
        distill_ema_decay: float = MIC_DEFAULTS.distill_ema_decay,
        uniformity_temperature: float = MIC_DEFAULTS.uniformity_temperature,
        gather_across_devices: bool = True,
    ) -> None:
        super().__init__()
        num_layers = token_layers(model)
        if num_layers is None:
            raise ValueError(
                f"MICLoss needs a SentenceTransformer whose first module is a Hugging Face Transformer or a "
                f"StaticEmbedding, got {type(model[0]).__name__}."
            )
        embedding_size = model.get_embedding_dimension()
        self.dims = check_dims(dims, "dims", max_dim=embedding_size)
        if weights is not None:
            if len(weights) != len(self.dims):
                raise ValueError(f"weights must have one entry per dim ({len(self.dims)}), got {len(weights)}.")
            for weight in weights:
                check_non_negative(weight, "each entry of weights")
        self.gamma = check_non_negative(gamma, "gamma")
        self.scr_weight = check_non_negative(scr_weight, "scr_weight")
        self.sir_weight = check_non_negative(sir_weight, "sir_weight")
        self.distill_weight = check_non_negative(distill_weight, "distill_weight")
        if uses_gradient_cache(loss) and (self.gamma > 0 or self.distill_weight > 0):
            raise ValueError(
                f"MICLoss regularizes the hidden states of one forward with gradients; the gradient-cached "
                f"{type(loss).__name__} embeds in chunks without them. Use its non-cached version."
            )

        scorer = getattr(loss, "compute_loss_from_embeddings", None)
        if not uses_gradient_cache(loss) and (scorer is None or "labels" not in inspect.signature(scorer).parameters):
            raise ValueError(
                f"MICLoss scores every prefix of one forward with the base loss's "
                f"compute_loss_from_embeddings(embeddings, labels), which {type(loss).__name__} does not have; use a "
                f"loss that has it (MultipleNegativesRankingLoss, CoSENTLoss, AnglELoss, ...) or "
                f"sentence-transformers' MatryoshkaLoss."
            )
        self.model = model
        self.matryoshka = MatryoshkaLoss(model, loss, list(self.dims), None if weights is None else list(weights))
        self.layers = resolve_layers(layers, num_layers)
        if regularizer_dims is None:
            regularizer_dims = [dim for dim in self.dims if dim < embedding_size]
            if not regularizer_dims:
                raise ValueError(
                    f"dims {list(self.dims)} has no prefix smaller than the embedding size {embedding_size}."
                )
        self.regularizer_dims = check_dims(regularizer_dims, "regularizer_dims")
        if self.regularizer_dims[-1] >= embedding_size:
            raise ValueError(
                f"regularizer_dims must be smaller than the embedding size {embedding_size} (a prefix needs a "
                f"residual), got {self.regularizer_dims[-1]}."
            )
        self.scr = SoftCollapseRegularizer(
            self.regularizer_dims,
            tolerance=tolerance,
            variance_floor_weight=variance_floor_weight,
            gather_across_devices=gather_across_devices,
        )
        self.sir = SpectralIsotropyRegularizer(
            self.regularizer_dims, temperature=uniformity_temperature, gather_across_devices=gather_across_devices
        )
        self.distill = PrefixSelfDistillation(
            self.regularizer_dims,
            temperature=distill_temperature,
            objective=distill_objective,
            gather_across_devices=gather_across_devices,
        )
        check_teacher(distill_teacher, distill_ema_decay)
        self.distill_teacher = distill_teacher
        self.distill_ema_decay = float(distill_ema_decay)
        self.teacher: DistillationTeacher | None = None
        if self.distill_weight > 0 and distill_teacher != "full":
            self.teacher = DistillationTeacher(model, distill_teacher, self.distill_ema_decay)
        self.use_scr = self.gamma > 0 and self.scr_weight > 0
        self.use_sir = self.gamma > 0 and self.sir_weight > 0

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> dict[str, Tensor]:
        if self.matryoshka.uses_gradient_cache:  # only without regularizers (refused in __init__ otherwise)
            return {"task": self.matryoshka(sentence_features, labels)}
        features = list(sentence_features)
        distill = self.distill_weight > 0
        token_distill = distill and self.distill.objective == "cka"
        needs_hidden = self.use_scr or self.use_sir or token_distill
        with deferred_finite_checks():
            outputs = [encode(self.model, column, needs_hidden) for column in features]
            losses = {"task": self._task([output.embedding for output in outputs], labels)}
            if self.use_scr or self.use_sir:
                losses.update(self._alignment(outputs))
            if distill:
                losses["distill"] = self.distill_weight * self._distillation(features, outputs, token_distill)
        check_all_finite(losses, torch.cat([output.embedding.detach() for output in outputs]))
        return losses

    def _task(self, embeddings: list[Tensor], labels: Tensor | None) -> Tensor:
        """``Σ_m w_m · L(norm(z[:, :m]))`` in ``MatryoshkaLoss``'s order (descending dims), the same floats.

        Each prefix is cut from the previous, already normalised one, as ``MatryoshkaLoss``'s cached forward
        does (``norm(norm(z)[:, :m]) = norm(z[:, :m])``; the same rounding, so losses and gradients match bit
        for bit up to summation order).
        """
        loss: Tensor | float = 0.0
        prefixes = embeddings
        for dim, weight in zip(self.matryoshka.matryoshka_dims, self.matryoshka.matryoshka_weights, strict=True):
            prefixes = [normalized_prefix(prefix, dim) for prefix in prefixes]
            loss = loss + weight * self.matryoshka.loss.compute_loss_from_embeddings(prefixes, labels)
        return loss  # type: ignore[return-value]

    def _distillation(self, features: list[dict[str, Tensor]], outputs: list[EncoderForward], tokens: bool) -> Tensor:
        """``L_SD`` per input column, averaged; the teacher's forward runs without gradients."""
        if self.teacher is not None:
            self.teacher.update(getattr(self.model, "module", self.model))
        values = []
        for column, output in zip(features, outputs, strict=True):
            if tokens:
                teacher_hidden = None if self.teacher is None else self.teacher.encode(column).hidden_states[-1]
                hidden = output.hidden_states[-1]
                values.append(
                    self.distill(output.embedding, hidden=hidden, mask=output.mask, teacher_hidden=teacher_hidden)
                )
            else:
                teacher = None if self.teacher is None else self.teacher.embed(column)
                values.append(self.distill(output.embedding, teacher))
        return torch.stack(values).mean()

    def _alignment(self, outputs: list[EncoderForward]) -> dict[str, Tensor]:
        """``γ · L_align`` split into its weighted parts, averaged over the layers ``Λ``."""
        parts: dict[str, list[Tensor]] = {}
        for layer in self.layers:
            if self.use_scr:
                hidden, mask = cat_padded_token_embeddings(
                    [output.hidden_states[layer] for output in outputs], [output.mask for output in outputs]
                )
                scr = self.scr.weighted_terms(hidden, mask)
                parts.setdefault("scr_correlation", []).append(self.scr_weight * scr["correlation"])
                if self.scr.variance_floor_weight > 0:
                    parts.setdefault("scr_variance_floor", []).append(self.scr_weight * scr["variance_floor"])
            if self.use_sir:
                for output in outputs:
                    sir = self.sir.weighted_terms(masked_mean_pool(output.hidden_states[layer], output.mask))
                    parts.setdefault("sir_variance_cv", []).append(self.sir_weight * sir["variance_cv"])
                    parts.setdefault("sir_uniformity", []).append(self.sir_weight * sir["uniformity"])
        return {name: self.gamma * torch.stack(values).mean() for name, values in parts.items()}

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "loss": type(self.matryoshka.loss).__name__,
            "dims": list(self.dims),
            "weights": list(self.matryoshka.matryoshka_weights[::-1]),
            "layers": list(self.layers),
            "regularizer_dims": list(self.regularizer_dims),
            "gamma": self.gamma,
            "tolerance": self.scr.tolerance,
            "variance_floor_weight": self.scr.variance_floor_weight,
            "scr_weight": self.scr_weight,
            "sir_weight": self.sir_weight,
            "distill_weight": self.distill_weight,
            "distill_temperature": self.distill.temperature,
            "distill_objective": self.distill.objective,
            "distill_teacher": self.distill_teacher,
            "distill_ema_decay": self.distill_ema_decay,
            "uniformity_temperature": self.sir.temperature,
        }

    @property
    def citation(self) -> str:
        return """
@inproceedings{mic2026,
    title={MIC: Maximizing Informational Capacity in Adaptive Representations via Isotropic Subspace Alignment},
    booktitle={International Conference on Machine Learning (ICML)},
    year={2026},
    eprint={2605.29987},
    archivePrefix={arXiv}
}
"""
