"""The scifact-corpus setting trains on the pairing its sweep chose on SciFact's train queries."""

from __future__ import annotations

import json

import pairing_sweep
from common.settings import SETTINGS, selection_score


def test_the_setting_trains_on_the_pairing_the_sweep_chose() -> None:
    summary = json.loads(pairing_sweep.SUMMARY.read_text())
    assert summary["split"] == "scifact:train", "the pairing is chosen on train queries, never test"
    assert summary["chosen"] == SETTINGS[pairing_sweep.SETTING].load().data.pairing


def test_the_choice_is_the_best_selection_score() -> None:
    summary = json.loads(pairing_sweep.SUMMARY.read_text())
    trained = {name: scores for name, scores in summary["scores"].items() if name != "truncate"}
    best = max(trained, key=lambda name: selection_score(trained[name]))
    assert summary["chosen"] == best
