"""The dev-split evaluator used during training: STS Spearman at every Matryoshka dim from one encoding."""

from __future__ import annotations

from collections.abc import Sequence

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from mic.cache import EmbeddingStore
from mic.data import ScoredPairs
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoders import Encoder
from mic.evaluation.sts import score_pairs


class MatryoshkaSTSEvaluator(SentenceEvaluator):
    """Spearman x100 of cosine similarity vs gold at every dim; each unique sentence is encoded once.

    Returns ``{"{name}_spearman_{dim}": ..., "{name}_spearman_mean": ...}``; the primary metric (used for
    checkpoint selection) is the mean over dims, so a model is not chosen for its full-dim score alone.
    ``last_scores`` keeps the latest ``(step, metrics)``, so the training recipe reuses the trainer's final
    evaluation instead of encoding the dev split a second time.
    """

    def __init__(
        self, pairs: ScoredPairs, dims: Sequence[int], name: str = "dev", batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        super().__init__()
        self.pairs = pairs
        self.dims = list(dims)
        self.name = name
        self.batch_size = batch_size
        self.primary_metric = "spearman_mean"
        self.last_scores: tuple[int, dict[str, float]] | None = None

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        # A fresh store per call: the weights change between evaluations.
        store = EmbeddingStore(batch_size=self.batch_size)
        scores = score_pairs(Encoder(self.name, model), self.pairs, self.dims, store).scores
        metrics = {f"spearman_{dim}": scores[dim]["spearman"] for dim in self.dims}
        metrics["spearman_mean"] = sum(metrics.values()) / len(self.dims)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.last_scores = (steps, dict(metrics))  # a copy: the trainer renames the keys of what it gets
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
