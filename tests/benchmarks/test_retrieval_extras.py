"""The retrieval extras of a run (issue 24): their shape, the adapter fitted on the corpus's documents alone, a
shortlist as large as the corpus giving exact full-dim search, and ``run_one`` recording them where the setting asks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from common import retrieval_extras as extras
from common import runs, settings, training
from helpers import write_beir
from mic.adapt import FitSettings
from mic.encoders import load_encoder

WORDS = ["cells", "genes", "proteins", "viruses", "tumours", "neurons", "enzymes", "vaccines"]
DIMS = [8, 16, 32]
TINY_FIT = FitSettings(seed=0, batch_size=16, steps=3)


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 40-document BEIR folder with 8 judged test queries (fewer documents than a shortlist)."""
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path / "cache"))
    documents = {f"d{i}": f"a study of {WORDS[i % 8]} in trial {i} of {WORDS[i // 8]}" for i in range(40)}
    queries = {f"q{i}": f"what is known of {WORDS[i]}" for i in range(8)}
    qrels = [f"q{i}\td{i}\t1" for i in range(8)] + [f"q{i}\td{i + 8}\t1" for i in range(8)]
    return write_beir(tmp_path / "beir", documents, queries, qrels)


def test_extras_have_every_part_and_the_adapter_sees_only_the_documents(
    corpus: Path, tiny_st_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted_on = []

    def spy(embeddings: torch.Tensor, *args: object, **kwargs: object):
        fitted_on.append(embeddings)
        return real_fit(embeddings, *args, **kwargs)

    real_fit = extras.fit
    monkeypatch.setattr(extras, "fit", spy)
    encoder = load_encoder(str(tiny_st_dir))
    found = extras.retrieval_extras(encoder, "unused", f"{corpus}:test", DIMS, (8, 16), (8, 32), TINY_FIT)

    dims = [str(dim) for dim in DIMS]
    assert found["task"] == f"{corpus}:test"
    assert list(found["plain"]) == ["ndcg@10", "recall@100"] and list(found["plain"]["ndcg@10"]) == dims
    assert list(found["adapter"]["recall@100"]) == dims
    assert found["adapter"]["fit"] == extras.ADAPTER_FIT and found["adapter"]["settings"]["seed"] == 0
    documents = encoder.encode([f"a study of {WORDS[i % 8]} in trial {i} of {WORDS[i // 8]}" for i in range(40)])
    assert len(fitted_on) == 1 and found["adapter"]["fit_rows"] == 40
    torch.testing.assert_close(fitted_on[0], documents, atol=1e-5, rtol=1e-5)
    for name, exact in (("plain", found["plain"]), ("adapter", found["adapter"])):
        full = exact["ndcg@10"]["32"]
        # k' = 100 holds all 40 documents: every shortlist re-ranked at full dim is exact full-dim search.
        assert found["funnel"][name] == {"8": full, "16": full}
        assert found["binary"][name]["shortlist"] == {"8": full, "32": full}
        assert set(found["binary"][name]["alone"]) == {"8", "32"}
    assert found["adapter"]["ndcg@10"] != found["plain"]["ndcg@10"]


def test_the_extras_refuse_a_task_that_is_not_retrieval(tiny_st_dir: Path, data_dir: Path) -> None:
    with pytest.raises(ValueError, match="stsb:test is not a retrieval task"):
        extras.retrieval_extras(load_encoder(str(tiny_st_dir)), str(data_dir), "stsb:test")


def test_only_the_corpus_setting_asks_for_the_extras() -> None:
    assert [name for name, setting in settings.SETTINGS.items() if setting.retrieval_extras] == ["scifact-corpus"]


def today_extras(shortlist: int = extras.SHORTLIST) -> dict:
    """Extras shaped and parametrised as :func:`common.retrieval_extras.retrieval_extras` makes them today."""
    scores = {str(dim): 1.0 for dim in settings.DIMS}
    return {
        "task": extras.TASK,
        "plain": {"ndcg@10": scores},
        "adapter": {
            "fit": extras.ADAPTER_FIT,
            "settings": FitSettings(seed=extras.ADAPTER_SEED).model_dump(mode="json"),
        },
        "funnel": {"shortlist": shortlist, "plain": {str(dim): 1.0 for dim in extras.FUNNEL_DIMS}},
        "binary": {"shortlist": shortlist, "plain": {"alone": {str(dim): 1.0 for dim in extras.BINARY_DIMS}}},
    }


def test_extras_made_with_other_parameters_are_not_today_s() -> None:
    assert extras.made_as_today(today_extras())
    assert not extras.made_as_today(today_extras(shortlist=50))
    assert not extras.made_as_today({"task": extras.TASK})  # a record from before the extras said their parameters


def test_run_one_records_the_extras_and_reruns_a_record_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = []

    def fake_extras(encoder: object, data_dir: str) -> dict:
        computed.append(data_dir)
        return today_extras()

    monkeypatch.setattr(training, "retrieval_extras", fake_extras)
    monkeypatch.setattr(training, "load_encoder", lambda spec: spec)
    monkeypatch.setattr(training, "evaluate", lambda encoder, tasks, data_dir: {task: {} for task in tasks})
    cache = tmp_path / "runs" / "scifact-corpus" / "truncate" / "seed-0.json"

    def head_to_head() -> dict:  # the head-to-head's run of a setting that asks for the extras
        return training.run_one("scifact-corpus", "truncate", 0, "data", settings.TEST_TASKS, {}, cache, extras=True)

    record = head_to_head()
    assert record["retrieval"] == today_extras() and computed == ["data"]
    assert head_to_head() == record
    assert computed == ["data"]  # reused
    without = {name: value for name, value in record.items() if name != "retrieval"}
    runs.write_record(cache, without)
    assert head_to_head()["retrieval"]
    assert computed == ["data", "data"]
    runs.write_record(cache, {**record, "retrieval": today_extras(shortlist=50)})  # made with another shortlist
    assert head_to_head()["retrieval"] == today_extras()
    assert computed == ["data", "data", "data"]
    other = tmp_path / "runs" / "stsb-cosent" / "truncate" / "seed-0.json"
    assert "retrieval" not in training.run_one("stsb-cosent", "truncate", 0, "data", settings.TEST_TASKS, {}, other)
    sweep = tmp_path / "sweep" / "truncate.json"  # a dev sweep in the same setting: never the test extras
    assert "retrieval" not in training.run_one("scifact-corpus", "truncate", 0, "data", settings.DEV_TASKS, {}, sweep)
    assert computed == ["data", "data", "data"]
