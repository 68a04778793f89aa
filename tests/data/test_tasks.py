"""Specification of task specs: each names one kind (sts or retrieval), checked before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mic.data import DataError, RetrievalData, ScoredPairs, Task, load_pairs_task, load_task, parse_tasks
from mic.data.tasks import MTEB_STS_TASKS


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    (tmp_path / "b" / "qrels").mkdir(parents=True)
    (tmp_path / "b" / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "T", "text": "x y"}) + "\n")
    (tmp_path / "b" / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "x"}) + "\n")
    (tmp_path / "b" / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return tmp_path / "b"


def test_every_spec_gets_its_kind(tmp_path: Path, beir: Path) -> None:
    specs = ["stsb", "sick:trial", "scifact", f"{beir}:train", str(tmp_path / "p.tsv"), "org/set", "mteb:STS12"]
    kinds = [task.kind for task in parse_tasks(",".join(specs))]
    assert kinds == ["sts", "sts", "retrieval", "retrieval", "sts", "sts", "sts"]
    assert parse_tasks("mteb") == [Task("mteb", "sts", MTEB_STS_TASKS)]
    assert parse_tasks("stsb,stsb") == [Task("stsb", "sts")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("scifactx", "Unknown task 'scifactx'; choose stsb, sick, sickr, scifact"), ("stsb:", "write NAME:SPLIT")],
)
def test_unknown_specs_fail_naming_what_is_allowed(spec: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_tasks(spec)


def test_load_task_reads_each_kind(beir: Path, tmp_path: Path) -> None:
    pairs_file = tmp_path / "p.tsv"
    pairs_file.write_text("4.0\ta b\tc d\n")
    assert isinstance(load_task(str(pairs_file)), ScoredPairs)
    data = load_task(str(beir))
    assert isinstance(data, RetrievalData) and data.documents == ["T x y"] and data.source.endswith(":test")
    with pytest.raises(DataError, match="retrieval task without scored pairs"):
        load_pairs_task(str(beir))
    with pytest.raises(DataError, match="MTEB tasks are loaded and scored by mteb"):
        load_pairs_task("mteb:STS12")
