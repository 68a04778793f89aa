"""``mic train`` and ``mic demo`` on the command line: messages, exit codes, and the options errors suggest."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mic.cli import app, common
from mic.training import demo, recipe
from mic.training.recipe import TrainResult

CORPUS_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "mic-corpus.yaml"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_output_dir_dot_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = invoke("train", "--set", "output_dir=.", "--overwrite")
    assert code == 2 and "output_dir '.' names no new folder" in output and "Traceback" not in output


def test_output_dir_below_a_file_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("mine")
    code, output = invoke("train", "--set", f"output_dir={tmp_path / 'file.txt' / 'model'}")
    assert code == 2 and "file.txt is a file, not a folder; choose another output_dir" in output
    assert "Traceback" not in output


def test_overwrite_refuses_a_user_folder_and_names_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "file.txt").write_text("hi")
    code, output = invoke("train", "--set", f"output_dir={out}", "--overwrite")
    assert code == 2 and "was not written by mic" in output and "out" in output
    assert (out / "file.txt").read_text() == "hi"


def test_resume_with_nothing_to_resume_says_what_works(tmp_path: Path) -> None:
    code, output = invoke("train", "--set", f"output_dir={tmp_path / 'run'}", "--resume")
    assert code == 2 and "no unfinished run" in output and "start without --resume" in output


def test_a_misspelt_field_gets_did_you_mean() -> None:
    code, output = invoke("train", "--set", "learnin_rate=1e-4")
    assert code == 2 and "did you mean 'learning_rate'?" in output and "Extra inputs" not in output


def test_data_dir_option_sets_the_data_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    code, output = invoke("train", "--data-dir", str(missing), "--set", f"output_dir={tmp_path / 'run'}")
    assert code == 2 and str(missing) in output.replace("\n", "") and "does not exist" in output


@pytest.mark.parametrize(("command", "example"), [("train", "mic train configs/mic-stsb.yaml"), ("demo", "mic demo")])
def test_help_shows_examples(command: str, example: str) -> None:
    code, output = invoke(command, "--help", env={"COLUMNS": "200"})
    assert code == 0 and "Examples" in output and example in output


def fake_training(monkeypatch: pytest.MonkeyPatch, interrupted: bool) -> None:
    def train(config, **kwargs):  # stands in for the recipe: the CLI's own output is under test
        kwargs["notify"]("note: a note from the library")
        return TrainResult(Path(config.output_dir), 7, interrupted=interrupted, seconds=1.0)

    monkeypatch.setattr(recipe, "train", train)


def test_ctrl_c_hint_is_shell_quoted_and_unwrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_training(monkeypatch, interrupted=True)
    monkeypatch.setattr(common.console, "width", 80)
    out = tmp_path / "a long folder name that makes the line wider than eighty columns" / "model"
    args = ["--set", "dims=[8,16,384]", "--set", f"output_dir={out}", "--data-dir", str(tmp_path)]
    code, output = invoke("train", *args)
    assert code == 130
    line = next(line for line in output.splitlines() if line.startswith("Resume with: "))
    assert (
        line
        == f"Resume with: mic train --set 'dims=[8,16,384]' --set 'output_dir={out}' --data-dir {tmp_path} --resume"
    )


@pytest.mark.parametrize(("rank", "speaks"), [("0", True), ("1", False)])
def test_only_rank_zero_prints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rank: str, speaks: bool) -> None:
    fake_training(monkeypatch, interrupted=False)
    monkeypatch.setenv("RANK", rank)
    code, output = invoke("train", "--set", f"output_dir={tmp_path / 'run'}")
    assert code == 0
    assert ("Saved" in output and "a note from the library" in output) == speaks
    assert speaks or output == ""
    assert not common.console.quiet, "the console speaks again after the command"


def test_demo_checks_its_output_folder_before_evaluating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_evaluation(name: str):
        raise AssertionError("evaluated before checking --out")

    monkeypatch.setattr(demo, "load_encoder", no_evaluation)
    out = tmp_path / "model"
    out.mkdir()
    (out / "mic_run.json").write_text("{}")
    code, output = invoke("demo", "--data-dir", str(tmp_path), "--out", str(out))
    assert code == 2 and "already exists; pass --overwrite" in output
    (out / "mic_run.json").unlink()
    code, output = invoke("demo", "--data-dir", str(tmp_path), "--out", str(out), "--overwrite")
    assert code == 2 and "was not written by mic" in output


@pytest.mark.parametrize("pairing", ["dropout", "span", "title"])
def test_a_corpus_trains_end_to_end(tmp_path: Path, tiny_st_dir: Path, pairing: str) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [f'{{"_id": "{i}", "title": "Title {i}", "text": "Document {i} starts. It goes on {i}."}}' for i in range(8)]
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    settings = [
        f"model={tiny_st_dir}",
        "max_seq_length=32",
        f"data.train={corpus}",
        "data.dev=null",
        "dims=[4,8,16,32]",
        "batch_size=4",
        "max_steps=2",
        f"data.pairing={pairing}",
        f"output_dir={out}",
    ]
    code, output = invoke("train", str(CORPUS_CONFIG), *(part for setting in settings for part in ("--set", setting)))
    assert code == 0, output
    saved = (out / "mic_config.yaml").read_text()
    assert "kind: corpus" in saved and f"pairing: {pairing}" in saved and (out / "model.safetensors").is_file()


def test_an_unknown_pairing_is_refused_naming_the_allowed_ones() -> None:
    code, output = invoke("train", str(CORPUS_CONFIG), "--set", "data.pairing=ict")
    assert code == 2 and "'data.pairing': must be one of 'dropout', 'span' or 'title' (got 'ict')" in output
