"""The code lineage (:mod:`common.lineage`): a change is declared to compute as older code only on identical probes,
run keys and report origins follow the declarations, and this checkout's recorded probe is what this code computes."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch

import code_probe
from common import lineage, provenance, runs, settings
from common.lineage import add_probe, declarations, read_probes, run_code, same_numbers
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
    assert same_numbers(a, other_machine) == ["made on different machines (m; n)"]


def test_probes_are_kept_by_code_and_probe_version_each_set_of_numbers_once(tmp_path: Path) -> None:
    path = tmp_path / "probes.json"
    add_probe("a", probe_record({"x": 1.0}), path)
    add_probe("b", probe_record({"x": 1.0}), path)
    add_probe("b", probe_record({"x": 2.0}, probe_version="q"), path)
    add_probe("a", probe_record({"x": 3.0}), path)  # replaces a's probe of version p
    assert {code: {v: p["numbers"] for v, p in versions.items()} for code, versions in read_probes(path).items()} == {
        "a": {"p": {"x": 3.0}},
        "b": {"p": {"x": 1.0}, "q": {"x": 2.0}},
    }
    assert len(json.loads(path.read_text())["numbers"]) == 3  # b's {"x": 1.0} stored once, a's old one dropped
    add_probe("c", probe_record({"x": 3.0}), path)
    assert len(json.loads(path.read_text())["numbers"]) == 3


def test_the_probe_version_covers_what_the_probe_runs_and_not_the_reports(tmp_path: Path) -> None:
    root = tmp_path / "benchmarks"
    shutil.copytree(lineage.BENCHMARKS / "common", root / "common")
    shutil.copytree(lineage.BENCHMARKS / "settings", root / "settings")
    shutil.copytree(lineage.BENCHMARKS.parent / "configs", tmp_path / "configs")
    shutil.copy(lineage.BENCHMARKS / "code_probe.py", root)
    names = {file.name for file in lineage.probe_inputs(root)}
    assert {"code_probe.py", "training.py", "scoring.py", "settings.py", "unsup-simcse.yaml"} <= names
    assert "report.py" not in names
    version = lineage.probe_version(root)
    assert version == lineage.probe_version()  # the copy hashes as the checkout
    (root / "common" / "report.py").write_text("# a report changes\n")
    assert lineage.probe_version(root) == version
    with (root / "common" / "scoring.py").open("a") as file:
        file.write("# imported by training: the probe runs it\n")
    assert lineage.probe_version(root) != version


def test_a_declaration_is_refused_unless_the_probes_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    this, path = provenance.code_fingerprint(), tmp_path / "probes.json"
    for code, numbers in ((this, {"x": 1.0}), ("old", {"x": 1.0}), ("moved", {"x": 1.5})):
        add_probe(code, probe_record(numbers), path)
    add_probe("other-probe", probe_record({"x": 1.0}, probe_version="q"), path)
    monkeypatch.setattr(lineage, "PROBES", path)
    monkeypatch.setattr(lineage, "LINEAGE", tmp_path / "lineage.json")
    monkeypatch.setattr(lineage, "probe_version", lambda root=None: "p")
    with pytest.raises(SystemExit, match="computes differently from moved: x"):
        code_probe.declare("moved", "a change")
    with pytest.raises(SystemExit, match="no probe of code missing with probe version p"):
        code_probe.declare("missing", "a change")
    with pytest.raises(SystemExit, match=r"no probe of code other-probe with probe version p.*other-probe \(probe q\)"):
        code_probe.declare("other-probe", "a change")
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
        new, old = probes[entry["code"]], probes[entry["computes_as"]]
        shared = new.keys() & old.keys()
        assert shared, f"code {entry['code']} and {entry['computes_as']} have no probe of one probe version"
        assert any(same_numbers(new[version], old[version]) == [] for version in shared)
    codes = [entry["code"] for entry in declarations()]
    assert len(codes) == len(set(codes))


RECHECKED = {"unsup-simcse": ["mic"]}
"""What CI reruns of the probe to check the recorded one (the full probe takes minutes)."""


def test_the_recorded_probe_of_this_code_is_what_this_code_computes(data_dir: Path) -> None:
    recorded = read_probes().get(provenance.code_fingerprint(), {}).get(lineage.probe_version())
    if recorded is None:
        pytest.skip("no probe of this code with this probe recorded (python benchmarks/code_probe.py)")
    state = dict(settings.SETTINGS), os.environ.get(CACHE_DIR_ENV), torch.get_num_threads()
    numbers = code_probe.probe(data_dir, RECHECKED)
    assert (dict(settings.SETTINGS), os.environ.get(CACHE_DIR_ENV), torch.get_num_threads()) == state  # put back
    assert numbers.keys() <= recorded["numbers"].keys()
    # Another machine's kernels may move the last bits; bit-identity is checked where both probes were made.
    moved = [name for name, value in numbers.items()
             if not math.isclose(value, recorded["numbers"][name], rel_tol=1e-4, abs_tol=1e-6)]  # fmt: skip
    assert moved == []
