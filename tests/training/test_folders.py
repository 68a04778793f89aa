"""The run folders: resume skips half-written or damaged checkpoints, --overwrite deletes only what mic wrote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from mic.staging import MARKER, OutputError
from mic.training.folders import (
    ELAPSED,
    RUN_INFO,
    WORK_MARKER,
    RunFolders,
    TrainingError,
    elapsed_seconds,
    mark_work_dir,
    newest_loadable_checkpoint,
    prepare_output,
    work_dir_for,
)


def checkpoint(work_dir: Path, step: int, state: str | None = None) -> Path:
    """A checkpoint folder as the trainer leaves it; ``state`` None: killed before trainer_state.json."""
    folder = work_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    save_file({"weight": torch.ones(4, 4)}, folder / "model.safetensors")
    torch.save({"state": {0: torch.zeros(4)}}, folder / "optimizer.pt")
    if state is not None:
        (folder / "trainer_state.json").write_text(state)
    return folder


def complete(step: int) -> str:
    return json.dumps({"global_step": step, "log_history": []})


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folders = RunFolders(tmp_path / "out", work_dir_for(tmp_path / "out"), None)
    mark_work_dir(folders, {"learning_rate": 0.001})
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
    assert newest_loadable_checkpoint(work_dir)[0] == work_dir / "checkpoint-3"
    folders = prepare_output(work_dir.with_name("out"), resume=True, overwrite=False)
    assert folders.resume_from == work_dir / "checkpoint-3"


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("damaged", "reason"),
    [
        ("model.safetensors", r"model.safetensors is truncated or damaged \(.*\)"),
        ("optimizer.pt", r"optimizer.pt is truncated or damaged \(File is not a zip file\)"),
    ],
)
def test_resume_falls_back_past_a_truncated_weights_or_optimizer_file(
    work_dir: Path, damaged: str, reason: str
) -> None:
    checkpoint(work_dir, 3, complete(3))
    truncate(checkpoint(work_dir, 6, complete(6)) / damaged)
    folders = prepare_output(work_dir.with_name("out"), resume=True, overwrite=False)
    assert folders.resume_from == work_dir / "checkpoint-3"
    assert len(folders.skipped) == 1 and re.fullmatch(rf"checkpoint-6: {reason}", folders.skipped[0])


def test_every_trainer_state_unreadable_is_said_not_called_before_the_first_save(work_dir: Path) -> None:
    for step in (3, 6):
        checkpoint(work_dir, step, complete(step)[:10])
    with pytest.raises(
        TrainingError, match=r"no complete checkpoint \(checkpoint-6: trainer_state.json is unreadable"
    ) as error:
        prepare_output(work_dir.with_name("out"), resume=True, overwrite=False)
    assert "checkpoint-3: trainer_state.json is unreadable" in str(error.value)
    assert "before its first save" not in str(error.value) and "start over with --overwrite" in str(error.value)


def test_the_newest_complete_checkpoint_wins(work_dir: Path) -> None:
    for step in (5, 10, 40):
        checkpoint(work_dir, step, complete(step))
    assert newest_loadable_checkpoint(work_dir) == (work_dir / "checkpoint-40", ())


@pytest.mark.parametrize("resume", [True, False])
def test_a_run_killed_before_its_first_checkpoint_points_to_overwrite(work_dir: Path, resume: bool) -> None:
    checkpoint(work_dir, 2, None)
    with pytest.raises(
        TrainingError, match=r"no complete checkpoint.*no trainer_state.json.*start over with --overwrite"
    ) as error:
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


def test_resume_of_a_finished_run_says_it_is_finished(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / RUN_INFO).write_text(json.dumps({"command": "mic train", "global_step": 3, "versions": {}}))
    with pytest.raises(TrainingError, match=rf"Nothing to resume: {out} holds a finished run; train it again with "):
        prepare_output(out, resume=True, overwrite=False)


def test_a_command_without_resume_names_its_own_option_and_flags(work_dir: Path) -> None:
    checkpoint(work_dir, 5, complete(5))
    with pytest.raises(TrainingError, match=r"last checkpoint: step 5\); pass --overwrite to start over\.$"):
        prepare_output(work_dir.with_name("out"), resume=False, overwrite=False, option="--out", can_resume=False)
    (work_dir / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"choose another --out"):
        prepare_output(work_dir.with_name("out"), resume=False, overwrite=True, option="--out", can_resume=False)


def test_overwrite_refuses_a_folder_mic_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "file.txt").write_text("hi")
    with pytest.raises(OutputError, match=rf"{out} was not written by mic \(no {MARKER} naming it a mic model\)"):
        prepare_output(out, resume=False, overwrite=True)
    assert (out / "file.txt").read_text() == "hi"


def test_overwrite_refuses_a_work_folder_mic_did_not_write(tmp_path: Path) -> None:
    work = work_dir_for(tmp_path / "out")
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=rf"{work} was not written by mic \(no {MARKER} naming it a mic work folder"):
        prepare_output(tmp_path / "out", resume=False, overwrite=True)
    assert (work / "notes.txt").is_file()


def test_a_foreign_work_folder_is_named_not_offered_for_overwrite(tmp_path: Path) -> None:
    work_dir_for(tmp_path / "out").mkdir()
    with pytest.raises(OutputError, match="out.work was not written by mic .*choose another output_dir"):
        prepare_output(tmp_path / "out", resume=False, overwrite=False)


def test_overwrite_accepts_a_finished_mic_model_of_before_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / RUN_INFO).write_text(json.dumps({"command": "mic train", "global_step": 3, "versions": {}}))
    assert prepare_output(out, resume=False, overwrite=True).output_dir == out
    assert out.is_dir(), "the old model is replaced only when the new run finishes"


def test_an_arbitrary_run_info_or_work_marker_proves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / RUN_INFO).write_text("{}")
    with pytest.raises(OutputError, match="naming it a mic model"):
        prepare_output(out, resume=False, overwrite=True)
    work = work_dir_for(tmp_path / "other")
    work.mkdir()
    (work / WORK_MARKER).write_text('{"name": "mine"}')
    with pytest.raises(OutputError, match="naming it a mic work folder"):
        prepare_output(tmp_path / "other", resume=False, overwrite=True)


def test_a_legacy_work_folder_is_still_recognised(tmp_path: Path) -> None:
    work = work_dir_for(tmp_path / "out")
    checkpoint(work, 4, complete(4))
    (work / WORK_MARKER).write_text(json.dumps({"output_dir": str(tmp_path / "out")}))
    assert prepare_output(tmp_path / "out", resume=True, overwrite=False).resume_from == work / "checkpoint-4"


def test_a_users_file_in_the_work_folder_is_named_never_deleted(work_dir: Path) -> None:
    checkpoint(work_dir, 4, complete(4))
    (work_dir / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"mic did not write notes.txt in it; move that away"):
        prepare_output(work_dir.with_name("out"), resume=False, overwrite=True)
    assert (work_dir / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", [".", "..", ""])
def test_an_output_dir_without_a_folder_name_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="names no new folder"):
        prepare_output(Path(name), resume=False, overwrite=True)


def test_an_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        prepare_output(tmp_path / "model", resume=False, overwrite=True)


@pytest.mark.parametrize("content", [None, "{not json", '{"train_seconds": "soon"}', '{"train_seconds": true}', "[]"])
def test_a_checkpoint_without_readable_training_time_says_so(work_dir: Path, content: str | None) -> None:
    folder = checkpoint(work_dir, 3, complete(3))
    if content is not None:
        (folder / ELAPSED).write_text(content)
    assert elapsed_seconds(folder) is None
    (folder / ELAPSED).write_text('{"train_seconds": 12.5}')
    assert elapsed_seconds(folder) == 12.5
