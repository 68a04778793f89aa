"""STS at every Matryoshka dim: Spearman and Pearson x100 of prefix cosine similarity against gold scores.

Each unique sentence of a task is encoded once at full dim; the dim-``m`` score uses
``cos(norm(a_{:m}), norm(b_{:m}))``, the similarity a user of the truncated embedding computes (SentEval/MTEB
convention: correlations x100, scipy.stats).

Tasks (``--tasks``, comma-separated):

- ``stsb`` (STS Benchmark test), ``sickr`` / ``sick`` (SICK relatedness test); ``stsb:dev`` etc. for a split;
- a scored-pair file (``score<TAB>sentence1<TAB>sentence2`` lines, or a table with a header; formats in
  :mod:`mic.data.files`) or a Hugging Face dataset (``owner/name[:split]``);
- ``mteb`` (the English MTEB STS tasks) or ``mteb:TASK``: needs the optional ``mteb>=2`` package and network.

JSON schema (``schema: "mic-eval/1"``), written by :meth:`EvalResult.to_dict`::

    {"schema": "mic-eval/1", "model": "default", "embedding_dim": 384, "dims": [384, 256, ..., 8],
     "tasks": {"stsb": {"source": ".../sts-test.csv", "pairs": 1379, "sentences": 2758, "seconds": 9.8,
                        "scores": {"384": {"spearman": 82.03, "pearson": 83.42}, "256": {...}, ...}}, ...},
     "seconds": 21.3, "batch_size": 64, "pca_fit_sentences": null,
     "command": "mic eval default", "seed": 0, "versions": {"torch": "...", ...}, "git_commit": "..."}

Dims are JSON object keys, so strings; a correlation that is undefined (constant similarities) is ``null``;
``pairs``/``sentences`` are ``null`` for MTEB tasks, whose data MTEB loads itself.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy.stats import ConstantInputWarning, pearsonr, spearmanr
from torch import Tensor

from mic.data import ScoredPairs, load_scored_pairs, parse_source
from mic.data.files import FORMATS
from mic.data.sources import BENCHMARKS
from mic.evaluation.encoders import Encoder, EvaluationError, load_encoder, resolve_dims
from mic.evaluation.records import finite_or_none, provenance

SCHEMA = "mic-eval/1"
DEFAULT_TASKS = ("stsb", "sickr")
MTEB_TASK = "mteb"
MTEB_STS_TASKS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICK-R")
"""The English STS tasks of MTEB that ``--tasks mteb`` runs."""

Scores = dict[int, dict[str, float]]
"""``{dim: {"spearman": x100, "pearson": x100}}``."""


def parse_tasks(text: str | Sequence[str]) -> list[str]:
    """Split and check task specs before any data or model is loaded, so a typo fails fast.

    Raises:
        EvaluationError: for an empty list or a name that is neither a benchmark, ``mteb``, nor a file or dataset.
    """
    specs = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if part.strip()]
    if not specs:
        raise EvaluationError("No task given; use e.g. --tasks stsb,sickr or a scored-pair file.")
    for spec in specs:
        target = parse_source(spec).target
        path = Path(spec).expanduser()
        is_named = target in BENCHMARKS or target == MTEB_TASK
        is_data = path.exists() or path.suffix.lower() in FORMATS or "/" in spec
        if not (is_named or is_data):
            raise EvaluationError(
                f"Unknown task {spec!r}; choose stsb, sickr, mteb[:TASK], a scored-pair file (.tsv/.csv/.txt/.jsonl) "
                "or a dataset owner/name."
            )
    return list(dict.fromkeys(specs))


def load_task(spec: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """The scored pairs of a task spec (benchmarks default to their test split; see the module docstring).

    Raises:
        EvaluationError: for an unknown task name or an MTEB task (MTEB loads its own data).
        DataError: for a missing data folder or file, or a malformed row.
    """
    (spec,) = parse_tasks([spec])
    if parse_source(spec).target == MTEB_TASK:
        raise EvaluationError(f"{spec}: MTEB tasks are loaded and scored by mteb; give stsb, sickr or a file here.")
    return load_scored_pairs(spec, data_dir, default_split="test")


def prefix_cosine(first: Tensor, second: Tensor, dim: int) -> Tensor:
    """``cos(a_{:m}, b_{:m})`` row by row: ``(N, D), (N, D) -> (N,)``; the prefixes are re-normalised."""
    return (F.normalize(first[:, :dim], dim=-1) * F.normalize(second[:, :dim], dim=-1)).sum(dim=-1)


def sts_scores(first: Tensor, second: Tensor, gold: Sequence[float], dims: Sequence[int]) -> Scores:
    """Spearman and Pearson x100 of the prefix cosine of each pair against ``gold``, at every dim.

    Args:
        first: ``(N, D)`` full-dim embeddings of the first sentences.
        second: ``(N, D)`` full-dim embeddings of the second sentences.
        gold: ``N`` gold scores.
        dims: the prefix sizes ``m`` to score.

    Returns:
        ``{m: {"spearman": ..., "pearson": ...}}``; NaN where the similarities are constant.
    """
    scores: Scores = {}
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


@dataclass
class TaskScores:
    """One task's scores at every dim.

    Attributes:
        task: the spec as given (``stsb``, a path, ``mteb:STS12``).
        source: where the pairs came from (a file path, a dataset name, ``mteb``).
        pairs: number of scored pairs (``None`` for MTEB tasks).
        sentences: number of unique sentences encoded (``None`` for MTEB tasks).
        seconds: wall time of encoding and scoring.
        scores: ``{dim: {"spearman": ..., "pearson": ...}}`` x100.
    """

    task: str
    source: str
    pairs: int | None
    sentences: int | None
    seconds: float
    scores: Scores

    def to_dict(self) -> dict[str, object]:
        scores = {
            str(dim): {name: finite_or_none(value) for name, value in values.items()}
            for dim, values in self.scores.items()
        }
        return {
            "source": self.source,
            "pairs": self.pairs,
            "sentences": self.sentences,
            "seconds": round(self.seconds, 3),
            "scores": scores,
        }


def score_pairs(
    encoder: Encoder,
    pairs: ScoredPairs,
    dims: Sequence[int],
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    task: str | None = None,
) -> TaskScores:
    """Encode the unique sentences of ``pairs`` once at full dim and score every dim (see :func:`sts_scores`).

    ``task`` names the result (default: the pairs' source).
    """
    start = time.perf_counter()
    unique = list(dict.fromkeys([*pairs.sentences1, *pairs.sentences2]))
    row = {sentence: index for index, sentence in enumerate(unique)}
    embeddings = encoder.encode(unique, batch_size=batch_size, show_progress_bar=show_progress_bar)
    first = embeddings[[row[sentence] for sentence in pairs.sentences1]]
    second = embeddings[[row[sentence] for sentence in pairs.sentences2]]
    scores = sts_scores(first, second, pairs.scores, dims)
    seconds = time.perf_counter() - start
    return TaskScores(task or pairs.source, pairs.source, len(pairs), len(unique), seconds, scores)


def evaluate_mteb(
    encoder: Encoder, task_names: Sequence[str], dims: Sequence[int], batch_size: int = 64
) -> dict[str, TaskScores]:
    """MTEB STS tasks at every dim (optional: needs ``mteb>=2`` and network access for the task data).

    MTEB owns its encoding loop, so here each dim encodes again (with the model's ``truncate_dim``); the
    offline ``stsb``/``sickr`` tasks are the ones that encode once for all dims.

    Raises:
        EvaluationError: when mteb is missing or too old, the hub is switched off, or for a ``pca:`` model.
    """
    try:
        import mteb
    except ImportError:
        raise EvaluationError(
            "MTEB tasks need the optional package mteb (pip install 'mteb>=2') and network access; "
            "it is not installed. Use --tasks stsb,sickr for the offline benchmarks."
        ) from None
    if not hasattr(mteb, "evaluate"):
        raise EvaluationError(f"MTEB tasks need mteb>=2 (mteb.evaluate); found mteb {mteb.__version__}.")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise EvaluationError("MTEB downloads its task data from the Hugging Face hub, but HF_HUB_OFFLINE=1 is set.")
    if encoder.projection is not None:
        raise EvaluationError(f"{encoder.name}: MTEB tasks run on plain models only, not on the PCA baseline.")
    tasks = mteb.get_tasks(tasks=list(task_names), languages=["eng"])
    results: dict[str, TaskScores] = {}
    for dim in dims:
        start = time.perf_counter()
        with encoder.model.truncate_embeddings(dim):
            outcome = mteb.evaluate(encoder.model, tasks, encode_kwargs={"batch_size": batch_size}, cache=None)
        seconds = (time.perf_counter() - start) / max(len(outcome.task_results), 1)
        for task_result in outcome.task_results:
            name = f"{MTEB_TASK}:{task_result.task_name}"
            scores = results.setdefault(name, TaskScores(name, MTEB_TASK, None, None, 0.0, {}))
            scores.seconds += seconds
            scores.scores[dim] = {
                "spearman": 100 * float(task_result.get_score(getter=lambda values: values["cosine_spearman"])),
                "pearson": 100 * float(task_result.get_score(getter=lambda values: values["cosine_pearson"])),
            }
    return results


@dataclass
class EvalResult:
    """STS scores of one model at every dim on every task; :meth:`to_dict` gives the documented JSON."""

    model: str
    embedding_dim: int
    dims: list[int]
    tasks: dict[str, TaskScores]
    seconds: float
    batch_size: int
    pca_fit_sentences: int | None = None
    provenance: dict[str, object] = field(default_factory=dict)

    def spearman(self, task: str, dim: int) -> float:
        """Spearman x100 of ``task`` at ``dim``."""
        return self.tasks[task].scores[dim]["spearman"]

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "embedding_dim": self.embedding_dim,
            "dims": self.dims,
            "tasks": {name: scores.to_dict() for name, scores in self.tasks.items()},
            "seconds": round(self.seconds, 3),
            "batch_size": self.batch_size,
            "pca_fit_sentences": self.pca_fit_sentences,
            **self.provenance,
        }


def evaluate_encoder(
    encoder: Encoder,
    tasks: Mapping[str, ScoredPairs],
    dims: Sequence[int] | None = None,
    *,
    mteb_tasks: Sequence[str] = (),
    batch_size: int = 64,
    show_progress_bar: bool | None = None,
    command: str | None = None,
    seed: int = 0,
) -> EvalResult:
    """Score ``encoder`` on loaded tasks at every dim.

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        tasks: ``{task name: scored pairs}``.
        dims: prefix sizes; ``None`` gives the defaults of :func:`mic.evaluation.default_dims`.
        mteb_tasks: MTEB task names to run as well (see :func:`evaluate_mteb`).
        batch_size: encoding batch size.
        show_progress_bar: encoding progress bars.
        command: the command line, recorded in the result.
        seed: recorded in the result (evaluation itself draws no random numbers).

    Raises:
        EvaluationError: for a dim larger than the model.
    """
    start = time.perf_counter()
    chosen = resolve_dims(dims, encoder.dim, encoder.name)
    results = {
        name: score_pairs(encoder, pairs, chosen, batch_size, show_progress_bar, task=name)
        for name, pairs in tasks.items()
    }
    if mteb_tasks:
        results |= evaluate_mteb(encoder, mteb_tasks, chosen, batch_size)
    return EvalResult(
        model=encoder.name,
        embedding_dim=encoder.dim,
        dims=chosen,
        tasks=results,
        seconds=time.perf_counter() - start,
        batch_size=batch_size,
        pca_fit_sentences=encoder.projection.fit_sentences if encoder.projection is not None else None,
        provenance=provenance(command, seed),
    )


def split_tasks(specs: Sequence[str], data_dir: str | Path | None) -> tuple[dict[str, ScoredPairs], list[str]]:
    """Load the scored pairs of every non-MTEB task and list the MTEB task names (``mteb`` = all STS tasks)."""
    loaded: dict[str, ScoredPairs] = {}
    mteb_names: list[str] = []
    for spec in parse_tasks(specs):
        source = parse_source(spec)
        if source.target == MTEB_TASK:
            mteb_names.extend([source.split] if source.split else MTEB_STS_TASKS)
        else:
            loaded[spec] = load_task(spec, data_dir)
    return loaded, list(dict.fromkeys(mteb_names))


def run_eval(
    model: str,
    tasks: str | Sequence[str] = DEFAULT_TASKS,
    dims: Sequence[int] | None = None,
    *,
    data_dir: str | Path | None = None,
    fit_data: str | None = None,
    batch_size: int = 64,
    device: str | None = None,
    show_progress_bar: bool | None = None,
    command: str | None = None,
    seed: int = 0,
) -> EvalResult:
    """``mic eval``: load the tasks, then the model, then score every dim (tasks first, so typos fail fast).

    Args:
        model: a model spec (see :mod:`mic.evaluation.encoders`: ``default``, a folder, a hub id,
            ``truncation[:MODEL]``, ``pca[:MODEL]``).
        tasks: task specs, a list or one comma-separated string (see the module docstring).
        dims: prefix sizes (``None``: defaults for the model's size).
        data_dir: folder of the benchmark files (``None``: ``$MIC_DATA_DIR``).
        fit_data: the sentences a ``pca:`` model is fitted on (default STS-B train).
        batch_size: encoding batch size.
        device: torch device (``None``: sentence-transformers' choice).
        show_progress_bar: encoding progress bars.
        command: the command line, recorded in the result.
        seed: seeds torch and is recorded.

    Raises:
        EvaluationError, DataError, ModelError: for user-fixable problems (see the messages).

    Example:
        >>> result = run_eval("default", ["stsb"], [384, 64], data_dir="../shared/data")  # doctest: +SKIP
        >>> result.spearman("stsb", 64)  # doctest: +SKIP
    """
    torch.manual_seed(seed)
    loaded, mteb_names = split_tasks(tasks.split(",") if isinstance(tasks, str) else tasks, data_dir)
    encoder = load_encoder(
        model,
        fit_data=fit_data,
        data_dir=data_dir,
        batch_size=batch_size,
        device=device,
        show_progress_bar=show_progress_bar,
    )
    return evaluate_encoder(
        encoder,
        loaded,
        dims,
        mteb_tasks=mteb_names,
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
        command=command,
        seed=seed,
    )
