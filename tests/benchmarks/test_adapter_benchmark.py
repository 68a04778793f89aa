"""The adapter benchmark: its JSON shape, targets judged on the numbers, one-term ablations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import adapter as benchmark
from mic.adapt import FitSettings


def fake_results(gain: float) -> dict:
    seeds = {"truncate": 1, "pca": 1, "mrl": 1, **{name: 3 for name in benchmark.methods()}}
    return {
        method: {
            task: {str(dim): [50.0 + (gain if method.startswith("adapter") else 0.0)] * count for dim in benchmark.DIMS}
            for task in benchmark.SPLITS["test"]
        }
        for method, count in seeds.items()
    }


def test_each_ablation_toggles_exactly_one_mic_term() -> None:
    default = FitSettings()
    for name, (settings, sources) in benchmark.methods().items():
        changed = {key for key, value in settings.model_dump().items() if value != getattr(default, key)}
        if name in ("adapter-unsup", "adapter-sup"):
            assert changed == set() and bool(sources) == (name == "adapter-sup")
        else:
            assert len(changed) == 1 and changed <= set(benchmark.MIC_TERMS) and not sources


@pytest.mark.parametrize(("gain", "met"), [(3.0, True), (0.5, False)])
def test_report_has_its_shape_and_judges_targets(
    gain: float, met: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    seconds = {name: [10.0] for name in benchmark.methods()}
    context = {"encode_seconds": {"fit_texts": 1.0, "test_texts": 2.0}, "rows": 5, "command": "test"}
    benchmark.write_report(fake_results(gain), seconds, context, {}, {})
    data = json.loads((tmp_path / "adapter.json").read_text())
    assert {"truncate", "pca", "adapter-unsup", "adapter-sup"} <= set(data["methods"])
    assert set(data["methods"]["adapter-unsup"]) == {"stsb", "sickr", "scifact"}
    assert set(data["methods"]["adapter-unsup"]["stsb"]) == {str(dim) for dim in benchmark.DIMS}
    assert len(data["methods"]["adapter-unsup"]["stsb"]["8"]) == 3
    versus_truncation = [row for row in data["targets"] if "truncate" in row["target"]]
    assert versus_truncation and all(row["met"] is met for row in versus_truncation)
    assert (tmp_path / "adapter.md").is_file() and (tmp_path / "adapter.png").stat().st_size > 0


def test_run_keys_stay_stable_for_runs_cached_before_new_choices() -> None:
    """Records cached before ``teacher``, token-level SCR and per-entry supervision keep their keys."""
    default = FitSettings()
    assert benchmark.settings_key(default, []) == benchmark.settings_key(default, [], token_scr=True)
    with_scr = default.model_copy(update={"scr": 1.0})
    assert benchmark.settings_key(with_scr, []) != benchmark.settings_key(with_scr, [], token_scr=True)
    assert benchmark.settings_key(default, benchmark.SUPERVISION) != benchmark.settings_key(default, ["stsb:train"])
    adapted = default.model_copy(update={"teacher": "adapted"})
    assert benchmark.settings_key(adapted, benchmark.SUPERVISION) != benchmark.settings_key(
        default, benchmark.SUPERVISION
    )
