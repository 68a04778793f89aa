"""Outputs written all-or-nothing, and only over what mic wrote: the one place that decides both.

Every folder mic writes (an index, an adapter, a model, a training run's work folder) holds ``mic_output.json``
(:data:`MARKER`): ``{"mic_output": KIND, "entries": [...]}``, the kind of output and the paths (or glob patterns) of
what mic put in it, down to the files in its subfolders. :func:`staged_output` builds a new folder under a temporary
name beside the target (``.NAME.PID.saving``) and renames it into place when complete, so a reader sees the old folder
or the whole new one. An existing target is replaced only with ``overwrite``, only when its marker proves it is mic's
output of the same kind, and only when it holds nothing else: a user's file in it is named, never deleted. A process
killed while saving leaves its temporary folder; the next run beside it removes it (or, when the kill fell between the
two renames, puts the old output back) and says so.

Folders written before the marker existed are recognised by their own file when its content proves it is mic's
(:class:`OutputKind`'s ``legacy_file`` and ``legacy_proof``), never by a file name alone.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from mic.errors import MICError

MARKER = "mic_output.json"
_log = logging.getLogger("mic")


class OutputError(MICError):
    """An output path mic may not write: a user's folder, a file, a name without a folder, an unwritable place."""


@dataclass(frozen=True)
class OutputKind:
    """A kind of folder mic writes.

    Attributes:
        name: what it is, in messages and in the marker (``"index"``, ``"adapter"``, ...).
        legacy_file: the file that marked this kind before :data:`MARKER` existed.
        legacy_proof: ``True`` when that file's JSON object shows mic wrote it (a schema or mic-only fields).
    """

    name: str
    legacy_file: str
    legacy_proof: Callable[[dict[str, object]], bool]


def _read_object(path: Path) -> dict[str, object] | None:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _paths(folder: Path) -> list[str]:
    """Every file and empty folder under ``folder``, as sorted POSIX paths relative to it."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if not path.is_dir() or path.is_symlink() or not any(path.iterdir())
    )


def mark(folder: Path, kind: OutputKind, entries: Sequence[str] | None = None) -> None:
    """Write ``folder``'s :data:`MARKER`: it is mic's ``kind``, holding ``entries`` (glob patterns; default: every
    file it holds now, subfolders' included, so a file a user adds anywhere in it is not mic's)."""
    names = _paths(folder) if entries is None else list(entries)
    write_json({"mic_output": kind.name, "entries": [name for name in names if name != MARKER]}, folder / MARKER)


def marked_kind(folder: Path) -> str | None:
    """The kind of output ``folder``'s :data:`MARKER` names (``"index"``, ``"model"``, ...), or ``None`` without one."""
    marker = _read_object(folder / MARKER)
    return None if marker is None else _kind_of(marker)


def _kind_of(marker: dict[str, object]) -> str | None:
    kind = marker.get("mic_output")
    return kind if isinstance(kind, str) else None


def _owned(path: str, entries: Sequence[str]) -> bool:
    """Whether the relative ``path`` is mic's by ``entries``: one names or matches it, or names a folder above it
    (a marker written before markers listed files inside folders)."""
    return any(path == entry or fnmatchcase(path, entry) or path.startswith(f"{entry}/") for entry in entries)


def owned_entries(folder: Path, kind: OutputKind) -> list[str] | None:
    """The names (glob patterns) mic wrote in ``folder`` as a ``kind``; ``None`` when nothing proves it is mic's.

    A legacy folder (no :data:`MARKER`, a proven ``legacy_file``) lists no entries, so all of it counts as mic's.
    """
    marker = _read_object(folder / MARKER)
    if marker is not None:
        entries = marker.get("entries")
        if _kind_of(marker) == kind.name and isinstance(entries, list):
            return [str(entry) for entry in entries]
        return None
    legacy = _read_object(folder / kind.legacy_file)
    return ["*"] if legacy is not None and kind.legacy_proof(legacy) else None


def check_owned(folder: Path, kind: OutputKind, option: str) -> None:
    """Refuse, naming ``folder`` (and ``option``, the way to choose another), unless mic wrote all of it.

    Raises:
        OutputError: when no marker proves ``folder`` is mic's ``kind``, or it holds files mic did not write.
    """
    entries = owned_entries(folder, kind)
    if entries is None:
        raise OutputError(
            f"{folder} was not written by mic (no {MARKER} naming it a mic {kind.name}), so it is neither replaced "
            f"nor deleted; move it away or choose another {option}."
        )
    foreign = [path for path in _paths(folder) if path != MARKER and not _owned(path, entries)]
    if foreign:
        raise OutputError(
            f"{folder} is a mic {kind.name}, but mic did not write {', '.join(foreign)} in it; move that away "
            f"(it is never deleted) or choose another {option}."
        )


def remove_output(folder: Path, kind: OutputKind, option: str) -> None:
    """Delete ``folder`` after :func:`check_owned` proved that mic wrote all of it."""
    check_owned(folder, kind, option)
    shutil.rmtree(folder)


def _check_place(path: Path, option: str) -> None:
    """Refuse a ``path`` below a file or in a folder mic cannot write, before any work starts."""
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{option} {path}: {ancestor} is a file, not a folder; choose another {option}.")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {ancestor} (permission denied); choose another {option}.")


def check_file_target(path: Path, option: str) -> None:
    """Refuse a file path that cannot be written (a folder, below a file, an unwritable place) before the work.

    Raises:
        OutputError: naming ``option``, the path and the reason.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name.")
    _check_place(path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {path}: the file is not writable (permission denied); choose another {option}.")


_LEFTOVER = r"\.{name}\.(?:(?P<pid>\d+)\.(?P<what>saving|old)|saving-(?P<old_pid>\d+)-\d+)"
"""Temporary folders beside ``NAME``: ``.NAME.PID.saving``, ``.NAME.PID.old``, the older ``.NAME.saving-PID-NS``."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale(path: Path, notify: Callable[[str], None] = _log.warning) -> None:
    """Remove the temporary folders that processes which no longer run left beside ``path``, saying so.

    A ``.old`` folder holds the previous output of a process killed between its two renames: when ``path`` is
    missing it is put back instead. Folders of live processes are left alone.
    """
    pattern = re.compile(_LEFTOVER.format(name=re.escape(path.name)))
    if not path.parent.is_dir():
        return
    for leftover in sorted(path.parent.iterdir()):
        found = pattern.fullmatch(leftover.name)
        if found is None or not leftover.is_dir():
            continue
        pid = int(found["pid"] or found["old_pid"])
        if _alive(pid):
            continue
        if found["what"] == "old" and not path.exists():
            os.replace(leftover, path)
            notify(f"Restored {path} from {leftover.name}, left by process {pid}, which stopped while replacing it.")
        else:
            shutil.rmtree(leftover)
            notify(f"Removed {leftover}, left by process {pid}, which stopped while writing {path.name}.")


def check_output(path: str | Path, kind: OutputKind, *, overwrite: bool, option: str) -> Path:
    """Check, before any work, that mic may write the ``kind`` folder ``path``; returns it (``~`` expanded).

    Leftovers of killed runs beside it are removed first (:func:`remove_stale`).

    Raises:
        OutputError: for a path naming no folder (``.``, ``..``), below a file or unwritable; an existing
            ``path`` without ``overwrite``; one mic did not write (see :func:`check_owned`).
    """
    path = Path(path).expanduser()
    if path.name in ("", ".", ".."):
        raise OutputError(f"{option} {str(path)!r} names no new folder; give one, e.g. {option} output/NAME.")
    _check_place(path, option)
    remove_stale(path)
    if not path.exists():
        return path
    if not path.is_dir():
        raise OutputError(f"{option} {path} is a file, not a folder; choose another {option}.")
    if not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite to replace it, or choose another {option}.")
    check_owned(path, kind, option)
    return path


@contextmanager
def staged_output(path: str | Path, kind: OutputKind, *, overwrite: bool, option: str) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; when the block succeeds it is marked and replaces ``path``.

    ``path`` is checked (:func:`check_output`) on entry and again right before it is replaced. On failure (an
    exception, Ctrl-C) the temporary folder is removed and ``path`` is untouched.

    Raises:
        OutputError: when ``path`` may not be written (see :func:`check_output`).
    """
    path = check_output(path, kind, overwrite=overwrite, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        mark(staging, kind)
        previous = path.with_name(f".{path.name}.{os.getpid()}.old")
        if path.exists():
            check_owned(path, kind, option)  # a long build may have given the user time to put a file in it
            os.replace(path, previous)
        os.replace(staging, path)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to a temporary file beside ``path``, then rename it: readers see all of it or
    nothing, even another process reading while it is written. Missing parent folders are created.

    Raises:
        OutputError: when the file cannot be written (naming it and the reason).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"Cannot write {path}: {error.strerror or error}.") from None
    finally:
        if temporary.parent.is_dir():
            temporary.unlink(missing_ok=True)


def write_json(data: dict[str, object], path: str | Path) -> Path:
    """Write ``data`` as indented JSON with :func:`write_atomic`; refuses NaN so every file parses everywhere."""
    path = Path(path)
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path
