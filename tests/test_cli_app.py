"""The ``mic`` application itself: ``--version``, help without ``<bool>`` for flags and with every text as
written, and a light start-up."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from collections.abc import Callable

import click
import pytest
import typer.main
from typer.testing import CliRunner

import mic
from mic.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)


def test_version_prints_the_installed_version_and_exits_0() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"mic {mic.__version__}"
    assert mic.__version__[0].isdigit()


@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]], ids=["mic", *COMMANDS])
def test_help_shows_no_value_type_for_flags(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output


def test_flags_keep_their_names_in_help() -> None:
    output = runner.invoke(app, ["train", "--help"], terminal_width=120).output
    assert "--resume" in output and "--no-overwrite" in output


def test_help_lists_the_commands_by_group_in_workflow_order() -> None:
    listed = list(typer.main.get_command(app).list_commands(click.Context(typer.main.get_command(app))))
    assert listed == ["train", "demo", "eval", "analyze", "compare", "index", "search", "serve", "adapt"]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    heavy = ["torch", "sentence_transformers", "transformers", "numpy", "scipy", "matplotlib", "datasets"]
    modules = "mic.cli, mic.defaults, mic.retrieval.defaults"
    code = f"import sys, {modules}; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def library_defaults() -> list[tuple[str, str, object]]:
    """``(command, parameter, the library's default)`` for every option whose default the library decides."""
    from mic.evaluation.analyze import run_analyze
    from mic.evaluation.compare import run_compare
    from mic.evaluation.options import EvalOptions
    from mic.evaluation.runner import run_eval
    from mic.retrieval.index import build_index, search_texts
    from mic.training.demo import run_demo

    def defaults(function: Callable[..., object], *names: str) -> dict[str, object]:
        return {name: inspect.signature(function).parameters[name].default for name in names}

    options = {"batch_size": EvalOptions.batch_size, "seed": EvalOptions.seed}
    expected = {
        "demo": defaults(run_demo, "steps", "seed", "model"),
        "eval": {**options, "tasks": ",".join(defaults(run_eval, "tasks")["tasks"])},
        "analyze": {**options, **defaults(run_analyze, "data")},
        "compare": {
            **options,
            **defaults(run_compare, "data"),
            "tasks": ",".join(defaults(run_compare, "tasks")["tasks"]),
        },
        "index": defaults(
            build_index,
            "precision",
            "kind",
            "backend",
            "rerank_precision",
            "chunk_size",
            "batch_size",
            "encoder_backend",
        ),
        "search": defaults(search_texts, "k", "shortlist", "batch_size"),
    }
    return [(command, name, value) for command, values in expected.items() for name, value in values.items()]


@pytest.mark.parametrize(("command", "name", "expected"), library_defaults())
def test_each_option_default_is_the_librarys(command: str, name: str, expected: object) -> None:
    params = {param.name: param for param in typer.main.get_command(app).commands[command].params}
    assert params[name].default == expected


def test_the_losses_are_exported_lazily() -> None:
    from mic.losses import MICLoss

    assert mic.MICLoss is MICLoss
    assert "MICLoss" in dir(mic)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchLoss'"):
        _ = mic.NoSuchLoss


def test_output_folders_are_named_out_in_every_command() -> None:
    group = typer.main.get_command(app)
    names = {name: {opt for param in group.commands[name].params for opt in param.opts} for name in COMMANDS}
    for name, options in names.items():
        assert not options & {"--output-dir", "--output", "--out-dir", "--results-dir"}, (name, options)
    assert all("--out" in names[name] for name in ("demo", "analyze", "compare"))


def bracketed(command: click.Command) -> list[str]:
    """Every ``[...]`` written in a command's help texts (help, epilog, options), as the source wrote it."""
    texts = [command.help, command.epilog, *(getattr(param, "help", None) for param in command.params)]
    written = [text.replace("\\[", "[") for text in texts if text]  # as written, with any escaping undone
    return [match for text in written for match in re.findall(r"\[[^\]\n]*\]", text)]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_bracketed_text_as_written(name: str) -> None:
    output = runner.invoke(app, [name, "--help"], env={"COLUMNS": "400"}).output
    for text in bracketed(typer.main.get_command(app).commands[name]):
        assert text in output, f"mic {name} --help lost {text}"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_paragraph_of_a_description_prints_as_one_line(name: str) -> None:
    """The terminal wraps a paragraph, not the source's line breaks (ragged in a narrower terminal)."""
    output = runner.invoke(app, [name, "--help"], env={"COLUMNS": "2000"}).output
    source = inspect.getdoc(typer.main.get_command(app).commands[name].callback) or ""
    for paragraph in source.split("\n\n"):
        assert " ".join(paragraph.split()) in output, f"mic {name} --help broke {paragraph[:40]!r}... across lines"


def test_adapt_help_shows_the_supervision_example_whole() -> None:
    output = runner.invoke(app, ["adapt", "--help"], env={"COLUMNS": "400"}).output
    assert '--supervised --set "supervision=[stsb:train,scifact:train]" --out DIR' in output


def test_the_supervision_example_sets_both_sources() -> None:
    from mic.adapt import AdaptConfig
    from mic.config import load_config

    config = load_config(None, ["supervision=[stsb:train,scifact:train]"], schema=AdaptConfig)
    assert config.supervision == ["stsb:train", "scifact:train"]


def test_errors_print_colon_words_as_written() -> None:
    """``scifact:train:`` is a task spec, not the emoji code ``:train:``."""
    from mic.cli.common import console

    with console.capture() as captured:
        console.print("scifact:train: no qrels", markup=False)
    assert "scifact:train: no qrels" in captured.get()
