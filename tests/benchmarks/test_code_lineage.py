"""The code lineage (:mod:`common.lineage`): a change is declared to compute as older code only on identical probes,
run keys and report origins follow the declarations, and this checkout's recorded probe is what this code computes."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

import code_probe
from common import lineage, provenance, runs, settings
from common.lineage import declarations, read_probes, run_code, same_numbers
from mic.cache_dir import CACHE_DIR_ENV

CONFIG = {"loss": "mrl", "data": {"train": ["stsb:train"]}}


def write_lineage(path: Path, *pairs: tuple[str, str]) -> Path:
    entries = [{"code": code, "computes_as": old, "change": "test"} for code, old in pairs]
    path.write_text(json.dumps({"declarations": entries}))
    return path


def test_run_code_follows_the_declarations_to_the_oldest_code(tmp_path: Path) -> None:
    path = write_lineage(tmp_path / "lineage.json", ("b", "a"), ("c", "b"))
    assert [run_code(code, path) for code in ("a", "b", "c", "d")] == ["a", "a", "a", "d"]
    assert run_code(None, tmp_path / "none.json") == provenance.code_fingerprint()
    with pytest.raises(ValueError, match="cycle"):
        run_code("a", write_lineage(tmp_path / "cycle.json", ("a", "b"), ("b", "a")))


def test_records_of_code_declared_the_same_are_current_and_share_run_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    this = provenance.code_fingerprint()
    record = runs.new_record(runs.run_key(CONFIG, 0), None, {"scores": {}})
    older = record | {"provenance": {**record["provenance"], "code_fingerprint": "0" * 16}}
    assert runs.origin(older) == runs.OTHER_CODE
    monkeypatch.setattr(lineage, "LINEAGE", write_lineage(tmp_path / "lineage.json", (this, "0" * 16)))
    assert runs.origin(older) == runs.CURRENT  # the record keeps the code that ran; its run code is this code's
    assert runs.run_key(CONFIG, 0) == runs.run_key(CONFIG, 0, code="0" * 16)


def probe_record(numbers: dict[str, float], **changes: object) -> dict:
    made = {"probe_version": "p", "numbers": numbers, "provenance": {"versions": {"torch": "1"}, "machine": "m"}}
    return made | changes


def test_probes_compare_bit_for_bit_and_only_like_with_like() -> None:
    a = probe_record({"x": 0.1, "y": 2.0})
    assert same_numbers(a, probe_record({"x": 0.1, "y": 2.0})) == []
    assert same_numbers(a, probe_record({"x": 0.1 + 1e-15, "y": 2.0})) == ["x"]
    assert same_numbers(a, probe_record({"x": 0.1})) == ["y"]
    assert "probe version" in same_numbers(a, probe_record({"x": 0.1, "y": 2.0}, probe_version="q"))[0]
    other_machine = probe_record({"x": 0.1, "y": 2.0}, provenance={"versions": {"torch": "1"}, "machine": "n"})
    assert same_numbers(a, other_machine) == ["made on different machines"]


def test_a_declaration_is_refused_unless_the_probes_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    this = provenance.code_fingerprint()
    probes = {this: probe_record({"x": 1.0}), "old": probe_record({"x": 1.0}), "moved": probe_record({"x": 1.5})}
    (tmp_path / "probes.json").write_text(json.dumps({"probes": probes}))
    monkeypatch.setattr(lineage, "PROBES", tmp_path / "probes.json")
    monkeypatch.setattr(lineage, "LINEAGE", tmp_path / "lineage.json")
    with pytest.raises(SystemExit, match="computes differently from moved: x"):
        code_probe.declare("moved", "a change")
    with pytest.raises(SystemExit, match="no probe of code missing"):
        code_probe.declare("missing", "a change")
    assert not (tmp_path / "lineage.json").exists()
    code_probe.declare("old", "a change")
    assert declarations(tmp_path / "lineage.json") == [{"code": this, "computes_as": "old", "change": "a change"}]
    code_probe.declare("old", "the change, probed again")  # a new declaration of this code replaces its old one
    assert [entry["change"] for entry in declarations(tmp_path / "lineage.json")] == ["the change, probed again"]
    with pytest.raises(SystemExit, match="nothing to declare"):
        code_probe.declare(this, "itself")


def test_every_declaration_rests_on_two_identical_recorded_probes() -> None:
    probes = read_probes()
    for entry in declarations():
        assert entry["change"].strip(), f"declaration of {entry['code']} says no change"
        for code in (entry["code"], entry["computes_as"]):
            assert code in probes, f"{lineage.LINEAGE.name}: no recorded probe of code {code}"
        assert same_numbers(probes[entry["code"]], probes[entry["computes_as"]]) == []
    codes = [entry["code"] for entry in declarations()]
    assert len(codes) == len(set(codes))


RECHECKED = {"unsup-simcse": ["mic"]}
"""What CI reruns of the probe to check the recorded one (the full probe takes minutes)."""


def test_the_recorded_probe_of_this_code_is_what_this_code_computes(data_dir: Path) -> None:
    recorded = read_probes().get(provenance.code_fingerprint())
    if recorded is None or recorded["probe_version"] != lineage.probe_version():
        pytest.skip("no probe of this code with this probe recorded (python benchmarks/code_probe.py)")
    state = dict(settings.SETTINGS), os.environ.get(CACHE_DIR_ENV), torch.get_num_threads()
    numbers = code_probe.probe(data_dir, RECHECKED)
    assert (dict(settings.SETTINGS), os.environ.get(CACHE_DIR_ENV), torch.get_num_threads()) == state  # put back
    assert numbers.keys() <= recorded["numbers"].keys()
    # Another machine's kernels may move the last bits; bit-identity is checked where both probes were made.
    moved = [name for name, value in numbers.items()
             if not math.isclose(value, recorded["numbers"][name], rel_tol=1e-4, abs_tol=1e-6)]  # fmt: skip
    assert moved == []
