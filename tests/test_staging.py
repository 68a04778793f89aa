"""``mic.staging``: files and folders appear whole or not at all, only over what mic wrote; JSON never holds NaN."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mic.staging import (
    MARKER,
    OutputError,
    OutputKind,
    check_file_target,
    check_output,
    staged_output,
    write_atomic,
    write_json,
)

KIND = OutputKind("thing", "thing.json", lambda content: content.get("schema") == "mic-thing/1")
OTHER = OutputKind("other", "other.json", lambda content: False)


def stage(path: Path, overwrite: bool = False, kind: OutputKind = KIND, text: str = "new") -> None:
    with staged_output(path, kind, overwrite=overwrite, option="--out") as staging:
        (staging / "data.txt").write_text(text)


def test_write_atomic_creates_parents_takes_text_or_bytes_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.txt"
    write_atomic(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [path.name for path in target.parent.iterdir()] == ["out.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    write_json({"version": 1}, target)

    def broken_replace(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("mic.staging.os.replace", broken_replace)
    with pytest.raises(OutputError, match=rf"Cannot write {target}: disk full"):
        write_json({"version": 2}, target)
    assert json.loads(target.read_text()) == {"version": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_write_json_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_json({"score": math.nan}, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


def test_a_staged_folder_is_marked_and_replaces_only_its_own_kind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stage(out, text="one")
    assert json.loads((out / MARKER).read_text()) == {"mic_output": "thing", "entries": ["data.txt"]}
    with pytest.raises(OutputError, match=rf"{out} already exists; pass --overwrite to replace it, or choose another"):
        stage(out, text="two")
    stage(out, overwrite=True, text="two")
    assert (out / "data.txt").read_text() == "two"
    with pytest.raises(OutputError, match=rf"{out} was not written by mic \(no {MARKER} naming it a mic other\)"):
        stage(out, overwrite=True, kind=OTHER)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("files", "replaced"),
    [
        ({"thing.json": '{"schema": "mic-thing/1"}'}, True),
        ({"thing.json": '{"schema": "someone-else"}', "mine.txt": "keep"}, False),
        ({"thing.json": "not json", "mine.txt": "keep"}, False),
        ({MARKER: '{"mic_output": "other", "entries": []}', "mine.txt": "keep"}, False),
        ({MARKER: "[]", "mine.txt": "keep"}, False),
    ],
    ids=[
        "legacy proven",
        "legacy file of someone else",
        "unreadable legacy file",
        "marker of another kind",
        "bad marker",
    ],
)
def test_only_content_proves_ownership(tmp_path: Path, files: dict[str, str], replaced: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    if replaced:
        stage(out, overwrite=True)
        assert (out / "data.txt").read_text() == "new"
    else:
        with pytest.raises(OutputError, match="naming it a mic thing"):
            stage(out, overwrite=True)
        assert (out / "mine.txt").read_text() == "keep"


def test_a_users_file_in_a_mic_folder_is_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stage(out, text="one")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"is a mic thing, but mic did not write notes.txt in it; move that away"):
        stage(out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "data.txt").read_text() == "one"


def test_a_users_file_inside_a_folder_mic_wrote_is_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_output(out, KIND, overwrite=False, option="--out") as staging:
        (staging / "encoder").mkdir()
        (staging / "encoder" / "weights.bin").write_text("w")
    assert json.loads((out / MARKER).read_text())["entries"] == ["encoder/weights.bin"]
    (out / "encoder" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"mic did not write encoder/notes.txt in it; move that away"):
        stage(out, overwrite=True)
    assert (out / "encoder" / "notes.txt").read_text() == "mine"


def test_a_file_mic_wrote_is_its_own_whatever_glob_characters_its_name_holds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_output(out, KIND, overwrite=False, option="--out") as staging:
        (staging / "shard[1].bin").write_text("w")
    stage(out, overwrite=True)
    assert (out / "data.txt").is_file() and not (out / "shard[1].bin").exists()


def test_a_folder_marked_before_markers_listed_files_owns_what_its_entries_hold(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "encoder").mkdir(parents=True)
    (out / "encoder" / "weights.bin").write_text("w")
    (out / MARKER).write_text(json.dumps({"mic_output": "thing", "entries": ["encoder"]}))
    stage(out, overwrite=True)
    assert sorted(path.name for path in out.iterdir()) == ["data.txt", MARKER]


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


@pytest.mark.parametrize(("suffix", "what"), [("saving", "Removed"), ("old", "Restored")])
def test_leftovers_of_a_killed_process_are_cleared_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, suffix: str, what: str
) -> None:
    pid = dead_pid()
    leftover = tmp_path / f".out.{pid}.{suffix}"
    stage(leftover, text="old")
    live = tmp_path / f".out.{os.getpid()}.saving"  # a running process's: left alone
    live.mkdir()
    check_output(tmp_path / "out", KIND, overwrite=True, option="--out")
    assert not leftover.exists() and live.is_dir()
    # killed between its two renames: the old output is put back, not deleted
    assert (tmp_path / "out").exists() == (suffix == "old")
    notes = [record.getMessage() for record in caplog.records]
    assert len(notes) == 1 and notes[0].startswith(what) and f"process {pid}, which stopped" in notes[0]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", r"--out '.' names no new folder"),
        ("..", r"--out '..' names no new folder"),
        ("file.txt/index", r"--out .*file.txt/index: .*file.txt is a file, not a folder; choose another --out"),
        ("file.txt", r"--out .*file.txt is a file, not a folder"),
    ],
)
def test_paths_that_name_no_folder_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("mine")
    with pytest.raises(OutputError, match=message):
        check_output(Path(out), KIND, overwrite=True, option="--out")
    assert (tmp_path / "file.txt").read_text() == "mine"


def test_a_file_target_is_checked_before_the_work(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"--json .*file.txt/hits.json: .*file.txt is a file, not a folder"):
        check_file_target(tmp_path / "file.txt" / "hits.json", "--json")
    with pytest.raises(OutputError, match=r"--json .* is a folder; give a file name"):
        check_file_target(tmp_path, "--json")
    check_file_target(tmp_path / "new" / "hits.json", "--json")
