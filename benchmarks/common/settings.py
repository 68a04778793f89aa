"""The registry of the head-to-head: its settings (partial training configs), methods (a loss and its choices),
dims and test/dev tasks, and how a (setting, method, seed) becomes one resolved training config.

A setting is a partial training config in ``benchmarks/settings/SETTING.yaml`` (data, recipe, budget); a method
adds its loss (:data:`METHODS`), and a MIC method trains over the ``mic:`` block of its setting's ready config
(``configs/mic-simcse.yaml`` for the unsup-simcse settings, ``configs/mic-stsb.yaml`` for stsb-cosent), the weights
the dev sweeps chose on the dev splits only.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mic.dims import default_dims
from mic.training.config import MICWeights, TrainConfig, load_config, method_md_weights

BENCHMARKS = Path(__file__).resolve().parents[1]
RESULTS = BENCHMARKS / "results"
SETTINGS_DIR = BENCHMARKS / "settings"
CONFIGS = BENCHMARKS.parent / "configs"
DIMS = default_dims(384)
"""The benchmarks' model is 384-d (all-MiniLM-L6-v2); its dims are mic's default list."""
TEST_TASKS = {"stsb": "stsb:test", "sickr": "sick:test", "scifact": "scifact:test"}
DEV_TASKS = {"stsb": "stsb:dev", "sickr": "sick:trial"}
RETRIEVAL_DEV_TASKS = {"scifact_train": "scifact:train"}
"""The retrieval settings' dev split: SciFact's train queries (qrels/train.tsv) over its corpus, never test."""
SELECTION_DIMS = (16, 32)
"""A retrieval setting's dev rule: of the candidates, the best mean nDCG@10 on the train queries at these dims."""


def selection_score(by_dim: Mapping[str, float]) -> float:
    """The dev rule's score of one candidate: its mean nDCG@10 x100 at :data:`SELECTION_DIMS` (``{dim: score}`` on
    the train queries)."""
    return statistics.mean(by_dim[str(dim)] for dim in SELECTION_DIMS)


TEST_SPLITS = {
    "stsb": "STS-B test (sts-test.csv)",
    "sickr": "SICK test (SICK_test_annotated.txt)",
    "scifact": "SciFact test (BEIR: corpus.jsonl, queries.jsonl, qrels/test.tsv)",
}


@dataclass(frozen=True)
class Setting:
    """A benchmark setting: a partial training config file, ``key=value`` overrides on it (e.g. a shorter
    budget), the ready config whose ``mic:`` block is MIC's tuned weights there, whether each run also records
    :func:`common.retrieval_extras.retrieval_extras` (SciFact test with the corpus adapter, funnel, binary codes),
    and the dev tasks every run is scored on besides :data:`TEST_TASKS` (where the setting's choices are made)."""

    config: Path
    tuned_mic: Path
    overrides: tuple[str, ...] = ()
    retrieval_extras: bool = False
    dev_tasks: tuple[tuple[str, str], ...] = ()

    def load(self, overrides: Sequence[str] = ()) -> TrainConfig:
        """The setting's training config with ``overrides`` on top (later ones win; dotted keys reach nested
        fields)."""
        return load_config(self.config, [*self.overrides, *overrides])

    def with_overrides(self, *overrides: str) -> Setting:
        """This setting with more overrides, e.g. ``max_steps=200`` for a dev sweep."""
        return replace(self, overrides=(*self.overrides, *overrides))


SETTINGS: dict[str, Setting] = {
    "unsup-simcse": Setting(SETTINGS_DIR / "unsup-simcse.yaml", CONFIGS / "mic-simcse.yaml"),
    "unsup-simcse-paper": Setting(SETTINGS_DIR / "unsup-simcse-paper.yaml", CONFIGS / "mic-simcse.yaml"),
    "stsb-cosent": Setting(SETTINGS_DIR / "stsb-cosent.yaml", CONFIGS / "mic-stsb.yaml"),
    "scifact-corpus": Setting(
        SETTINGS_DIR / "scifact-corpus.yaml",
        CONFIGS / "mic-corpus.yaml",
        retrieval_extras=True,
        dev_tasks=tuple(RETRIEVAL_DEV_TASKS.items()),
    ),
}
# --quick: the paper's setting at half the steps, so truncate/mrl/mic finish in under 15 minutes on 2 CPU cores
# (the full 500 steps take about 16). Its own setting name keeps its runs apart from the full ones.
SETTINGS["unsup-simcse-quick"] = SETTINGS["unsup-simcse"].with_overrides("max_steps=250")
MAIN_SETTINGS = ["stsb-cosent", "unsup-simcse"]


def run_tasks(setting: str) -> dict[str, str]:
    """What a setting's runs are scored on, ``{name: spec}``: the test tasks and the setting's dev tasks (in a
    retrieval setting its train queries, where its choices are made)."""
    return {**TEST_TASKS, **dict(SETTINGS[setting].dev_tasks)}


# Method -> config changes; None = no training (a pseudo-model evaluated as is).
METHODS: dict[str, dict | None] = {
    "truncate": None,
    "pca": None,
    "plain": {"loss": "plain"},
    "mrl": {"loss": "mrl"},
    "2d": {"loss": "2d"},
    "mic": {"loss": "mic"},
    "mic-paper": {"loss": "mic", "mic": method_md_weights().model_dump()},  # docs/method.md's untuned SCR + SIR
    "mic-no-scr": {"loss": "mic", "mic": {"scr_weight": 0.0}},
    "mic-no-sir": {"loss": "mic", "mic": {"sir_weight": 0.0}},
    "mic-no-varfloor": {"loss": "mic", "mic": {"variance_floor_weight": 0.0}},
    "mic-last-layer": {"loss": "mic", "mic": {"layers": "last"}},
    "mic-no-sd": {"loss": "mic", "mic": {"distill_weight": 0.0}},
    "mic-distill-1": {"loss": "mic", "mic": {"distill_weight": 1.0}},  # a candidate for a retrieval setting's dev
    "mic-sir": {"loss": "mic", "mic": {"sir_weight": 1.0}},  # SIR on at docs/method.md's weight: the same
}
MULTI_SEED = {"mrl", "mic"}


def sweep_path(setting: str) -> Path:
    """The dev sweep's summary for a setting; always under benchmarks/results, whatever ``--results-dir`` is."""
    return RESULTS / f"sweep-{setting}.json"


def mic_defaults(setting: str) -> dict[str, object]:
    """MIC's tuned weights in a setting, in full: the ``mic:`` block of its ready config (a test checks that it is
    the dev sweep's choice, ``results/sweep-SETTING.json``)."""
    return load_config(SETTINGS[setting].tuned_mic).mic.model_dump()


def to_overrides(values: Mapping[str, object], prefix: str = "") -> list[str]:
    """Nested config values as ``load_config`` overrides: ``{"mic": {"gamma": 1.0}}`` -> ``["mic.gamma=1.0"]``
    (each value written as JSON, which the overrides' YAML reads back)."""
    overrides = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            overrides += to_overrides(value, f"{prefix}{key}.")
        else:
            overrides.append(f"{prefix}{key}={json.dumps(value)}")
    return overrides


def run_config(setting: str, method: str, seed: int, data_dir: str, output_dir: Path, mic: dict) -> TrainConfig:
    """One run's training config: the setting's, then for a MIC method the weights ``mic``, then the method's
    changes (an ablation's one choice), then the seed and the paths."""
    changes = METHODS[method] or {}
    tuned = {"mic": mic} if changes.get("loss") == "mic" else {}
    run = {"seed": seed, "output_dir": str(output_dir), "data": {"data_dir": data_dir}}
    return SETTINGS[setting].load([*to_overrides(tuned), *to_overrides(changes), *to_overrides(run)])


def is_regularized(mic: dict) -> bool:
    """Whether a MIC config (partial or full) adds anything to MRL: SCR or SIR with γ > 0, or self-distillation."""
    full = MICWeights(**mic)
    return (full.gamma > 0 and (full.scr_weight > 0 or full.sir_weight > 0)) or full.distill_weight > 0


def training_key(config: dict) -> dict:
    """What decides a training run's outcome: the config without its paths, and a MIC config with every
    regularizer off written as the ``MatryoshkaLoss`` it then is exactly (``MICLoss`` returns MatryoshkaLoss's
    value, a test checks loss and gradients to 1e-6), and one with self-distillation off without the distillation
    knobs (its teacher, objective, τ_d: a default changed since changes nothing)."""
    key = {name: value for name, value in config.items() if name != "output_dir"}
    key["data"] = {name: value for name, value in config["data"].items() if name != "data_dir"}
    if key["loss"] == "mic" and not is_regularized(key["mic"]):
        key["loss"] = "mrl"
    if key["loss"] == "mic" and key["mic"]["distill_weight"] == 0:  # the distillation knobs do nothing with it off
        key["mic"] = {
            name: value
            for name, value in key["mic"].items()
            if name == "distill_weight" or not name.startswith("distill_")
        }
    if key["loss"] != "mic":
        key.pop("mic", None)  # MIC's weights do not touch a baseline's training (nor change with their defaults)
    return key
