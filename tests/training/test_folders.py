"""The run folders: resume skips half-written checkpoints, --overwrite deletes only what mic wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mic.training.folders import (
    ELAPSED,
    RUN_INFO,
    WORK_MARKER,
    RunFolders,
    TrainingError,
    elapsed_seconds,
    last_complete_checkpoint,
    mark_work_dir,
    prepare_output,
    work_dir_for,
)


def checkpoint(work_dir: Path, step: int, state: str | None = None) -> Path:
    """A checkpoint folder as the trainer leaves it; ``state`` None: killed before trainer_state.json."""
    folder = work_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"0" * 64)
    (folder / "optimizer.pt").write_bytes(b"0" * 64)
    if state is not None:
        (folder / "trainer_state.json").write_text(state)
    return folder


def complete(step: int) -> str:
    return json.dumps({"global_step": step, "log_history": []})


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folders = RunFolders(tmp_path / "out", work_dir_for(tmp_path / "out"), None)
    mark_work_dir(folders)
    return folders.work_dir


@pytest.mark.parametrize(
    "broken_state",
    [None, complete(6)[:10], json.dumps({"global_step": 3})],
    ids=["no trainer_state", "truncated trainer_state", "state of another step"],
)
def test_resume_skips_a_half_written_checkpoint(work_dir: Path, broken_state: str | None) -> None:
    checkpoint(work_dir, 3, complete(3))
    broken = checkpoint(work_dir, 6, broken_state)
    (broken / "optimizer.pt").write_bytes(b"0" * 7)  # truncated by the kill
    assert last_complete_checkpoint(work_dir) == work_dir / "checkpoint-3"
    folders = prepare_output(work_dir.with_name("out"), resume=True, overwrite=False)
    assert folders.resume_from == work_dir / "checkpoint-3"


def test_the_newest_complete_checkpoint_wins(work_dir: Path) -> None:
    for step in (5, 10, 40):
        checkpoint(work_dir, step, complete(step))
    assert last_complete_checkpoint(work_dir) == work_dir / "checkpoint-40"


@pytest.mark.parametrize("resume", [True, False])
def test_a_run_killed_before_its_first_checkpoint_points_to_overwrite(work_dir: Path, resume: bool) -> None:
    checkpoint(work_dir, 2, None)
    with pytest.raises(TrainingError, match=r"no complete checkpoint.*start over with --overwrite") as error:
        prepare_output(work_dir.with_name("out"), resume=resume, overwrite=False)
    assert str(work_dir) in str(error.value) and "--resume" not in str(error.value).split(";")[-1]
    folders = prepare_output(work_dir.with_name("out"), resume=False, overwrite=True)
    assert not folders.work_dir.exists() and folders.resume_from is None


def test_an_unfinished_run_with_a_checkpoint_says_both_flags(work_dir: Path) -> None:
    checkpoint(work_dir, 5, complete(5))
    with pytest.raises(TrainingError, match=r"last checkpoint: step 5.*--resume.*--overwrite"):
        prepare_output(work_dir.with_name("out"), resume=False, overwrite=False)


def test_resume_without_any_run(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"no unfinished run in .*out.work; start without --resume"):
        prepare_output(tmp_path / "out", resume=True, overwrite=False)


def test_overwrite_refuses_a_folder_mic_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "file.txt").write_text("hi")
    with pytest.raises(TrainingError, match=rf"{out} was not written by mic \(no {RUN_INFO} in it\)"):
        prepare_output(out, resume=False, overwrite=True)
    assert (out / "file.txt").read_text() == "hi"


def test_overwrite_refuses_a_work_folder_mic_did_not_write(tmp_path: Path) -> None:
    work = work_dir_for(tmp_path / "out")
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    with pytest.raises(TrainingError, match=rf"{work} was not written by mic \(no {WORK_MARKER} in it\)"):
        prepare_output(tmp_path / "out", resume=False, overwrite=True)
    assert (work / "notes.txt").is_file()


def test_a_foreign_work_folder_is_named_not_offered_for_overwrite(tmp_path: Path) -> None:
    work_dir_for(tmp_path / "out").mkdir()
    with pytest.raises(TrainingError, match="out.work was not written by mic .*choose another output_dir"):
        prepare_output(tmp_path / "out", resume=False, overwrite=False)


def test_overwrite_accepts_a_finished_mic_model(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / RUN_INFO).write_text("{}")
    assert prepare_output(out, resume=False, overwrite=True).output_dir == out
    assert out.is_dir(), "the old model is replaced only when the new run finishes"


@pytest.mark.parametrize("name", [".", "..", ""])
def test_an_output_dir_without_a_folder_name_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="names no new folder"):
        prepare_output(Path(name), resume=False, overwrite=True)


def test_an_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").write_text("x")
    with pytest.raises(TrainingError, match="is a file, not a folder"):
        prepare_output(tmp_path / "model", resume=False, overwrite=True)


@pytest.mark.parametrize("content", [None, "{not json", '{"train_seconds": "soon"}', '{"train_seconds": true}', "[]"])
def test_a_checkpoint_without_readable_training_time_says_so(work_dir: Path, content: str | None) -> None:
    folder = checkpoint(work_dir, 3, complete(3))
    if content is not None:
        (folder / ELAPSED).write_text(content)
    assert elapsed_seconds(folder) is None
    (folder / ELAPSED).write_text('{"train_seconds": 12.5}')
    assert elapsed_seconds(folder) == 12.5
