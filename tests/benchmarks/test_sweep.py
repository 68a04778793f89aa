"""The dev sweep's search rules, on synthetic dev scores: nothing is trained."""

from __future__ import annotations

import argparse
import json

import pytest

import sweep
from common import sweeps
from mic.training.config import MICWeights


def record(mic: dict, low: float, full: float = 82.0) -> dict:
    scores = {dim: low for dim in sweeps.LOW_DIMS} | {"384": full}
    return {"config": {"mic": MICWeights(**mic).model_dump()}, "scores": {"stsb": scores, "sickr": scores}}


MRL = record({}, 70.0)


def run_search(score_of):
    """Run the search with ``score_of(full MIC config) -> (low-dim, 384-dim)``; return records and call order."""
    calls: list[str] = []

    def evaluate(mic: dict) -> dict:
        calls.append(sweeps.name_of(mic))
        return record(mic, *score_of(MICWeights(**mic)))

    records, end = sweep.search(evaluate, MRL)
    return records, calls, sweep.choose(records, MRL, end)


def test_names_list_only_non_default_choices() -> None:
    assert sweeps.name_of({}) == sweeps.name_of({"gamma": 0.1}) == "mic-base"
    assert sweeps.name_of({"sir_weight": 0.0, "gamma": 1.0}) == "mic-gamma=1.0-sir_weight=0.0"


def test_an_all_off_candidate_is_never_searched_from_or_chosen() -> None:
    def score_of(mic: MICWeights) -> tuple[float, float]:
        off = mic.scr_weight == 0 and mic.sir_weight == 0 and mic.distill_weight == 0
        return (75.0 if off else 69.0 - (mic.sir_weight == 0) * 0.5, 82.0)

    records, calls, chosen = run_search(score_of)
    assert not any("scr_weight=0.0" in name and "sir_weight=0.0" in name for name in calls)
    assert sweep.is_regularized(records[chosen]["config"]["mic"])


def test_a_factor_steers_the_search_only_above_the_noise_margin() -> None:
    def score_of(mic: MICWeights) -> tuple[float, float]:
        return (70.0 + (sweeps.MARGIN / 2 if mic.variance_floor_weight == 0 else 0.0), 82.0)

    records, calls, chosen = run_search(score_of)
    floor_off = [name for name in calls if "variance_floor_weight=0.0" in name]
    assert floor_off == ["mic-gamma=100.0-variance_floor_weight=0.0"]  # tried once, never built upon
    assert chosen == "mic-gamma=100.0"  # a gain below the margin does not decide the choice either


def test_scr_knobs_are_skipped_while_scr_is_off_and_gamma_is_retuned_after_the_factors() -> None:
    def score_of(mic: MICWeights) -> tuple[float, float]:
        # SCR hurts; without it, more γ helps until 10; γ = 100 costs the full-dim score.
        low = 70.0 + (mic.scr_weight == 0) * 1.0 + {0.1: 0.0, 1.0: 0.2, 10.0: 0.4, 100.0: 0.6}[mic.gamma]
        return (low, 82.0 if mic.gamma < 100 else 80.0)

    records, calls, chosen = run_search(score_of)
    assert not any("tolerance" in name for name in calls)
    assert chosen == "mic-gamma=10.0-scr_weight=0.0"
    assert calls[-2:] == ["mic-gamma=100.0-scr_weight=0.0", "mic-gamma=1.0-scr_weight=0.0"]  # γ outward, both ways
    assert len(calls) == len(set(calls))


def test_a_settings_config_follows_its_longest_distillation_sweep(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sweeps, "RESULTS", tmp_path)
    assert sweeps.governing_summary("unsup-simcse") is None
    for steps in (200, 1000, 500):
        sweeps.distill_summary_path("unsup-simcse", steps).write_text(json.dumps({"steps": steps}))
    sweeps.distill_summary_path("stsb-cosent", 5000).write_text(json.dumps({"steps": 5000}))
    assert sweeps.governing_summary("unsup-simcse") == tmp_path / "distill-sweep-unsup-simcse-1000steps.json"


def test_earlier_records_are_the_cached_candidates_this_path_did_not_visit(tmp_path) -> None:
    for name in ("mic-base", "mic-gamma=1.0", "mrl"):
        (tmp_path / f"{name}.json").write_text(json.dumps(record({}, 71.0)))
    earlier = sweeps.earlier_records(tmp_path, {tmp_path / "mic-base.json"})
    assert list(earlier) == ["mic-gamma=1.0"]
    assert sweeps.dev_scores(earlier["mic-gamma=1.0"]) == {"low_dims": 71.0, "full_dim": 82.0}


def test_a_report_reads_each_candidate_from_its_cache_and_trains_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sweeps, "run_one", lambda *args: pytest.fail("trained in report mode"))
    (tmp_path / "mrl.json").write_text(json.dumps(MRL))
    args = argparse.Namespace(report=True, setting="stsb-cosent", seed=0, data_dir="data")
    assert sweeps.run_candidate(args, "sweep", "mrl", {}, tmp_path / "mrl.json") == MRL
    assert sweeps.run_candidate(args, "sweep", "mic", {}, tmp_path / "mic-base.json") is None
