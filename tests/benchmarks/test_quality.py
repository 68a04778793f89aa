"""The head-to-head benchmark's contract: equal budgets, ablations that differ in one term, stale caches rerun,
and a report with per-seed means and differences. Runs on fake cached records; nothing is trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import quality
from common import results as head_to_head
from common import runs, scoring, settings, sweeps, training
from common.runs import write_record
from mic.evaluation.results import EvalResult, TaskScores
from mic.training.config import MICWeights, load_config, method_md_weights

SEEDS = [0, 1, 2]
BUDGET_FIELDS = ["epochs", "max_steps", "batch_size", "learning_rate", "warmup_ratio", "max_seq_length", "dims"]
TRAINED = [method for method, overrides in settings.METHODS.items() if overrides is not None]


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the benchmark's results folder, run cache and README at a temp folder."""
    monkeypatch.setattr(quality, "RESULTS", tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{quality.README_START}\nold table\n{quality.README_END}\noutro\n")
    monkeypatch.setattr(quality, "README", readme)
    return tmp_path


def config(setting: str, method: str, seed: int = 0, mic: dict | None = None):
    return settings.run_config(setting, method, seed, "data", Path("out"), mic or {})


def bar_rows(lines: list[str]) -> list[list[str]]:
    """The body rows of the bar check's tables, as cells."""
    rows = [line for table in lines for line in table.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows if not row.startswith("| setting")]


@pytest.mark.parametrize("setting", sorted(settings.SETTINGS))
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
        ("mic-no-sd", "distill_weight", 0.0),
    ],
)
def test_each_ablation_changes_one_choice_of_the_tuned_mic(ablation: str, field: str, value: object) -> None:
    # every term on, so each ablation differs
    tuned = {"gamma": 3.0, "tolerance": 0.05, "sir_weight": 1.0, "distill_weight": 0.1}
    full, ablated = config("stsb-cosent", "mic", mic=tuned).mic, config("stsb-cosent", ablation, mic=tuned).mic
    assert getattr(ablated, field) == value != getattr(full, field)
    assert ablated.model_copy(update={field: getattr(full, field)}) == full
    assert ablated.gamma == 3.0 and ablated.tolerance == 0.05


@pytest.mark.parametrize(("setting", "ready_config"), [("unsup-simcse", "mic-simcse"), ("stsb-cosent", "mic-stsb")])
def test_the_tuned_mic_is_its_configs_block_and_the_dev_sweeps_choice(setting: str, ready_config: str) -> None:
    chosen = json.loads((settings.RESULTS / f"sweep-{setting}.json").read_text())["chosen"]
    distill = sweeps.governing_summary(setting)
    if distill is not None:  # the self-distillation sweep starts from that choice and keeps the best of it and its own
        summary = json.loads(distill.read_text())
        assert MICWeights(**summary["base"]) == MICWeights(**chosen)
        chosen = summary["candidates"][summary["best"]]["mic"]
    block = load_config(settings.CONFIGS / f"{ready_config}.yaml").mic
    assert block == MICWeights(**chosen)
    assert settings.mic_defaults(setting) == block.model_dump()
    assert config(setting, "mic", mic=settings.mic_defaults(setting)).mic == block


def test_the_quick_and_paper_settings_are_unsup_simcse_at_another_budget() -> None:
    def recipe(setting: str) -> dict:
        budget = {"epochs", "max_steps", "save_steps"}  # the paper's hours-long runs keep checkpoints
        return config(setting, "mic", mic=settings.mic_defaults(setting)).model_dump(exclude=budget)

    assert recipe("unsup-simcse-quick") == recipe("unsup-simcse-paper") == recipe("unsup-simcse")
    assert config("unsup-simcse", "mrl").max_steps == 500
    assert config("unsup-simcse-quick", "mrl").max_steps == 250
    paper = config("unsup-simcse-paper", "mrl")
    assert (paper.epochs, paper.max_steps, paper.save_steps) == (5.0, -1, 500)
    assert "unsup-simcse-paper" not in settings.MAIN_SETTINGS


@pytest.mark.parametrize("setting", ["unsup-simcse", "stsb-cosent"])
def test_a_sweep_budget_changes_only_the_steps(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    full = config(setting, "mic")
    monkeypatch.setitem(settings.SETTINGS, setting, settings.SETTINGS[setting].with_overrides("max_steps=200"))
    short = config(setting, "mic")
    assert short.max_steps == 200
    assert short.model_dump(exclude={"max_steps"}) == full.model_dump(exclude={"max_steps"})


def test_every_mic_value_reaches_the_config_through_the_overrides() -> None:
    tuned = {"gamma": 1e-05, "layers": [2, 4], "regularizer_dims": [8, 16], "distill_teacher": "ema"}
    trained = config("stsb-cosent", "mic", mic=tuned).mic
    assert trained == MICWeights(**tuned)
    assert settings.run_config("stsb-cosent", "mic", 3, "../d", Path("o/m"), {}).data.data_dir == "../d"


def test_scores_are_each_tasks_headline_metric_by_json_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_scores(spec: str) -> TaskScores:  # the runner is given the tasks by name
        if spec == "scifact":
            return TaskScores(spec, "retrieval", spec, {}, 0.0, ["ndcg@10", "recall@100"],
                              {dim: {"ndcg@10": dim / 7, "recall@100": 99.0} for dim in settings.DIMS})  # fmt: skip
        return TaskScores(spec, "sts", spec, {}, 0.0, ["spearman", "pearson"],
                          {dim: {"spearman": dim / 3, "pearson": 99.0} for dim in settings.DIMS})  # fmt: skip

    def fake_evaluate(encoder: object, tasks: dict, dims: list[int], store: object = None) -> EvalResult:
        assert dims == settings.DIMS
        return EvalResult("m", 384, dims, {spec: fake_scores(spec) for spec in tasks}, 0.0, 64)

    monkeypatch.setattr(scoring, "load_tasks", lambda specs, data_dir: (dict.fromkeys(specs), []))
    monkeypatch.setattr(scoring, "evaluate_encoder", fake_evaluate)
    scores = scoring.evaluate(None, settings.TEST_TASKS, "data")  # type: ignore[arg-type]
    assert scores.keys() == settings.TEST_TASKS.keys()
    assert scores["sickr"]["8"] == round(8 / 3, 4) and scores["scifact"]["384"] == round(384 / 7, 4)
    assert [scoring.metric_label(task) for task in settings.TEST_TASKS] == ["spearman x100"] * 2 + ["ndcg@10 x100"]


def record_for(
    method: str,
    seed: int,
    setting: str = "stsb-cosent",
    shift: float = 0.0,
    tasks: dict = settings.TEST_TASKS,
    mic: dict | None = None,
) -> dict:
    """A run record as :func:`training.run_one` writes it from this code (trained with ``mic``, default the tuned
    weights of the setting)."""
    trained = settings.METHODS[method] is not None
    run = config(setting, method, seed, mic or settings.mic_defaults(setting)) if trained else None
    fields = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "scores": {task: {str(dim): 50.0 + dim / 10 + seed + shift for dim in settings.DIMS} for task in tasks},
        "train_seconds": 10.0 if trained else 0.0,
        "total_seconds": 12.0,
        "config": run.model_dump(mode="json") if trained else None,
    }
    return runs.new_record(training.method_key(setting, method, seed, run), "test", fields)


def test_a_cached_run_is_reused_only_with_the_same_training_config() -> None:
    cached = record_for("mic", 0)
    tuned = settings.mic_defaults("stsb-cosent")
    assert training.same_run(cached, settings.run_config("stsb-cosent", "mic", 0, "elsewhere", Path("o2"), tuned))
    assert not training.same_run(cached, config("stsb-cosent", "mic", mic={"gamma": 5.0}))
    assert not training.same_run(cached, config("stsb-cosent", "mic", seed=1))
    assert not training.same_run(None, config("stsb-cosent", "mic"))
    assert training.same_run(record_for("truncate", 0), None)
    assert not training.same_run(None, None)


def test_distillation_knobs_without_distillation_keep_the_cache() -> None:
    tuned = {"gamma": 1.0, "distill_weight": 0.0, "distill_teacher": "full"}
    cached = {"config": config("stsb-cosent", "mic", mic=tuned).model_dump(mode="json")}
    assert training.same_run(cached, config("stsb-cosent", "mic", mic=tuned | {"distill_teacher": "initial"}))
    assert not training.same_run(cached, config("stsb-cosent", "mic", mic=tuned | {"distill_weight": 0.1}))
    distilled = {"config": config("stsb-cosent", "mic", mic=tuned | {"distill_weight": 0.1}).model_dump(mode="json")}
    assert not training.same_run(
        distilled, config("stsb-cosent", "mic", mic=tuned | {"distill_weight": 0.1, "distill_teacher": "ema"})
    )


def test_a_config_field_added_since_a_run_at_its_default_keeps_the_cache() -> None:
    cached = record_for("mrl", 0)
    for added in ("columns", "score_range"):  # fields the data config gained after the committed runs
        del cached["config"]["data"][added]
    assert training.same_run(cached, config("stsb-cosent", "mrl"))


def test_run_one_returns_a_valid_cache_without_training(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached run was retrained")

    monkeypatch.setattr(training, "train", no_training)
    cache = results / "runs" / "stsb-cosent" / "mrl" / "seed-0.json"
    write_record(cache, record_for("mrl", 0))
    assert training.run_one("stsb-cosent", "mrl", 0, "data", settings.TEST_TASKS, {}, cache) == record_for("mrl", 0)
    assert not list(cache.parent.glob(".*partial"))


def test_a_cached_run_without_a_test_task_is_rerun_but_still_reported(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", no_training)
    sts_only = {"stsb": "stsb:test", "sickr": "sick:test"}
    for method in ("mrl", "mic"):
        write_record(results / "runs" / "stsb-cosent" / method / "seed-0.json", record_for(method, 0, tasks=sts_only))
    cache = results / "runs" / "stsb-cosent" / "mrl" / "seed-0.json"
    assert training.run_one("stsb-cosent", "mrl", 0, "data", sts_only, {}, cache)["scores"].keys() == sts_only.keys()
    with pytest.raises(AssertionError, match="training started"):
        training.run_one("stsb-cosent", "mrl", 0, "data", settings.TEST_TASKS, {}, cache)
    markdown = quality.markdown(head_to_head.collect(results), "cmd")
    assert "## stsb-cosent — stsb test" in markdown and "scifact test" not in markdown
    bar = bar_rows(quality.bar_check(head_to_head.collect(results)))
    assert ["stsb-cosent", "0", "", "", "no shared SciFact seed"] in bar


def test_the_report_compares_only_the_seeds_both_methods_have_on_a_task(results: Path) -> None:
    sts_only = {"stsb": "stsb:test", "sickr": "sick:test"}
    for seed in SEEDS:  # a rerun half done: seed 0 has SciFact, seeds 1 and 2 not yet
        for method, shift in [("mrl", 0.0), ("mic", 1.0 + seed)]:
            tasks = settings.TEST_TASKS if seed == 0 else sts_only
            write_record(
                results / "runs" / "stsb-cosent" / method / f"seed-{seed}.json",
                record_for(method, seed, shift=shift, tasks=tasks),
            )
    collected = head_to_head.collect(results)
    block = collected["settings"]["stsb-cosent"]
    assert head_to_head.mic_minus_mrl(block, "scifact", 8) == pytest.approx([1.0])
    assert head_to_head.mic_minus_mrl(block, "stsb", 8) == pytest.approx([1.0, 2.0, 3.0])
    markdown = quality.markdown(collected, "cmd")
    assert "| mic | 0 |" in markdown
    assert "| MIC − MRL, mean | 0,1,2 | +2.00 |" in markdown  # over the shared seeds, on STS
    scifact = markdown.split("scifact test")[1]
    assert "| MIC − MRL, seed 0 |" in scifact and "MIC − MRL, mean" not in scifact  # one shared seed: no mean row


def test_report_has_means_and_per_seed_differences(results: Path) -> None:
    for seed in SEEDS:
        for method, shift in [("mrl", 0.0), ("mic", 1.5)]:
            write_record(
                results / "runs" / "stsb-cosent" / method / f"seed-{seed}.json",
                record_for(method, seed, shift=shift),
            )
    write_record(results / "runs" / "stsb-cosent" / "truncate" / "seed-0.json", record_for("truncate", 0))

    report = quality.write_reports("python benchmarks/quality.py --test")

    saved = json.loads((results / "quality.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["settings"]["stsb-cosent"]["methods"]["mic"]["sickr"]["8"] == {"0": 52.3, "1": 53.3, "2": 54.3}
    markdown = (results / "quality.md").read_text()
    assert "| mic | 0,1,2 | 53.30 ± 1.00 |" in markdown
    assert markdown.count("| MIC − MRL, seed 1 |  | +1.50 |") == len(settings.TEST_TASKS)
    assert "## stsb-cosent — scifact test (ndcg@10 x100)" in markdown
    assert "python benchmarks/quality.py --test" in markdown
    assert "| stsb-cosent | stsb | 3 | +1.50 | +1.50 | +1.50 | +1.50 | yes |" in markdown
    retrieval = [row for row in bar_rows(quality.bar_check(report)) if len(row) == 5]
    assert [(row[0], row[1], row[3], row[4]) for row in retrieval] == [("stsb-cosent", "3", "+1.50", "yes")]
    readme = (results / "README.md").read_text()
    assert "old table" not in readme and readme.startswith("intro\n") and readme.endswith("outro\n")
    assert "| mic | 3 | 53.30 |" in readme
    assert (results / "quality-stsb-cosent.png").stat().st_size > 0


def test_reports_for_another_results_dir_leave_the_readme_alone(results: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write_record(elsewhere / "runs" / "stsb-cosent" / "mrl" / "seed-0.json", record_for("mrl", 0))
    report = quality.write_reports("cmd", elsewhere)
    assert report["settings"]["stsb-cosent"]["methods"]["mrl"]["stsb"]["384"] == {"0": 88.4}
    assert (elsewhere / "quality.md").is_file() and not (results / "quality.md").exists()
    assert "old table" in (results / "README.md").read_text()


def test_an_ablation_identical_to_the_tuned_mic_reuses_its_run(results: Path, monkeypatch) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", no_training)
    tuned = {"sir_weight": 0.0}
    monkeypatch.setattr(training, "mic_defaults", lambda setting: tuned)  # the setting's config holds these weights
    mic = record_for("mic", 0, mic=tuned)
    write_record(results / "runs" / "stsb-cosent" / "mic" / "seed-0.json", mic)
    cache = results / "runs" / "stsb-cosent" / "mic-no-sir" / "seed-0.json"
    reused = training.run_one("stsb-cosent", "mic-no-sir", 0, "data", settings.TEST_TASKS, tuned, cache)
    assert reused["scores"] == mic["scores"] and reused["identical_to"] == "mic" and reused["method"] == "mic-no-sir"
    assert "`mic-no-sir` trains exactly the config of `mic`" in quality.markdown(head_to_head.collect(results), "cmd")
    with pytest.raises(AssertionError, match="training started"):  # a config that differs does train
        training.run_one("stsb-cosent", "mic-no-scr", 0, "data", settings.TEST_TASKS, tuned, cache.with_name("x.json"))


def test_a_mic_run_with_every_regularizer_off_is_mrls_run() -> None:
    mrl = record_for("mrl", 0)
    no_sd = {"distill_weight": 0.0}
    assert training.same_run(mrl, config("stsb-cosent", "mic-no-scr", mic={"sir_weight": 0.0} | no_sd))
    assert training.same_run(mrl, config("stsb-cosent", "mic", mic={"gamma": 0.0} | no_sd))
    assert not training.same_run(mrl, config("stsb-cosent", "mic", mic={"sir_weight": 0.0} | no_sd))
    assert not training.same_run(mrl, config("stsb-cosent", "mic", mic={"gamma": 0.0}))  # the default distils
    assert not training.same_run(mrl, config("stsb-cosent", "mic", mic={"gamma": 0.0, "distill_weight": 1.0}))


def bar_block(gain_8: float, gain_384: float, scifact_gain: float = 0.0, seeds: int = 3) -> dict:
    """MIC and MRL over seeds ``0..seeds-1``: MIC +1.2 above MRL except at 8 and 384 dims (STS), ``scifact_gain``
    at 16 dims on SciFact (0 elsewhere)."""

    def by_seed(offset: float) -> dict[str, float]:
        return {str(seed): 70.0 + seed + offset for seed in range(seeds)}

    mrl = {str(dim): by_seed(0.0) for dim in settings.DIMS}
    mic = {str(dim): by_seed(1.2) for dim in settings.DIMS} | {"8": by_seed(gain_8), "384": by_seed(gain_384)}
    scifact = {str(dim): by_seed(0.0) for dim in settings.DIMS} | {"16": by_seed(scifact_gain)}
    return {
        "methods": {
            "mrl": dict.fromkeys(settings.TEST_TASKS, mrl),
            "mic": dict.fromkeys(quality.BAR_STS_TASKS, mic) | {"scifact": scifact},
        }
    }


def test_the_bar_fails_when_any_low_dim_is_short_or_full_dim_drops() -> None:
    rows = bar_rows(quality.bar_check({"settings": {"s": bar_block(1.0, -0.3)}}))
    assert [row[-1] for row in rows] == ["yes", "yes", "yes"]
    for gain_8, gain_384 in [(0.99, 0.0), (1.5, -0.31)]:
        rows = bar_rows(quality.bar_check({"settings": {"s": bar_block(gain_8, gain_384)}}))
        assert [row[-1] for row in rows] == ["**no**", "**no**", "yes"]


def test_the_retrieval_bar_fails_when_scifact_drops_more_than_half_a_point_at_any_dim() -> None:
    row = bar_rows(quality.bar_check({"settings": {"s": bar_block(1.5, 0.0, scifact_gain=-0.5)}}))[-1]
    assert row == ["s", "3", "16", "-0.50", "yes"]
    row = bar_rows(quality.bar_check({"settings": {"s": bar_block(1.5, 0.0, scifact_gain=-0.51)}}))[-1]
    assert row == ["s", "3", "16", "-0.51", "**no**"]


def test_a_verdict_on_fewer_than_three_seeds_says_it_is_provisional() -> None:
    rows = bar_rows(quality.bar_check({"settings": {"s": bar_block(1.0, -0.3, seeds=2)}}))
    assert [row[-1] for row in rows] == ["yes (2 of 3 seeds)"] * 3
    rows = bar_rows(quality.bar_check({"settings": {"s": bar_block(0.5, 0.0, scifact_gain=-1.0, seeds=1)}}))
    assert [row[-1] for row in rows] == ["**no** (1 of 3 seeds)"] * 3


def test_mic_paper_is_method_md_untuned_whatever_the_sweep_chose() -> None:
    assert config("stsb-cosent", "mic-paper", mic={"gamma": 10.0, "sir_weight": 0.0}).mic == method_md_weights()


def test_a_run_trained_with_an_earlier_config_is_listed_not_averaged(results: Path) -> None:
    current = record_for("mic", 0)
    earlier = record_for("mic", 1, shift=9.0)
    earlier["config"] = config("stsb-cosent", "mic", 1, mic={"gamma": 0.5}).model_dump(mode="json")
    for seed, record in ((0, current), (1, earlier)):
        write_record(results / "runs" / "stsb-cosent" / "mic" / f"seed-{seed}.json", record)
    block = head_to_head.collect(results)["settings"]["stsb-cosent"]
    assert block["methods"]["mic"]["stsb"]["8"] == {"0": 50.8}
    assert block["stale"] == ["mic seed 1"]
    assert (
        "trained with an earlier config of stsb-cosent (the next run retrains them): mic seed 1."
        in quality.markdown(head_to_head.collect(results), "cmd")
    )


def test_geometry_reads_token_correlation_at_the_first_scr_layer(tiny_st_dir: Path, monkeypatch) -> None:
    from mic.data import ScoredPairs

    sentences = [f"sentence number {i} about {word}" for i, word in enumerate(["cats", "dogs", "birds", "fish"] * 10)]
    pairs = ScoredPairs(sentences[:20], sentences[20:], [float(i % 6) for i in range(20)], "toy.tsv", (0.0, 5.0))
    monkeypatch.setattr(scoring, "load_pairs_task", lambda spec, data_dir: pairs)
    encoder = training.load_encoder(str(tiny_st_dir))
    result = scoring.geometry(encoder, "data", [8, 16, 32])
    assert result["token_layer"] == scoring.resolve_layers("middle", 3)[0] == 2
    assert len(result["variance_profile"]) == 32 and result["prefixes"].keys() == {"8", "16", "32"}
    assert result["prefixes"]["8"].keys() == scoring.GEOMETRY_STATS.keys()
    assert 0 < result["prefixes"]["8"]["isotropy"] <= 1
    assert result["prefixes"]["32"]["token_correlation_mean_abs"] is None  # no residual at the full dim
    layer_two = scoring.analyze_encoder(encoder, pairs, [8, 16, 32], layer=2).prefixes[8]
    assert result["prefixes"]["8"]["token_correlation_mean_abs"] == layer_two.token_correlation_mean_abs


def test_the_report_shows_mean_geometry_per_method_and_draws_the_variance_profiles(results: Path) -> None:
    for seed in (0, 1):
        for method, isotropy in [("mrl", 0.2), ("mic", 0.4 + seed / 10)]:
            stats = {name: isotropy for name in scoring.GEOMETRY_STATS}
            shape = {"prefixes": {str(dim): stats for dim in settings.DIMS}, "variance_profile": [1.0 + seed] * 384}
            write_record(
                results / "runs" / "stsb-cosent" / method / f"seed-{seed}.json",
                record_for(method, seed) | {"geometry": shape},
            )
    quality.write_reports("cmd")
    markdown = (results / "quality.md").read_text()
    assert "## stsb-cosent — geometry at the end of training" in markdown
    assert "| mic | 0,1 | isotropy | 0.450 |" in markdown and "| mrl | 0,1 | isotropy | 0.200 |" in markdown
    assert (results / "geometry-stsb-cosent.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("setting", "name"), [("stsb-cosent", "pca[stsb:train]"), ("unsup-simcse", "pca[stsb:train+sick:train]")]
)
def test_the_pca_row_is_named_by_what_it_was_fitted_on(setting: str, name: str) -> None:
    block = {"methods": {"pca": {"stsb": {str(dim): {"0": 50.0} for dim in settings.DIMS}}}}
    table = quality.task_table(block, "stsb", setting)
    assert f"| {name} |" in table and "| pca |" not in table


def test_quality_json_names_what_produced_it_and_the_commit_of_every_run_it_averaged(results: Path) -> None:
    folder = results / "runs" / "stsb-cosent"
    at_commit = record_for("mrl", 0)
    at_commit["provenance"].update(git_commit="a" * 40, git_dirty=False)
    write_record(folder / "mrl" / "seed-0.json", at_commit)
    dirty = record_for("mrl", 1)
    dirty["provenance"].update(git_commit="b" * 40, git_dirty=True)
    write_record(folder / "mrl" / "seed-1.json", dirty)
    legacy = record_for("mic", 0)
    del legacy["provenance"], legacy["key"]  # cached before records carried their code
    write_record(folder / "mic" / "seed-0.json", legacy)
    other = record_for("mic", 1)
    other["provenance"]["code_fingerprint"] = "0" * 16  # from other code: not averaged, so no commit listed
    write_record(folder / "mic" / "seed-1.json", other)
    quality.write_reports("python benchmarks/quality.py --report")
    saved = json.loads((results / "quality.json").read_text())
    assert saved["provenance"]["command"] == "python benchmarks/quality.py --report"
    assert {"git_commit", "git_dirty", "code_fingerprint", "versions"} <= saved["provenance"].keys()
    assert "command" not in saved
    assert saved["settings"]["stsb-cosent"]["commits"] == {
        "a" * 40: ["mrl seed 0"],
        "b" * 40 + " + uncommitted changes": ["mrl seed 1"],
        "unknown": ["mic seed 0"],
    }


def test_a_setting_whose_runs_are_all_from_other_code_is_reported_without_a_plot(results: Path) -> None:
    other = record_for("mrl", 0)
    other["provenance"]["code_fingerprint"] = "0" * 16
    write_record(results / "runs" / "stsb-cosent" / "mrl" / "seed-0.json", other)
    (results / "quality-stsb-cosent.png").write_bytes(b"an earlier plot")
    quality.write_reports("cmd")
    assert "**Stale: trained by other code**" in (results / "quality.md").read_text()
    assert not (results / "quality-stsb-cosent.png").exists()


def test_the_report_gives_each_baselines_gap_to_mrl_on_sts(results: Path) -> None:
    for seed in SEEDS:
        write_record(results / "runs" / "stsb-cosent" / "mrl" / f"seed-{seed}.json", record_for("mrl", seed))
    write_record(results / "runs" / "stsb-cosent" / "truncate" / "seed-0.json", record_for("truncate", 0, shift=-2.0))
    write_record(results / "runs" / "stsb-cosent" / "pca" / "seed-0.json", record_for("pca", 0, shift=0.5))
    write_record(results / "runs" / "stsb-cosent" / "mic" / "seed-0.json", record_for("mic", 0, shift=9.0))
    baselines = quality.markdown(head_to_head.collect(results), "cmd").split("## The baselines against MRL")[1]
    baselines = baselines.split("\n## ")[0]
    assert "| stsb-cosent | stsb | truncate | -3.00 | -3.00 | -3.00 |" in baselines  # mean of seeds 0-2 is seed 1
    assert "| stsb-cosent | sickr | pca[stsb:train] | -0.50 | -0.50 | -0.50 |" in baselines
    assert "| mic |" not in baselines and "scifact" not in baselines


def test_each_setting_names_what_its_models_saw_per_test_task() -> None:
    corpus, cosent = quality.setting_protocols("scifact-corpus"), quality.setting_protocols("stsb-cosent")
    assert corpus == {"fit_on": ["scifact"],
                      "trained": {"stsb": "inductive", "sickr": "inductive", "scifact": "transductive"}}  # fmt: skip
    assert set(cosent["trained"].values()) == {"inductive"} and cosent["fit_on"] == ["stsb:train"]
    assert "scifact transductive; truncate none" in quality.protocol_line("scifact-corpus")
