"""The adapter benchmark: its JSON shape, targets judged on the numbers, one-term ablations, rows named by their
protocol, the report built from cached fits (legacy ones labelled, other code's named) and from the head-to-head's
own MRL and MIC runs. Nothing is trained or fitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import adapter as benchmark
from common import adapters, runs, training
from common.report import FIT_NOTES, entry_of
from common.runs import NO_FINGERPRINT, OTHER_CODE, write_record
from common.settings import DIMS, TEST_TASKS, mic_defaults, run_config
from mic.adapt import FitSettings
from mic.cache import EmbeddingStore
from mic.data import RetrievalData, ScoredPairs
from mic.encoders import load_encoder
from mic.evaluation.retrieval import retrieval_scores
from mic.evaluation.sts import sts_scores


def fake_results(gain: float) -> dict:
    seeds = {"truncate": 1, adapters.PCA: 1, "mrl": 1, **{name: 3 for name in adapters.methods()}}
    return {
        method: {
            task: {str(dim): [50.0 + (gain if method.startswith("adapter") else 0.0)] * count for dim in benchmark.DIMS}
            for task in adapters.SPLITS["test"]
        }
        for method, count in seeds.items()
    }


def test_each_ablation_toggles_exactly_one_mic_term() -> None:
    default = FitSettings()
    for name, (settings, sources) in adapters.methods().items():
        changed = {key for key, value in settings.model_dump().items() if value != getattr(default, key)}
        if name in ("adapter-unsup", "adapter-sup"):
            assert changed == set() and bool(sources) == (name == "adapter-sup")
        else:
            assert len(changed) == 1 and changed <= set(adapters.MIC_TERMS) and not sources


FACTS = {"encode_seconds": {"fit_texts": 1.0, "test_texts": 2.0}, "rows": 5, "command": "test"}
TUNED = {"seeds": {"mrl": {task: ["0"] for task in adapters.SPLITS["test"]}}, "origins": {}, "stale": []}


@pytest.mark.parametrize(("gain", "met"), [(3.0, True), (0.5, False)])
def test_report_has_its_shape_and_judges_targets(
    gain: float, met: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    seconds = {name: [10.0] for name in adapters.methods()}
    benchmark.write_report(fake_results(gain), seconds, FACTS, adapters.CachedFits(), TUNED)
    data = json.loads((tmp_path / "adapter.json").read_text())
    assert {"truncate", adapters.PCA, "adapter-unsup", "adapter-sup"} <= set(data["methods"])
    assert set(data["methods"]["adapter-unsup"]) == {"stsb", "sickr", "scifact"}
    assert set(data["methods"]["adapter-unsup"]["stsb"]) == {str(dim) for dim in benchmark.DIMS}
    assert len(data["methods"]["adapter-unsup"]["stsb"]["8"]) == 3
    versus_truncation = [row for row in data["targets"] if "truncate" in row["target"]]
    assert versus_truncation and all(row["met"] is met for row in versus_truncation)
    assert (tmp_path / "adapter.md").is_file() and (tmp_path / "adapter.png").stat().st_size > 0


def test_the_run_key_of_a_fit_changes_with_what_decides_it() -> None:
    default = FitSettings()
    key = adapters.adapter_key(default, [], True, "base")
    assert adapters.adapter_key(default, [], False, "base") == key  # no SCR: its form changes nothing
    with_scr = default.model_copy(update={"scr": 1.0})
    assert adapters.adapter_key(with_scr, [], True, "base") != adapters.adapter_key(with_scr, [], False, "base")
    assert adapters.adapter_key(default.model_copy(update={"seed": 1}), [], True, "base") != key
    assert adapters.adapter_key(default.model_copy(update={"topk_k": 30}), [], True, "base") != key
    assert adapters.adapter_key(default, adapters.SUPERVISION, True, "base") != key
    assert adapters.adapter_key(default, [], True, "other model") != key


def test_a_mapped_encoder_scores_as_mic_eval_scores_the_mapped_embeddings(tiny_st_dir: Path) -> None:
    """The benchmark scores through mic's evaluation runner; the numbers are those of the mapped embeddings."""
    words = ["cats", "dogs", "birds", "fish", "trees", "rivers"]
    sentences = [f"a sentence about {word} number {i}" for i, word in enumerate(words * 4)]
    pairs = ScoredPairs(sentences[:12], sentences[12:], [float(i % 5) for i in range(12)], "toy", (0.0, 5.0))
    doc_ids = [f"d{i}" for i in range(len(sentences))]
    qrels = {f"q{i}": {f"d{i + 1}": 1} for i in range(6)}
    corpus = RetrievalData("toy", doc_ids, sentences, list(qrels), sentences[:6], qrels)
    base = load_encoder(str(tiny_st_dir))
    rotation = torch.linalg.qr(torch.randn(32, 32, generator=torch.Generator().manual_seed(0)))[0]
    dims = [8, 16, 32]
    scores = adapters.score_mapped(base, lambda x: x @ rotation, {"sts": pairs, "ret": corpus}, EmbeddingStore(), dims)
    embed = lambda texts: base.encode(texts) @ rotation  # noqa: E731
    sts = sts_scores(embed(pairs.sentences1), embed(pairs.sentences2), pairs.scores, dims)
    exact, _ = retrieval_scores(embed(corpus.queries).numpy(), embed(sentences).numpy(), corpus.query_ids, doc_ids,
                                qrels, dims, shortlists=())  # fmt: skip
    for dim in dims:
        assert scores["sts"][str(dim)] == pytest.approx(round(sts[dim]["spearman"], 4), abs=1e-4)
        assert scores["ret"][str(dim)] == pytest.approx(round(exact[dim]["ndcg@10"], 4), abs=1e-4)


def test_each_row_names_its_protocol_and_what_it_was_fitted_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    benchmark.write_report(fake_results(3.0), {"adapter-unsup": [1.0]}, FACTS, adapters.CachedFits(), TUNED)
    stsb, sickr, scifact = (tmp_path / "adapter.md").read_text().split("## stsb test")[1].split("## s")[:3]
    fit = "stsb:train+sick:train+scifact"
    assert f"| adapter-unsup | inductive | {fit} |" in stsb
    assert f"| adapter-unsup | transductive | {fit} |" in scifact  # its fit saw the SciFact corpus
    assert f"| adapter-sup | transductive | {fit}; labels of stsb:train+scifact:train |" in scifact
    assert f"| pca[{fit}] | transductive | {fit} |" in scifact and f"| pca[{fit}] | inductive |" in stsb
    assert "| truncate | none | nothing |" in stsb
    assert "| mrl | inductive | labels of stsb:train; stsb-cosent runs, seeds 0 |" in scifact
    data = json.loads((tmp_path / "adapter.json").read_text())
    assert data["protocols"]["adapter-unsup"] == {"stsb": "inductive", "sickr": "inductive", "scifact": "transductive"}
    assert data["fit_on"]["adapter-sup"] == {"texts": adapters.FIT_DATA, "labels": adapters.SUPERVISION}
    assert "git_commit" in data["provenance"] and "code_fingerprint" in data["provenance"]
    assert not {"git_commit", "versions", "command"} & data.keys()  # provenance is one block


def head_to_head_record(method: str, seed: int, stsb_at_8: float) -> dict:
    """A stsb-cosent run record as :func:`common.training.run_one` writes it from this code."""
    config = run_config(benchmark.FINETUNED_SETTING, method, seed, "data", Path("m"),
                                 mic_defaults(benchmark.FINETUNED_SETTING))  # fmt: skip
    scores = {task: {str(dim): stsb_at_8 if dim == 8 else 70.0 for dim in DIMS} for task in TEST_TASKS}
    fields = {"setting": benchmark.FINETUNED_SETTING, "method": method, "seed": seed, "scores": scores,
              "train_seconds": 1.0, "total_seconds": 2.0, "config": config.model_dump(mode="json")}  # fmt: skip
    key = training.method_key(benchmark.FINETUNED_SETTING, method, seed, config)
    return runs.new_record(key, "python benchmarks/quality.py", fields)


def test_the_fine_tuned_models_are_the_head_to_heads_runs_at_the_adapters_seeds(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / benchmark.FINETUNED_SETTING
    write_record(folder / "mrl" / "seed-0.json", head_to_head_record("mrl", 0, 60.0))
    legacy = head_to_head_record("mrl", 1, 62.0)
    del legacy["provenance"], legacy["key"]  # cached before records carried their code
    write_record(folder / "mrl" / "seed-1.json", legacy)
    other = head_to_head_record("mrl", 2, 99.0)
    other["provenance"]["code_fingerprint"] = "0" * 16
    write_record(folder / "mrl" / "seed-2.json", other)
    write_record(folder / "mrl" / "seed-7.json", head_to_head_record("mrl", 7, 99.0))  # not an adapter seed
    write_record(folder / "mic" / "seed-0.json", head_to_head_record("mic", 0, 64.0))
    tuned = benchmark.finetuned(tmp_path)
    assert tuned["scores"]["mrl"]["stsb"]["8"] == [60.0, 62.0]  # other code's seed 2 is not averaged
    assert tuned["seeds"]["mrl"]["stsb"] == ["0", "1"] and tuned["seeds"]["mic"]["stsb"] == ["0"]
    assert tuned["seeds"]["mrl"]["scifact"] == ["0"]  # the unfingerprinted seed 1 keeps only its STS scores
    assert tuned["origins"][NO_FINGERPRINT] == ["mrl seed 1"]
    (stale,) = tuned["origins"][OTHER_CODE]
    assert entry_of(stale, "mrl seed 2") and not entry_of(stale, "mrl seed 1")


def fit_record(method: str, seed: int, stsb_at_8: float) -> dict:
    """A test-phase record of one fit of ``method`` as :func:`common.adapters.fitted` writes it from this code."""
    settings_, sources = adapters.methods()[method]
    fit = settings_.model_copy(update={"seed": seed})
    fields = {"settings": fit.model_dump(mode="json"), "fit_data": adapters.FIT_DATA, "base_fingerprint": "base",
              "supervision": sources, "fit_seconds": 9.0, "final_terms": {},
              "scr_form": adapters.scr_form(fit, True), "scores": {"test": fake_scores(stsb_at_8)}}  # fmt: skip
    return runs.new_record(adapters.adapter_key(fit, sources, True, "base"), "test", fields)


def fake_scores(stsb_at_8: float) -> dict:
    return {task: {str(dim): stsb_at_8 for dim in benchmark.DIMS} for task in adapters.SPLITS["test"]}


def oldest_record(seed: int, stsb_at_8: float) -> dict:
    """A record of ``adapter-unsup`` as the oldest benchmark wrote it: no key, no provenance, ``supervised`` instead
    of the sources, no SCR form, the task weight at its old default and without the settings added since."""
    fields = FitSettings(seed=seed, task=1.0).model_dump(mode="json", exclude={"bits", "bits_temperature", "teacher"})
    return {"settings": fields, "supervised": False, "fit_seconds": 8.0, "final_terms": {},
            "scores": {"test": fake_scores(stsb_at_8)}}  # fmt: skip


def test_cached_fits_are_this_codes_else_legacy_labelled_and_never_other_codes(tmp_path: Path) -> None:
    write_record(tmp_path / "a.json", fit_record("adapter-unsup", 0, 60.0))
    write_record(tmp_path / "b.json", oldest_record(0, 50.0))  # the same fit, older: this code's is used
    write_record(tmp_path / "c.json", oldest_record(1, 62.0))
    other = fit_record("adapter-unsup", 2, 99.0)
    other["key"], other["provenance"]["code_fingerprint"] = "another key", "0" * 16
    write_record(tmp_path / "d.json", other)
    write_record(tmp_path / "e.json", oldest_record(2, 99.0) | {"fit_data": ["stsb:train"]})  # other fit texts
    sentence_scr = oldest_record(0, 99.0)
    sentence_scr["settings"]["scr"] = 1.0  # before token-level SCR: not the test phase's +scr fit
    write_record(tmp_path / "f.json", sentence_scr)
    fits = adapters.cached_test_fits("base", tmp_path)
    unsup = fits.records["adapter-unsup"]
    assert sorted(unsup) == [0, 1] and unsup[0]["scores"]["test"]["stsb"]["8"] == 60.0
    assert unsup[1]["scores"]["test"]["stsb"]["8"] == 62.0
    assert fits.origins[NO_FINGERPRINT] == ["adapter-unsup seed 1"]
    (stale,) = fits.origins[OTHER_CODE]
    assert entry_of(stale, "adapter-unsup seed 2")
    assert "adapter-unsup seed 2" in fits.missing and "adapter-unsup+scr seed 0" in fits.missing
    assert adapters.cached_test_fits("another base model", tmp_path).records.keys() == {"adapter-unsup"}


def test_the_report_phase_fits_nothing_and_says_where_each_row_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    monkeypatch.setattr(adapters, "RUNS", tmp_path / "adapter-runs")
    monkeypatch.setattr(adapters, "fit", None)  # calling it would fail
    monkeypatch.setattr(
        benchmark, "baselines", lambda *_: {"truncate": fake_scores(50.0), adapters.PCA: fake_scores(49.0)}
    )
    for index, (method, seed) in enumerate((m, s) for m in adapters.methods() for s in adapters.SEEDS):
        write_record(tmp_path / "adapter-runs" / f"{index}.json", fit_record(method, seed, 55.0 + seed))
    legacy = oldest_record(0, 70.0)
    (tmp_path / "adapter-runs" / "0.json").unlink()  # adapter-unsup seed 0 only as a legacy record
    write_record(tmp_path / "adapter-runs" / "legacy.json", legacy)
    write_record(tmp_path / "runs" / "stsb-cosent" / "mrl" / "seed-0.json", head_to_head_record("mrl", 0, 60.0))
    context = adapters.FitContext(None, {}, None, None, "base", None, "test")  # type: ignore[arg-type]
    benchmark.report(context, None, {}, FACTS)  # type: ignore[arg-type]
    data = json.loads((tmp_path / "adapter.json").read_text())
    assert data["methods"]["adapter-unsup"]["stsb"]["8"] == [70.0, 56.0, 57.0]
    assert data["methods"]["mrl"]["stsb"]["8"] == [60.0] and "mic" not in data["methods"]
    assert data["origins"] == {NO_FINGERPRINT: ["adapter-unsup seed 0"]} and data["not_fitted"] == []
    markdown = (tmp_path / "adapter.md").read_text()
    assert (
        f"**No code fingerprint (trained before run records carried their code)** ({FIT_NOTES[NO_FINGERPRINT]}): "
        "adapter-unsup seed 0." in markdown
    )
