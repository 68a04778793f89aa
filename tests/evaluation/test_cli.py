"""``mic eval``, ``mic analyze`` and ``mic compare`` end to end on the tiny model, and their user errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mic.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.stdout.split())  # rich wraps at 80 columns; stderr has progress bars


def test_eval_prints_a_table_and_writes_json(tiny_model_dir: Path, pairs_file: Path, tmp_path: Path) -> None:
    code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--dims", "32,8",
                       "--json", str(tmp_path / "eval.json"))  # fmt: skip
    assert code == 0, output
    assert "spearman" in output and "pearson" in output
    data = json.loads((tmp_path / "eval.json").read_text())
    assert data["dims"] == [8, 32] and set(data["tasks"]) == {str(pairs_file)}


def test_eval_json_below_a_file_is_refused_before_the_work(
    tiny_model_dir: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mic.evaluation.run_eval", lambda *args: pytest.fail("evaluated before checking --json"))
    code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--json", f"{pairs_file}/eval.json")
    assert code == 2 and output.startswith("error: --json") and "is a file, not a folder" in output, output


def test_eval_json_never_replaces_a_file_without_overwrite(
    tiny_model_dir: Path, pairs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text('{"mine": 1}')
    with monkeypatch.context() as patch:
        patch.setattr("mic.evaluation.run_eval", lambda *args: pytest.fail("evaluated before checking --json"))
        code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--json", str(mine))
    assert code == 2 and f"--json {mine} exists; pass --overwrite to replace it" in output, output
    assert mine.read_text() == '{"mine": 1}'
    with monkeypatch.context() as patch:
        patch.setattr("mic.evaluation.run_eval", lambda *args: pytest.fail("evaluated before checking --overwrite"))
        code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--overwrite")
    assert code == 2 and "--overwrite has no effect without --json" in output, output
    code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--dims", "32", "--json", str(mine),
                       "--overwrite")  # fmt: skip
    assert code == 0, output
    assert json.loads(mine.read_text())["dims"] == [32]


@pytest.mark.parametrize("device", ["cdua", "xla"] + ([] if torch.cuda.is_available() else ["cuda", "cuda:1"]))
def test_a_device_this_machine_lacks_is_refused_before_the_work(
    device: str, tiny_model_dir: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mic.evaluation.run_eval", lambda *args: pytest.fail("evaluated before checking --device"))
    result = runner.invoke(app, ["eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--device", device])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "Invalid value for '--device'" in output and f"'{device}'" in output, output
    assert "Traceback" not in output and ("use cpu" in output or "mic runs on cpu, cuda or mps" in output)


def test_eval_on_an_onnx_backend_scores_as_torch_and_records_the_backend(
    tiny_model_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    records = {}
    for backend in ("torch", "onnx"):
        code, output = run("eval", str(tiny_model_dir), "--tasks", str(pairs_file), "--dims", "32,8",
                           "--encoder-backend", backend, "--json", str(tmp_path / f"{backend}.json"))  # fmt: skip
        assert code == 0, output
        records[backend] = json.loads((tmp_path / f"{backend}.json").read_text())
    assert [records[backend]["backend"] for backend in records] == ["torch", "onnx"]
    for dim in ("8", "32"):
        scores = [records[backend]["tasks"][str(pairs_file)]["scores"][dim]["spearman"] for backend in records]
        assert scores[0] == pytest.approx(scores[1], abs=0.1)  # x100; the random model's cosines are near-ties


def test_analyze_writes_json_and_figures(tiny_model_dir: Path, pairs_file: Path, tmp_path: Path) -> None:
    code, output = run("analyze", str(tiny_model_dir), "--data", str(pairs_file), "--layer", "2",
                       "--out", str(tmp_path / "geometry"))  # fmt: skip
    assert code == 0, output
    assert "geometry on 60 sentences (layer 2)" in output
    for name in ("analysis.json", "token_correlation.npy", "variance_profile.png", "cross_correlation.png"):
        assert (tmp_path / "geometry" / name).stat().st_size > 0
    assert json.loads((tmp_path / "geometry" / "analysis.json").read_text())["layer"] == 2


def test_compare_writes_one_report(tiny_model_dir: Path, pairs_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    code, output = run("compare", str(tiny_model_dir), f"truncation:{tiny_model_dir}", "--out", str(out),
                       "--tasks", str(pairs_file), "--data", str(pairs_file), "--dims", "32,16,8")  # fmt: skip
    assert code == 0, output
    report = (out / "report.md").read_text()
    for figure in ("scores_vs_dim.png", "variance_profile.png", "cross_correlation.png"):
        assert (out / figure).stat().st_size > 0 and f"]({figure})" in report
    data = json.loads((out / "comparison.json").read_text())
    assert data["schema"] == "mic-compare/2" and len(data["models"]) == 2 and data["heatmap_dim"] == 16
    assert set(data["eval"]) == set(data["analyze"]) == set(data["models"])


@pytest.mark.parametrize("command", ["analyze", "compare"])
def test_out_is_checked_before_the_work_and_never_replaces_what_mic_did_not_write(
    command: str, tiny_model_dir: Path, pairs_file: Path, tmp_path: Path
) -> None:
    model = str(tiny_model_dir)
    models = [model] if command == "analyze" else [model, f"truncation:{model}"]
    extra = ["--no-figures"] if command == "analyze" else ["--tasks", str(pairs_file)]
    args = [command, *models, "--data", str(pairs_file), "--dims", "32,16", *extra]
    main_file = "analysis.json" if command == "analyze" else "comparison.json"
    user_file = tmp_path / "notes.txt"
    user_file.write_text("mine")
    code, output = run(*args, "--out", str(user_file))
    assert code == 2 and f"--out {user_file} is a file, not a folder" in output, output
    user_folder = tmp_path / "mine"
    user_folder.mkdir()
    (user_folder / main_file).write_text("{}")
    code, output = run(*args, "--out", str(user_folder), "--overwrite")
    assert code == 2 and "was not written by mic" in output and (user_folder / main_file).read_text() == "{}", output
    out = tmp_path / "out"
    assert run(*args, "--out", str(out))[0] == 0
    code, output = run(*args, "--out", str(out))
    assert code == 2 and "already exists; pass --overwrite" in output, output
    (out / "notes.txt").write_text("mine")
    code, output = run(*args, "--out", str(out), "--overwrite")
    assert code == 2 and "mic did not write notes.txt" in output and (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    code, output = run(*args, "--out", str(out), "--overwrite")
    assert code == 0 and (out / main_file).is_file(), output
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no staging folder left


def test_eval_scores_sts_and_retrieval_tasks_together(
    tiny_model_dir: Path, pairs_file: Path, beir_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path / "cache"))
    code, output = run("eval", str(tiny_model_dir), "--tasks", f"{pairs_file},{beir_folder}", "--dims", "32,8",
                       "--json", str(tmp_path / "eval.json"))  # fmt: skip
    assert code == 0, output
    assert "ndcg@10" in output and "recall@100" in output and "funnel k'=100" in output
    data = json.loads((tmp_path / "eval.json").read_text())
    assert data["schema"] == "mic-eval/2" and data["tasks"][str(beir_folder)]["kind"] == "retrieval"
    assert any((tmp_path / "cache" / "embeddings").glob("*.npy"))


def test_eval_leaves_out_empty_documents_and_absent_judgements_with_a_warning(
    tiny_model_dir: Path, beir_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path / "cache"))
    with (beir_folder / "corpus.jsonl").open("a", encoding="utf-8") as corpus:
        corpus.write(json.dumps({"_id": "empty", "title": "", "text": " "}) + "\n")
    with (beir_folder / "qrels" / "test.tsv").open("a", encoding="utf-8") as qrels:
        qrels.write("q5\tempty\t1\nq5\tgone\t1\n")
    code, output = run("eval", str(tiny_model_dir), "--tasks", str(beir_folder), "--dims", "8",
                       "--json", str(tmp_path / "eval.json"))  # fmt: skip
    assert code == 0, output
    assert f"warning: {beir_folder / 'corpus.jsonl'}: left out 1 document with no text ('empty')." in output
    assert "dropped 2 judgements of 2 absent documents ('empty', 'gone')." in output
    assert json.loads((tmp_path / "eval.json").read_text())["tasks"][str(beir_folder)]["kind"] == "retrieval"


@pytest.fixture
def one_sentence_file(tmp_path: Path) -> Path:
    path = tmp_path / "one.tsv"
    path.write_text("5.0\tthe same words\tthe same words\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["eval", "{missing}", "--tasks", "{pairs}"], "does not exist"),
        (["eval", "{model}", "--tasks", "stsb,stsbx"], "Unknown task 'stsbx'"),
        (["eval", "{model}", "--tasks", "{pairs}", "--dims", "64,8"], "dim 64 is larger than the 32-dim embeddings"),
        (["eval", "{model}", "--tasks", "{pairs}", "--dims", ""], "--dims '' names no dim; give comma-separated dims"),
        (["analyze", "{model}", "--data", "{pairs}", "--dims", " , "], "--dims ' , ' names no dim"),
        (["eval", "{model}", "--tasks", "{pairs}", "--encoder-backend", "fp16"], "'fp16' is not one of torch, onnx"),
        (["eval", "{model}", "--tasks", "stsb", "--data-dir", "{missing}"], "(from --data-dir) does not exist"),
        (["eval", "{model}", "--tasks", "mteb"], "optional package mteb"),
        (["eval", "{model}", "--tasks", "{beir}:dev"], "no qrels for split 'dev'"),
        (["eval", "{model}", "--tasks", "scifact", "--data-dir", "{tmp}"], "is not a retrieval folder in BEIR layout"),
        (["analyze", "{model}", "--data", "{beir}"], "is a retrieval task without scored pairs"),
        (["analyze", "{model}", "--data", "{one}"], "a covariance needs at least 2"),
        (["analyze", "{model}", "--data", "{pairs}", "--layer", "9"], "layer 9 does not exist"),
        (["compare", "{model}", "{model}", "--out", "{missing}", "--tasks", "{pairs}"], "given more than once"),
    ],
)
def test_user_errors_are_one_red_line_and_exit_2(
    arguments: list[str],
    message: str,
    tiny_model_dir: Path,
    pairs_file: Path,
    one_sentence_file: Path,
    beir_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mteb", None)
    values = {"model": tiny_model_dir, "pairs": pairs_file, "one": one_sentence_file, "missing": tmp_path / "nothing",
              "beir": beir_folder, "tmp": tmp_path}  # fmt: skip
    code, output = run(*[argument.format(**values) for argument in arguments])
    assert code == 2, output
    assert output.startswith("error:") and message in output
    assert "Traceback" not in output


@pytest.mark.parametrize("command", ["eval", "analyze", "compare"])
def test_fit_data_without_a_pca_baseline_is_refused_not_ignored(
    command: str, tiny_model_dir: Path, pairs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {"eval": ["--tasks", str(pairs_file)], "analyze": ["--data", str(pairs_file)],
            "compare": ["--out", str(tmp_path / "report"), "--tasks", str(pairs_file)]}[command]  # fmt: skip
    for work in ("run_eval", "run_analyze", "run_compare"):
        monkeypatch.setattr(f"mic.evaluation.{work}", lambda *args, **kwargs: pytest.fail("worked before checking"))
    code, output = run(command, str(tiny_model_dir), *args, "--fit-data", str(pairs_file))
    assert code == 2 and f"--fit-data {pairs_file} has no effect" in output, output
    assert not (tmp_path / "report").exists()


def test_analyze_overwrite_without_out_is_refused_not_ignored(
    tiny_model_dir: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mic.evaluation.run_analyze", lambda *args, **kwargs: pytest.fail("analysed before checking"))
    code, output = run("analyze", str(tiny_model_dir), "--data", str(pairs_file), "--overwrite")
    assert code == 2 and "--overwrite has no effect without --out" in output and "add --out DIR" in output, output
