"""The adapter benchmark's registry (fit data, splits, the dev sweep's entries, the test phase's methods) and one
cached adapter fit: fitted by ``mic.adapt.fit`` on the stock model's cached embeddings, scored by ``mic eval``'s
runner (:func:`common.scoring.score_loaded`) on the stock model's encodings mapped by the adapter, and cached in
``results/adapter-runs/KEY.json`` under the one run key (:func:`common.runs.run_key`)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor

from common.report import pca_name
from common.runs import new_record, read_record, run_key, write_record
from common.scoring import Scores, score_loaded
from common.settings import DIMS, RESULTS
from mic.adapt import Adapter, FitSettings, fit
from mic.adapt.fit import PairSupervision
from mic.adapt.tokens import TokenStates
from mic.cache import EmbeddingStore, default_cache_dir, embedding_entry
from mic.data.tasks import TaskData
from mic.encoders import Encoder, PCAProjection

RUNS = RESULTS / "adapter-runs"
TARGET_DIMS = [8, 16, 32]
SEEDS = [0, 1, 2]
FIT_DATA = ["stsb:train", "sick:train", "scifact"]
PCA = pca_name(FIT_DATA)
"""The PCA baseline's name: fitted on the adapters' fit texts (which include the evaluated SciFact corpus)."""
SUPERVISION = ["stsb:train", "scifact:train"]
SPLITS = {
    "dev": {"stsb": "stsb:dev", "sickr": "sick:trial", "scifact": "scifact:train"},
    "test": {"stsb": "stsb:test", "sickr": "sick:test", "scifact": "scifact:test"},
}
MIC_TERMS = {"distill": 0.1, "sir": 0.01, "scr": 1.0}
"""Each MIC term's weight when an ablation switches it on (the dev sweep's value), else it is switched off."""
SHORT = {"batch_size": 256, "steps": 500}
SWEEP: dict[str, dict[str, object]] = {
    "base": {},
    "init=pca": {"init": "pca"},
    "pairwise-only": {"topk": 0.0},
    "steps=2000": {"steps": 2000},
    "topk_k=30": {"topk_k": 30},
    "residual-layer": {"residual_layer": True},
    "+distill=0.1": {"distill": 0.1},
    "+sir=0.01": {"sir": 0.01},
    "+scr=1,tol=0": {"scr": 1.0, "scr_tolerance": 0.0},
    "base (256x500)": SHORT,
    "+distill=1 (256x500)": {**SHORT, "distill": 1.0},
    "+sir=0.1 (256x500)": {**SHORT, "sir": 0.1},
    "+scr=1 (256x500)": {**SHORT, "scr": 1.0},
}
"""Dev sweep, seed 0: each entry overrides the base objective (pairwise + top-k, identity init)."""
SWEEP_BASE = {"init": "identity", "distill": 0.0, "sir": 0.0, "scr": 0.0}
AROUND_DEFAULT: dict[str, dict[str, object]] = {
    "default": {},
    "default, distill=0.03": {"distill": 0.03},
    "default, distill_temperature=0.1": {"distill_temperature": 0.1},
    "default, topk_k=30": {"topk_k": 30},
    "default, steps=2000": {"steps": 2000},
    "default, learning_rate=3e-3": {"learning_rate": 3e-3},
    "default, pairwise=3": {"pairwise": 3.0},
    "default, +scr=1 (token)": {"scr": 1.0},
    "default, +scr=1 (sentence)": {"scr": 1.0, "scr_form": "sentence"},
    "sup, task=3": {"supervision": SUPERVISION, "task": 3.0},
    "sup, task=1": {"supervision": SUPERVISION, "task": 1.0},
    "sup, task=1, teacher=adapted": {"supervision": SUPERVISION, "task": 1.0, "teacher": "adapted"},
    "sup, task=0.1": {"supervision": SUPERVISION, "task": 0.1},
    "sup, task=0.03": {"supervision": SUPERVISION, "task": 0.03},
    "sup, task=0.01": {"supervision": SUPERVISION, "task": 0.01},
    "sup on stsb:train only, task=1": {"supervision": ["stsb:train"], "task": 1.0},
    "sup on stsb:train only, task=1, pair_batch_size=256": {
        "supervision": ["stsb:train"],
        "task": 1.0,
        "pair_batch_size": 256,
    },
    "sup on stsb:train only, task=0.03": {"supervision": ["stsb:train"], "task": 0.03},
}
"""Second dev round, seed 0: each entry overrides the defaults (``FitSettings()``); ``supervision`` adds the task
loss on those sources; SCR is token-level unless ``scr_form`` is ``sentence`` (the first round's was
sentence-level). SciFact's dev queries are its train queries, which the supervised entries train on: their SciFact
dev score is not a held-out number, so they are compared on STS-B dev and SICK trial."""


def sweep_entries() -> dict[str, tuple[FitSettings, list[str], bool]]:
    """Both dev rounds as ``{name: (settings, supervision sources, token-level SCR)}``, seed 0."""
    entries = {name: (FitSettings(**{**SWEEP_BASE, **o, "seed": 0}), [], False) for name, o in SWEEP.items()}
    for name, overrides in AROUND_DEFAULT.items():
        fields = {key: value for key, value in overrides.items() if key not in ("supervision", "scr_form")}
        token_scr = overrides.get("scr_form") != "sentence"
        entries[name] = (FitSettings(**fields, seed=0), list(overrides.get("supervision", [])), token_scr)
    return entries


def methods() -> dict[str, tuple[FitSettings, list[str]]]:
    """The adapter methods of the test phase as ``{name: (settings, supervision sources)}``: the defaults,
    supervised, and each MIC term toggled."""
    default = FitSettings()
    entries = {"adapter-unsup": (default, []), "adapter-sup": (default, SUPERVISION)}
    for term, weight in MIC_TERMS.items():
        on = getattr(default, term) > 0
        name = f"adapter-unsup-no-{term}" if on else f"adapter-unsup+{term}"
        entries[name] = (default.model_copy(update={term: 0.0 if on else weight}), [])
    return entries


def adapter_key(settings: FitSettings, supervision: Sequence[str], token_scr: bool, base_fingerprint: str) -> str:
    """The run key of one fit: its settings (seed apart), supervision sources, SCR form, fit data and base model."""
    config = {
        "fit": settings.model_dump(mode="json", exclude={"seed"}),
        "supervision": list(supervision),
        "scr_form": "token" if token_scr and settings.scr > 0 else "sentence" if settings.scr > 0 else None,
        "fit_data": FIT_DATA,
        "base_fingerprint": base_fingerprint,
    }
    return run_key(config, settings.seed)


@dataclass(frozen=True)
class Mapped:
    """A fixed map of an encoder's output (an adapter, a PCA rotation): the ``projection`` of an
    :class:`~mic.encoders.Encoder`, so every map of one model shares its encodings."""

    apply: Callable[[Tensor], Tensor]
    fit_sentences: int


def score_mapped(
    base: Encoder,
    apply: Callable[[Tensor], Tensor] | None,
    tasks: Mapping[str, TaskData],
    store: EmbeddingStore,
    dims: Sequence[int] = DIMS,
) -> Scores:
    """Every task at every dim of ``base``'s embeddings mapped by ``apply`` (the identity when None)."""
    encoder = Encoder(base.name, base.model, None if apply is None else Mapped(apply, 0))  # type: ignore[arg-type]
    return score_loaded(encoder, tasks, dims, store)


@dataclass
class FitContext:
    """What every fit and score of one command shares: the fit embeddings, the supervision pairs, the token
    states for token-level SCR, the stock encoder, its fingerprint and the embedding store."""

    fit_data: Tensor
    supervision: dict[str, PairSupervision]
    tokens: TokenStates | None
    base: Encoder
    fingerprint: str
    store: EmbeddingStore
    command: str


def fitted(
    context: FitContext,
    settings: FitSettings,
    sources: Sequence[str],
    tasks: Mapping[str, TaskData],
    split: str,
    token_scr: bool = True,
) -> dict:
    """Fit (or read the cached record of) one adapter and score it on ``split``; SCR is token-level with
    ``token_scr``."""
    key = adapter_key(settings, sources, token_scr, context.fingerprint)
    record_path = RUNS / f"{key}.json"
    record = read_record(record_path)
    if record is None or split not in record["scores"]:
        adapter_path = default_cache_dir() / "adapter-benchmark" / key  # weights stay out of the repo
        if (adapter_path / "adapter.json").is_file():
            adapter = Adapter.load(adapter_path)
        else:
            adapter = fit(
                context.fit_data,
                DIMS,
                [context.supervision[spec] for spec in sources],
                tokens=context.tokens if token_scr else None,
                base_model="default",
                base_fingerprint=context.fingerprint,
                show_progress_bar=False,
                **settings.model_dump(),
            )
            adapter.save(adapter_path)
        fields = {
            "settings": settings.model_dump(mode="json"),
            "supervision": list(sources),
            "fit_seconds": adapter.info["fit_seconds"],
            "final_terms": adapter.info["final_terms"],
            "scr_form": adapter.info.get("scr_form"),
            "scores": {},
        }
        record = record or new_record(key, context.command, fields)
        record["scores"][split] = score_mapped(context.base, adapter.transform, tasks, context.store)
        write_record(record_path, record)
    return record


def baselines(context: FitContext, pca: PCAProjection, tasks: dict) -> dict[str, Scores]:
    """Truncation and PCA (fitted on the fit texts' embeddings, named :data:`PCA`) on ``tasks``."""
    return {
        "truncate": score_mapped(context.base, None, tasks, context.store),
        PCA: score_mapped(context.base, pca.apply, tasks, context.store),
    }


def mean_at(scores: Scores, dims: list[int]) -> float:
    """The mean score over every task at ``dims``."""
    return statistics.mean(scores[task][str(dim)] for task in scores for dim in dims)


def sidecar_seconds(fingerprint: str, text_lists: list[list[str]]) -> float:
    """Encoding seconds the cache recorded when these lists were first embedded (0 for a list it lacks)."""
    total = 0.0
    for texts in text_lists:
        sidecar = embedding_entry(fingerprint, texts).with_suffix(".json")
        if sidecar.is_file():
            total += json.loads(sidecar.read_text()).get("encode_seconds", 0.0)
    return total
