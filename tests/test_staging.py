"""``mic.staging``: files and folders appear whole or not at all, and JSON never holds NaN."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mic.staging import write_atomic, write_json


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
    with pytest.raises(OSError, match="disk full"):
        write_json({"version": 2}, target)
    assert json.loads(target.read_text()) == {"version": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_write_json_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_json({"score": math.nan}, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()
