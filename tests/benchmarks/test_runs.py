"""The results pipeline every benchmark shares: the run key, the provenance a record carries, and reports that
keep runs from other code apart. Nothing is trained."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest
import torch

import quality
from common import lineage, provenance, runs, settings, training
from common.report import record_origin_lines, record_origins
from common.results import collect
from common.runs import write_record
from mic.provenance import package_versions

CONFIG = {"loss": "mic", "mic": {"gamma": 1.0}, "data": {"train": ["stsb:train"]}}


def test_the_run_key_changes_with_code_config_and_seed_only() -> None:
    key = runs.run_key(CONFIG, 0, code="aaaa")
    assert runs.run_key({**CONFIG}, 0, code="aaaa") == key
    assert runs.run_key(CONFIG, 0, code="bbbb") != key
    assert runs.run_key(CONFIG, 1, code="aaaa") != key
    assert runs.run_key({**CONFIG, "mic": {"gamma": 2.0}}, 0, code="aaaa") != key
    assert runs.run_key(CONFIG, 0) == runs.run_key(CONFIG, 0, code=lineage.run_code())


def test_the_code_fingerprint_follows_every_python_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "module.py"
    module.write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not code")
    before = provenance.code_fingerprint.__wrapped__(tmp_path)
    (tmp_path / "notes.txt").write_text("still not code")
    assert provenance.code_fingerprint.__wrapped__(tmp_path) == before
    module.write_text("x = 2\n")
    changed = provenance.code_fingerprint.__wrapped__(tmp_path)
    assert changed != before
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "app.py").write_text("the command line: no run executes it\n")
    assert provenance.code_fingerprint.__wrapped__(tmp_path) == changed


def test_a_record_carries_commit_dirty_flag_code_versions_threads_and_machine() -> None:
    record = runs.new_record("k", "python x.py", {"seed": 3, "config": CONFIG})
    assert record["seed"] == 3 and record["config"] == CONFIG and record["key"] == "k"
    carried = record["provenance"]
    assert carried.keys() >= {"git_commit", "git_dirty", "code_fingerprint", "versions", "threads", "machine"}
    assert carried["code_fingerprint"] == provenance.code_fingerprint()
    assert carried["versions"] == package_versions()
    assert isinstance(carried["threads"], int) and carried["threads"] >= 1
    assert carried["git_dirty"] in (True, False, None) and carried["command"] == "python x.py"
    assert runs.origin(record) == runs.CURRENT


def test_the_machine_tells_apart_cpus_of_one_name_by_their_instruction_sets(tmp_path: Path) -> None:
    def described(flags: str) -> str:
        (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nmodel name\t: Xeon\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
        return provenance.cpu(tmp_path / "cpuinfo")

    assert described("fpu avx512f").startswith("Xeon, flags ")
    assert described("avx512f fpu") == described("fpu avx512f")
    assert described("fpu avx512f avx512_bf16") != described("fpu avx512f")
    assert provenance.cpu(tmp_path / "missing") == (platform.processor() or platform.machine())
    assert f"torch {torch.backends.cpu.get_cpu_capability()}" in provenance.machine()


def test_the_command_line_names_the_interpreter_and_quotes_the_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/opt/venv/bin/python3")
    monkeypatch.setattr("sys.argv", ["benchmarks/eval_speed.py", "--data-dir", "my data"])
    assert provenance.command_line() == "python3 benchmarks/eval_speed.py --data-dir 'my data'"


def stale(record: dict) -> dict:
    """``record`` as other code would have written it (its key holds that code's fingerprint)."""
    other = {**record["provenance"], "code_fingerprint": "0" * 16, "git_commit": "abc1234f"}
    return record | {"key": "0" * 16, "provenance": other}


def legacy(record: dict) -> dict:
    """``record`` as the benchmark wrote it before records carried their code."""
    return {name: value for name, value in record.items() if name not in ("key", "provenance")}


def test_origins_and_the_cache_tell_runs_from_other_code_apart(tmp_path: Path) -> None:
    record = runs.new_record(runs.run_key(CONFIG, 0), None, {"scores": {}})
    assert [runs.origin(r) for r in (record, stale(record), legacy(record))] == [
        runs.CURRENT,
        runs.OTHER_CODE,
        runs.NO_FINGERPRINT,
    ]
    path = tmp_path / "run.json"
    write_record(path, record)
    assert runs.cached(path, runs.run_key(CONFIG, 0)) == record
    assert runs.cached(path, runs.run_key(CONFIG, 0, code="other")) is None
    write_record(path, legacy(record))
    assert runs.cached(path, runs.run_key(CONFIG, 0)) is None
    lines = record_origin_lines({"a": record, "b": stale(record), "c": legacy(record), "d": None})
    assert lines[0].startswith("**Stale: trained by other code**: b (commit abc1234")
    assert lines[2] == "**No code fingerprint (trained before run records carried their code)**: c."
    scored = {**record, "scores": {"stsb": {"8": 1.0}, "sickr": {"8": 2.0}, "scifact": {"8": 3.0}}}
    assert runs.kept_scores(scored) == scored["scores"] and runs.kept_scores(stale(scored)) == {}
    assert set(runs.kept_scores(legacy(scored))) == set(runs.LEGACY_TASKS) == {"stsb", "sickr"}
    origins = record_origins({"a": record, "b": stale(record), "c": legacy(record), "d": None})
    assert origins["a"] == runs.CURRENT and origins["c"] == runs.NO_FINGERPRINT and "d" not in origins
    assert origins["b"].startswith(f"{runs.OTHER_CODE} (commit abc1234")


def head_to_head_record(method: str, seed: int, shift: float) -> dict:
    run = quality_config(method, seed)
    fields = {
        "setting": "stsb-cosent",
        "method": method,
        "seed": seed,
        "scores": {task: {str(dim): 60.0 + shift for dim in settings.DIMS} for task in settings.TEST_TASKS},
        "train_seconds": 1.0,
        "total_seconds": 1.0,
        "config": run.model_dump(mode="json"),
    }
    return runs.new_record(training.method_key("stsb-cosent", method, seed, run), None, fields)


def quality_config(method: str, seed: int):
    mic = settings.mic_defaults("stsb-cosent")
    return settings.run_config("stsb-cosent", method, seed, "data", Path("out"), mic)


def test_the_report_averages_this_code_labels_unfingerprinted_runs_and_keeps_stale_ones_apart(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "stsb-cosent"
    write_record(folder / "mrl" / "seed-0.json", head_to_head_record("mrl", 0, 0.0))
    write_record(folder / "mrl" / "seed-1.json", legacy(head_to_head_record("mrl", 1, 2.0)))
    write_record(folder / "mrl" / "seed-2.json", stale(head_to_head_record("mrl", 2, 40.0)))
    results = collect(tmp_path)
    block = results["settings"]["stsb-cosent"]
    assert block["methods"]["mrl"]["stsb"]["8"] == {"0": 60.0, "1": 62.0}
    assert block["methods"]["mrl"]["scifact"]["8"] == {"0": 60.0}  # seed 1's SciFact was scored at 128 tokens
    assert block["origins"][runs.NO_FINGERPRINT] == ["mrl seed 1"]
    assert block["origins"][runs.OTHER_CODE][0].startswith("mrl seed 2 (commit abc1234")
    markdown = quality.markdown(results, "cmd")
    assert "**Stale: trained by other code** (not in the tables; the next run retrains them): mrl seed 2" in markdown
    assert "**No code fingerprint (trained before run records carried their code)** (in the tables for STS-B and" in (
        markdown
    )
    assert "| mrl | 0,1 | 61.00 ± 1.41 |" in markdown
    assert "*stsb-cosent: 1 run, stale: trained by other code" in quality.readme_table(results)


def test_a_run_from_other_code_is_trained_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", no_training)
    cache = tmp_path / "runs" / "stsb-cosent" / "mrl" / "seed-0.json"
    current = head_to_head_record("mrl", 0, 0.0)
    mic = settings.mic_defaults("stsb-cosent")
    for record in (stale(current), legacy(current)):
        write_record(cache, record)
        with pytest.raises(AssertionError, match="training started"):
            training.run_one("stsb-cosent", "mrl", 0, "data", settings.TEST_TASKS, mic, cache)
    write_record(cache, current)
    assert training.run_one("stsb-cosent", "mrl", 0, "data", settings.TEST_TASKS, mic, cache) == current


def test_a_checkout_is_dirty_for_any_changed_file_not_for_the_benchmarks_own_outputs_or_readme(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "src").mkdir()
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "src" / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "run.json").write_text("{}\n")
    (tmp_path / "README.md").write_text("prose\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert provenance.git_dirty(tmp_path / "src") is False
    (tmp_path / "benchmarks" / "results" / "run.json").write_text('{"score": 1}\n')
    assert provenance.git_dirty(tmp_path / "src") is False
    (tmp_path / "README.md").write_text("prose and a results block a run rewrote\n")
    assert provenance.git_dirty(tmp_path / "src") is False
    (tmp_path / "src" / "code.py").write_text("x = 2\n")
    assert provenance.git_dirty(tmp_path / "src") is True
    git("checkout", "--", "src")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "run.yaml").write_text("loss: mrl\n")
    git("add", "configs")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "config")
    assert provenance.git_dirty(tmp_path / "src") is False
    (tmp_path / "configs" / "run.yaml").write_text("loss: mic\n")  # outside the package: dirty all the same
    assert provenance.git_dirty(tmp_path / "src") is True
