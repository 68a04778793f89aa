"""What every ``mic`` command shares: the typer app and ``--version``, the console, user errors printed as one
red line (:func:`fail`), the library's notes and warnings, and the options several command groups take."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from mic.cli.help import FlagHelpTyper

app = FlagHelpTyper(
    name="mic",
    help="Train and evaluate elastic-dimension (Matryoshka) sentence embeddings with MIC.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def print_version(value: bool) -> None:
    """``--version``: print the installed version of mic and exit."""
    if value:
        from mic import __version__

        typer.echo(f"mic {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """MIC: Matryoshka sentence embeddings that stay strong when truncated to 8-64 dims."""


console = Console(emoji=False)
"""The console of every command; no emoji codes, so ``scifact:train:`` in a message prints as written."""


def fail(message: str, code: int = 2) -> None:
    """Print a user error in one red block and exit: no stack trace for mistakes a user can fix."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def refuse_unused(given: dict[str, bool], context: str, why: str, remedy: str | None = None) -> None:
    """Fail naming every option of ``given`` the user passed (``True``) that has no effect in ``context`` (``"with
    --embeddings"``, ``"without --json"``), with ``why`` and, if any, the ``remedy`` beside leaving them out: an
    option that would be ignored is refused, not ignored."""
    unused = [option for option, passed in given.items() if passed]
    if unused:
        names = unused[0] if len(unused) == 1 else f"{', '.join(unused[:-1])} and {unused[-1]}"
        verb = "has" if len(unused) == 1 else "have"
        fail(f"{names} {verb} no effect {context} ({why}); {f'{remedy} or ' if remedy else ''}leave {names} out.")


def check_new_file(path: Path | None, option: str, overwrite: bool) -> None:
    """Refuse, before any work, a file ``path`` (given as ``option``) that cannot be written or, without
    ``overwrite``, already exists; and ``overwrite`` without ``path``, which would be ignored."""
    from mic.staging import OutputError, check_file_target

    if path is None:
        refuse_unused({"--overwrite": overwrite}, f"without {option}", f"it replaces an existing {option} file",
                      f"add {option} FILE")  # fmt: skip
        return
    check_file_target(path, option)
    if path.expanduser().exists() and not overwrite:
        raise OutputError(f"{option} {path} exists; pass --overwrite to replace it, or choose another file.")


def user_errors() -> tuple[type[Exception], ...]:
    from mic.errors import MICError

    return (MICError,)


@contextmanager
def quiet_unless(speak: bool) -> Iterator[None]:
    """Silence the console inside the block unless ``speak`` (e.g. on ranks other than 0 of a torchrun launch)."""
    previous, console.quiet = console.quiet, not speak
    try:
        yield
    finally:
        console.quiet = previous


def note(message: str) -> None:
    """Print a note from the library as is: no markup, no highlighting, no wrapping (paths stay whole)."""
    console.print(message, style="yellow", markup=False, highlight=False, soft_wrap=True)


class NoteHandler(logging.Handler):
    """Prints what the library logs to ``mic`` (warnings such as rows left out of a corpus) as a :func:`note`."""

    def emit(self, record: logging.LogRecord) -> None:
        note(record.getMessage())


logging.getLogger("mic").addHandler(NoteHandler(logging.WARNING))

EncoderBackendOption = Annotated[
    str | None,
    typer.Option(help="encoder backend: torch (default), onnx or onnx-int8 (onnxruntime; exported once, cached)"),
]
QueryBackendOption = Annotated[
    str | None,
    typer.Option("--encoder-backend", help="query encoder backend: torch, onnx or onnx-int8 (default: the index's)"),
]
AllowBackendMismatchOption = Annotated[
    bool, typer.Option(help="encode queries with another --encoder-backend than the index's documents")
]

ModelArgument = Annotated[
    str,
    typer.Argument(
        help="model folder, hub id, 'default' (offline MiniLM), 'wordllama' (offline WordLlama), "
        "'truncation[:MODEL]' or 'pca[:MODEL]'"
    ),
]
DimsOption = Annotated[
    str | None, typer.Option(help="comma-separated prefix dims, e.g. 8,64,384 (default: powers of 2 from 8, and D)")
]
DataDirOption = Annotated[
    str | None, typer.Option(help="folder with stsbenchmark/, sick2014/ and scifact/ (else $MIC_DATA_DIR)")
]
BatchSizeOption = Annotated[int, typer.Option(min=1, help="sentences per encoding batch")]


def check_device(value: str | None) -> str | None:
    """``--device``: a torch device this machine has (``cpu``, ``cuda``, ``cuda:N``, ``mps``), checked before any
    work (torch's own error is a stack trace, and on a CPU-only build an ``AssertionError``)."""
    if value is None:
        return value
    import torch

    try:
        device = torch.device(value)
    except RuntimeError:
        raise typer.BadParameter(f"{value!r} is not a torch device; use cpu, cuda, cuda:N or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise typer.BadParameter(f"{value!r}: CUDA is not available here (torch {torch.__version__}); use cpu.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise typer.BadParameter(f"{value!r}: this machine has {torch.cuda.device_count()} CUDA device(s).")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise typer.BadParameter(f"{value!r}: MPS is not available here; use cpu.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise typer.BadParameter(f"{value!r}: mic runs on cpu, cuda or mps.")
    return value


DeviceOption = Annotated[
    str | None,
    typer.Option(callback=check_device, help="torch device, e.g. cpu or cuda (default: automatic)"),
]
