"""The adapter benchmark's registry (fit data, splits, the dev sweep's entries, the test phase's methods) and one
cached adapter fit: fitted by ``mic.adapt.fit`` on the stock model's cached embeddings, scored by ``mic eval``'s
runner (:func:`common.scoring.score_loaded`) on the stock model's encodings mapped by the adapter, and cached in
``results/adapter-runs/KEY.json`` under the one run key (:func:`common.runs.run_key`). :func:`cached_test_fits`
finds the test phase's cached fits by the rule of :mod:`common.runs`: this code's, else one from before records
carried their code (labelled); one from other code is named, never used."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from torch import Tensor

from common.report import origin_entry, pca_name
from common.runs import CURRENT, NO_FINGERPRINT, OTHER_CODE, new_record, origin, read_record, run_key, write_record
from common.scoring import Scores, score_loaded
from common.settings import DIMS, RESULTS, TEST_TASKS
from mic.adapt import Adapter, FitSettings, fit
from mic.adapt.data import EmbeddingSource
from mic.adapt.fit import PairSupervision
from mic.adapt.tokens import TokenStates
from mic.cache import EmbeddingStore, default_cache_dir, embedding_entry
from mic.data.tasks import TaskData
from mic.dims import default_dims
from mic.encoders import Encoder, PCAProjection
from mic.models import load_model, model_fingerprint

RUNS = RESULTS / "adapter-runs"
TARGET_DIMS = [8, 16, 32]
SEEDS = [0, 1, 2]
FIT_DATA = ["stsb:train", "sick:train", "scifact"]
PCA = pca_name(FIT_DATA)
"""The PCA baseline's name: fitted on the adapters' fit texts (which include the evaluated SciFact corpus)."""
SUPERVISION = ["stsb:train", "scifact:train"]
SPLITS = {
    "dev": {"stsb": "stsb:dev", "sickr": "sick:trial", "scifact": "scifact:train"},
    "test": TEST_TASKS,
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


CORPORA = ["scifact", "cranfield"]
"""The retrieval corpora the adapter's protocols and the binary-code benchmark evaluate on."""


def source_spec(source: str, data_dir: Path) -> str:
    """The data source of a name: a corpus mic does not name (``cranfield``) as its BEIR folder in the data
    folder, any other name as it is."""
    return str(data_dir / source) if source in CORPORA and source != "scifact" else source


@dataclass
class Base:
    """One stock encoder and what its runs share: fingerprint, cached embeddings, one store of encodings, dims."""

    encoder: Encoder
    fingerprint: str
    embed: EmbeddingSource
    store: EmbeddingStore
    dims: list[int]

    @classmethod
    def load(cls, name: str) -> Base:
        model = load_model(name)
        fingerprint = model_fingerprint(model)
        encoder = Encoder(name, model)
        dims = default_dims(model.get_embedding_dimension())
        return cls(encoder, fingerprint, EmbeddingSource(encoder, fingerprint), EmbeddingStore(), dims)


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


def scr_form(settings: FitSettings, token_scr: bool) -> str | None:
    """The SCR form of a fit: ``token`` or ``sentence`` level, None without SCR."""
    return ("token" if token_scr else "sentence") if settings.scr > 0 else None


def fit_identity(settings: FitSettings, supervision: Sequence[str], form: str | None) -> dict[str, object]:
    """What decides one fit besides its seed, fit data and base model: its settings (the task weight only with
    supervision, the one thing it weighs), its supervision sources and its SCR form ``form``."""
    fields = settings.model_dump(mode="json", exclude={"seed"} if supervision else {"seed", "task"})
    return {"fit": fields, "supervision": list(supervision), "scr_form": form}


def adapter_key(settings: FitSettings, supervision: Sequence[str], token_scr: bool, base_fingerprint: str) -> str:
    """The run key of one fit: its :func:`fit_identity`, fit data and base model, and its seed."""
    config = {
        **fit_identity(settings, supervision, scr_form(settings, token_scr)),
        "fit_data": FIT_DATA,
        "base_fingerprint": base_fingerprint,
    }
    return run_key(config, settings.seed)


def record_fit(record: Mapping[str, object], base_fingerprint: str) -> tuple[dict[str, object], int] | None:
    """The :func:`fit_identity` and seed a cached record states, or None when its settings no longer validate or
    it was fitted on other data or another base model than :data:`FIT_DATA` and ``base_fingerprint``.

    Read as the code that wrote it ran: a settings field added since takes its default (the behaviour before it
    existed); records without ``fit_data`` and ``base_fingerprint`` were fitted on :data:`FIT_DATA` with the
    benchmark's one base model; the oldest say only whether they were supervised (on :data:`SUPERVISION`) and
    predate token-level SCR (their SCR is sentence-level)."""
    if (
        record.get("fit_data", FIT_DATA) != FIT_DATA
        or record.get("base_fingerprint", base_fingerprint) != base_fingerprint
    ):
        return None
    try:
        settings = FitSettings.model_validate(record["settings"])
    except ValidationError:
        return None
    supervision = record.get("supervision", SUPERVISION if record.get("supervised") else [])
    form = record.get("scr_form", scr_form(settings, token_scr=False))
    return fit_identity(settings, supervision, form), settings.seed  # type: ignore[arg-type]


@dataclass
class CachedFits:
    """The test phase's cached fits: per method its records by seed (this code's, else from before records carried
    their code), the :func:`~common.report.origin_lines` entries of the records not from this code (used or not),
    and the fits with no usable record."""

    records: dict[str, dict[int, dict]] = field(default_factory=dict)
    origins: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def cached_test_fits(base_fingerprint: str, folder: Path | None = None) -> CachedFits:
    """Every test-phase fit of :func:`methods` at :data:`SEEDS` found in ``folder`` (default :data:`RUNS`) with
    test scores: the record under its run key (this code), else a record without a code fingerprint that states the
    same fit (:func:`record_fit`; labelled); a record of the same fit from other code is named in ``origins``, never
    used."""
    paths = sorted((folder or RUNS).glob("*.json"))
    cached = [record for path in paths if "test" in (record := read_record(path))["scores"]]
    found = CachedFits()
    for method, (settings, sources) in methods().items():
        for seed in SEEDS:
            fit = settings.model_copy(update={"seed": seed})
            key = adapter_key(fit, sources, True, base_fingerprint)
            wanted = (fit_identity(fit, sources, scr_form(fit, True)), seed)
            current = [record for record in cached if record.get("key") == key]
            older = [r for r in cached if origin(r) != CURRENT and record_fit(r, base_fingerprint) == wanted]
            legacy = [record for record in older if origin(record) == NO_FINGERPRINT]
            name = f"{method} seed {seed}"
            for record in older:
                if origin(record) == OTHER_CODE:
                    kind, entry = origin_entry(name, record)
                    found.origins.setdefault(kind, []).append(entry)
            if current or legacy:
                found.records.setdefault(method, {})[seed] = (current or legacy)[0]
                if not current:
                    found.origins.setdefault(NO_FINGERPRINT, []).append(name)
            else:
                found.missing.append(name)
    return found


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
            "fit_data": FIT_DATA,
            "base_fingerprint": context.fingerprint,
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
