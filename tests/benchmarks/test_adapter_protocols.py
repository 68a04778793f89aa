"""The adapter-protocols report: every row says its protocol and what its fit saw, named by its fit texts; the
protocol of a fit by what it saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import adapter_protocols as benchmark
from common.protocols import INDUCTIVE, NONE, TRANSDUCTIVE, protocol


def fake_record(method: str, fit_texts: list[str], corpora: list[str]) -> dict:
    protocol, saw = benchmark.PROTOCOLS[method]
    tasks = [*corpora, *benchmark.STS_TASKS]
    scores = {task: {"8": 10.0, "256": 50.0} for task in tasks}
    return {"encoder": "wordllama", "method": method, "protocol": protocol, "fit_saw": saw, "fit_texts": fit_texts,
            "scores": scores}  # fmt: skip


def test_rows_name_their_protocol_and_fit_texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    records = [
        fake_record("truncate", [], benchmark.CORPORA),
        fake_record("pca[sts+sick]", benchmark.OTHER_TEXTS, benchmark.CORPORA),
        fake_record("adapter[sts+sick]", benchmark.OTHER_TEXTS, benchmark.CORPORA),
        fake_record("adapter[corpus]", ["scifact"], ["scifact"]),
        fake_record("pca[corpus]", ["cranfield"], ["cranfield"]),
    ]
    benchmark.write_report(records, "test")
    markdown = (tmp_path / "adapter-protocols.md").read_text()
    assert "| adapter[stsb:train+sick:train] | inductive |" in markdown
    assert "| adapter[scifact] | transductive | the evaluated corpus's documents" in markdown
    assert "| pca[cranfield] | transductive |" in markdown
    assert "| pca[stsb:train+sick:train] | inductive |" in markdown
    assert "## wordllama on cranfield" in markdown and "adapter[scifact]" not in markdown.split("on cranfield")[1]
    data = json.loads((tmp_path / "adapter-protocols.json").read_text())
    assert data["seed"] == 0 and {run["protocol"] for run in data["runs"]} == {"none", "inductive", "transductive"}


def test_a_fit_is_transductive_when_it_saw_the_evaluated_texts(tmp_path: Path) -> None:
    assert protocol([], "scifact:test") == NONE
    assert protocol(["stsb:train", "sick:train", "scifact"], "scifact:test") == TRANSDUCTIVE
    assert protocol(["scifact:train"], "scifact:test") == TRANSDUCTIVE  # every split searches the same documents
    assert protocol(["stsb:train", "sick:train", "scifact"], "stsb:test") == INDUCTIVE
    assert protocol(["stsb:test"], "stsb:test") == TRANSDUCTIVE
    (tmp_path / "corpus.jsonl").write_text("")
    assert protocol([str(tmp_path)], f"{tmp_path}:test") == TRANSDUCTIVE
    assert protocol(["stsb:train"], f"{tmp_path}:test") == INDUCTIVE


@pytest.mark.parametrize("argv", [["adapter_protocols.py"], ["adapter.py", "sweep"]])
def test_without_a_data_folder_the_benchmark_says_how_to_give_one(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import adapter

    main = {"adapter_protocols.py": benchmark.main, "adapter.py": adapter.main}[argv[0]]
    monkeypatch.delenv("MIC_DATA_DIR", raising=False)
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and "pass --data-dir DIR or set MIC_DATA_DIR=DIR" in capsys.readouterr().err
    monkeypatch.setattr("sys.argv", [*argv, "--data-dir", str(tmp_path / "missing")])
    with pytest.raises(SystemExit):
        main()
    assert f"{tmp_path / 'missing'} (from --data-dir) does not exist" in capsys.readouterr().err
