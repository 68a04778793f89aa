"""The head-to-head benchmark's contract: equal budgets, ablations that differ in one term, stale caches rerun,
and a report shaped as the issue asks. Runs on fake cached records; nothing is trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import quality

SEEDS = [0, 1, 2]
BUDGET_FIELDS = ["epochs", "max_steps", "batch_size", "learning_rate", "warmup_ratio", "max_seq_length", "dims"]
TRAINED = [method for method, overrides in quality.METHODS.items() if overrides is not None]


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the benchmark's results folder, run cache and README at a temp folder."""
    monkeypatch.setattr(quality, "RESULTS", tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{quality.README_START}\nold table\n{quality.README_END}\noutro\n")
    monkeypatch.setattr(quality, "README", readme)
    return tmp_path


def config(setting: str, method: str, seed: int = 0, mic: dict | None = None):
    return quality.run_config(setting, method, seed, "data", Path("out"), mic or {})


@pytest.mark.parametrize("setting", sorted(quality.SETTINGS))
def test_every_trained_method_gets_the_same_budget_and_data(setting: str) -> None:
    reference = config(setting, "mrl")
    for method in TRAINED:
        other = config(setting, method)
        for field in BUDGET_FIELDS:
            assert getattr(other, field) == getattr(reference, field), (method, field)
        assert other.data == reference.data
        assert other.base_loss == reference.base_loss


@pytest.mark.parametrize(
    ("ablation", "field", "value"),
    [
        ("mic-no-scr", "scr_weight", 0.0),
        ("mic-no-sir", "sir_weight", 0.0),
        ("mic-no-varfloor", "variance_floor_weight", 0.0),
        ("mic-last-layer", "layers", "last"),
    ],
)
def test_each_ablation_changes_one_choice_of_the_tuned_mic(ablation: str, field: str, value: object) -> None:
    tuned = {"gamma": 3.0, "tolerance": 0.05, "sir_weight": 1.0}  # every regularizer on, so each ablation differs
    full, ablated = config("stsb-cosent", "mic", mic=tuned).mic, config("stsb-cosent", ablation, mic=tuned).mic
    assert getattr(ablated, field) == value != getattr(full, field)
    assert ablated.model_copy(update={field: getattr(full, field)}) == full
    assert ablated.gamma == 3.0 and ablated.tolerance == 0.05


def test_mic_reads_the_dev_sweep_choice_of_its_own_setting(results: Path) -> None:
    (results / "sweep-stsb-cosent.json").write_text(json.dumps({"chosen": {"gamma": 7.0}}))
    assert quality.mic_defaults("stsb-cosent") == {"gamma": 7.0}
    assert quality.mic_defaults("unsup-simcse") == {}


def record_for(method: str, seed: int, setting: str = "stsb-cosent", shift: float = 0.0) -> dict:
    trained = quality.METHODS[method] is not None
    return {
        "setting": setting,
        "method": method,
        "seed": seed,
        "scores": {
            task: {str(dim): 50.0 + dim / 10 + seed + shift for dim in quality.DIMS} for task in quality.TEST_TASKS
        },
        "train_seconds": 10.0 if trained else 0.0,
        "total_seconds": 12.0,
        "config": config(setting, method, seed).model_dump(mode="json") if trained else None,
    }


def test_a_cached_run_is_reused_only_with_the_same_training_config() -> None:
    cached = record_for("mic", 0)
    assert quality.same_run(cached, quality.run_config("stsb-cosent", "mic", 0, "elsewhere", Path("o2"), {}))
    assert not quality.same_run(cached, config("stsb-cosent", "mic", mic={"gamma": 5.0}))
    assert not quality.same_run(cached, config("stsb-cosent", "mic", seed=1))
    assert not quality.same_run(None, config("stsb-cosent", "mic"))
    assert quality.same_run(record_for("truncate", 0), None)
    assert not quality.same_run(None, None)


def test_a_config_field_added_since_a_run_at_its_default_keeps_the_cache() -> None:
    cached = record_for("mrl", 0)
    for added in ("columns", "score_range"):  # fields the data config gained after the committed runs
        del cached["config"]["data"][added]
    assert quality.same_run(cached, config("stsb-cosent", "mrl"))


def test_run_one_returns_a_valid_cache_without_training(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached run was retrained")

    monkeypatch.setattr(quality, "train", no_training)
    cache = results / "runs" / "stsb-cosent" / "mrl" / "seed-0.json"
    quality.write_atomic(cache, json.dumps(record_for("mrl", 0)))
    assert quality.run_one("stsb-cosent", "mrl", 0, "data", quality.TEST_TASKS, {}, cache) == record_for("mrl", 0)
    assert not list(cache.parent.glob(".*partial"))


def test_report_has_the_issue_shape_means_and_per_seed_differences(results: Path) -> None:
    for seed in SEEDS:
        for method, shift in [("mrl", 0.0), ("mic", 1.5)]:
            quality.write_atomic(
                results / "runs" / "stsb-cosent" / method / f"seed-{seed}.json",
                json.dumps(record_for(method, seed, shift=shift)),
            )
    quality.write_atomic(
        results / "runs" / "stsb-cosent" / "truncate" / "seed-0.json", json.dumps(record_for("truncate", 0))
    )

    report = quality.write_reports("python benchmarks/quality.py --test")

    saved = json.loads((results / "quality.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["settings"]["stsb-cosent"]["methods"]["mic"]["sickr"]["8"] == [52.3, 53.3, 54.3]
    assert saved["settings"]["stsb-cosent"]["seeds"]["mrl"] == SEEDS
    markdown = (results / "quality.md").read_text()
    assert "| mic | 0,1,2 | 53.30 ± 1.00 |" in markdown
    assert markdown.count("| MIC − MRL, seed 1 | | +1.50 |") == len(quality.TEST_TASKS)
    assert "python benchmarks/quality.py --test" in markdown
    assert "| stsb-cosent | stsb | 3 | +1.50 | +1.50 | +1.50 | +1.50 | yes |" in markdown
    readme = (results / "README.md").read_text()
    assert "old table" not in readme and readme.startswith("intro\n") and readme.endswith("outro\n")
    assert "| mic | 3 | 53.30 |" in readme
    assert (results / "quality-stsb-cosent.png").stat().st_size > 0


def test_reports_for_another_results_dir_leave_the_readme_alone(results: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    quality.write_atomic(elsewhere / "runs" / "stsb-cosent" / "mrl" / "seed-0.json", json.dumps(record_for("mrl", 0)))
    report = quality.write_reports("cmd", elsewhere)
    assert report["settings"]["stsb-cosent"]["methods"]["mrl"]["stsb"]["384"] == [88.4]
    assert (elsewhere / "quality.md").is_file() and not (results / "quality.md").exists()
    assert "old table" in (results / "README.md").read_text()


def test_an_ablation_identical_to_the_tuned_mic_reuses_its_run(results: Path, monkeypatch) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(quality, "train", no_training)
    tuned = {"sir_weight": 0.0}
    mic = record_for("mic", 0) | {"config": config("stsb-cosent", "mic", mic=tuned).model_dump(mode="json")}
    quality.write_atomic(results / "runs" / "stsb-cosent" / "mic" / "seed-0.json", json.dumps(mic))
    cache = results / "runs" / "stsb-cosent" / "mic-no-sir" / "seed-0.json"
    reused = quality.run_one("stsb-cosent", "mic-no-sir", 0, "data", quality.TEST_TASKS, tuned, cache)
    assert reused["scores"] == mic["scores"] and reused["identical_to"] == "mic" and reused["method"] == "mic-no-sir"
    assert "`mic-no-sir` trains exactly the config of `mic`" in quality.markdown(quality.collect(results), "cmd")
    with pytest.raises(AssertionError, match="training started"):  # a config that differs does train
        quality.run_one("stsb-cosent", "mic-no-scr", 0, "data", quality.TEST_TASKS, tuned, cache.with_name("x.json"))


def test_a_mic_run_with_every_regularizer_off_is_mrls_run() -> None:
    mrl = record_for("mrl", 0)
    assert quality.same_run(mrl, config("stsb-cosent", "mic-no-scr", mic={"sir_weight": 0.0}))
    assert quality.same_run(mrl, config("stsb-cosent", "mic", mic={"gamma": 0.0}))
    assert not quality.same_run(mrl, config("stsb-cosent", "mic", mic={"sir_weight": 0.0}))
    assert not quality.same_run(mrl, config("stsb-cosent", "mic", mic={"gamma": 0.0, "distill_weight": 1.0}))


def test_the_bar_fails_when_any_low_dim_is_short_or_full_dim_drops() -> None:
    def block(gain_8: float, gain_384: float) -> dict:
        mrl = {str(dim): [70.0, 71.0] for dim in quality.DIMS}
        mic = {str(dim): [71.2, 72.2] for dim in quality.DIMS} | {"8": [70 + gain_8, 71 + gain_8]}
        mic["384"] = [70 + gain_384, 71 + gain_384]
        return {
            "methods": {"mrl": dict.fromkeys(quality.TEST_TASKS, mrl), "mic": dict.fromkeys(quality.TEST_TASKS, mic)},
            "seeds": {"mrl": [0, 1], "mic": [0, 1]},
        }

    verdicts = [
        line.rsplit("|", 2)[-2].strip() for line in quality.bar_check({"settings": {"s": block(1.0, -0.3)}})[4:-1]
    ]
    assert verdicts == ["yes", "yes"]
    for gain_8, gain_384 in [(0.99, 0.0), (1.5, -0.31)]:
        lines = quality.bar_check({"settings": {"s": block(gain_8, gain_384)}})[4:-1]
        assert [line.rsplit("|", 2)[-2].strip() for line in lines] == ["**no**", "**no**"]


def test_mic_paper_is_method_md_untuned_whatever_the_sweep_chose() -> None:
    assert config("stsb-cosent", "mic-paper", mic={"gamma": 10.0, "sir_weight": 0.0}).mic == quality.method_md_weights()
