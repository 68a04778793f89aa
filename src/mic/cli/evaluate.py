"""Evaluation commands: ``mic eval`` (scores at every dim), ``mic analyze`` (prefix geometry) and ``mic compare``
(several models, one report)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mic.cli.common import (
    BatchSizeOption,
    DataDirOption,
    DeviceOption,
    DimsOption,
    EncoderBackendOption,
    ModelArgument,
    app,
    check_new_file,
    console,
    fail,
    refuse_unused,
    user_errors,
)
from mic.defaults import DEFAULT_BATCH_SIZE, DEFAULT_PAIRS, DEFAULT_SEED, DEFAULT_TASKS
from mic.staging import OutputKind

if TYPE_CHECKING:
    from mic.evaluation import EvalOptions

DEFAULT_TASK_LIST = ",".join(DEFAULT_TASKS)
"""The default tasks as ``--tasks`` writes them."""
TasksOption = Annotated[
    str,
    typer.Option(
        help="comma-separated tasks: STS (stsb, sickr, mteb[:TASK], scored-pair files) and retrieval "
        "(scifact, BEIR folders, [:SPLIT], default test)"
    ),
]
DataOption = Annotated[str, typer.Option(help="scored pairs to measure on: stsb, sickr (test split), stsb:dev, a file")]
LayerOption = Annotated[
    int | None, typer.Option(help="measure at this encoder layer (default: output embeddings + last-layer tokens)")
]
FitDataOption = Annotated[str | None, typer.Option(help="sentences a pca: model is fitted on (default: stsb:train)")]
SeedOption = Annotated[int, typer.Option(help="random seed (uniformity sample), recorded in the results")]


ANALYSIS_OUTPUT = OutputKind("analysis", "analysis.json", lambda _: False)
"""The folder ``mic analyze --out`` writes; see :data:`COMPARISON_OUTPUT`."""
COMPARISON_OUTPUT = OutputKind("comparison", "comparison.json", lambda _: False)
"""The folders ``mic analyze --out`` and ``mic compare --out`` write (staged, marked, replaced whole with
``--overwrite``). No folder without the marker counts as mic's: those commands used to write into any existing folder,
so one may hold the user's own files beside ``analysis.json``; it is refused, never replaced."""


def check_fit_data(fit_data: str | None, models: list[str]) -> None:
    """Refuse ``--fit-data`` when no model is a ``pca:`` baseline, the only one that reads it (it would be ignored)."""
    from mic.encoders import split_spec
    from mic.errors import MICError

    if fit_data is not None and not any(split_spec(model)[0] == "pca" for model in models):
        raise MICError(
            f"--fit-data {fit_data} has no effect: only a pca:MODEL baseline is fitted, and none is given "
            f"({', '.join(models)}); leave --fit-data out or add a pca:MODEL model."
        )


def evaluation_options(
    data_dir: str | None,
    fit_data: str | None,
    batch_size: int,
    device: str | None,
    seed: int,
    encoder_backend: str | None = None,
) -> EvalOptions:
    """The shared settings of eval, analyze and compare, with progress shown (a bar on a terminal, plain lines in a
    log) and the command line recorded."""
    from mic.evaluation import EvalOptions

    return EvalOptions(
        data_dir=data_dir,
        fit_data=fit_data,
        batch_size=batch_size,
        device=device,
        seed=seed,
        show_progress_bar=True,
        command=shlex.join(sys.argv),
        **({"backend": encoder_backend} if encoder_backend else {}),
    )


@app.command("eval")
def eval_command(
    model: ModelArgument,
    dims: DimsOption = None,
    tasks: TasksOption = DEFAULT_TASK_LIST,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the scores as JSON (mic-eval/2)")] = None,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    device: DeviceOption = None,
    seed: SeedOption = DEFAULT_SEED,
    encoder_backend: EncoderBackendOption = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing --json file")] = False,
) -> None:
    """STS Spearman/Pearson and retrieval nDCG@10/Recall@100 (exact and funnel) x100 at every dim.

    Each sentence, document and query is encoded once, then truncated per dim; retrieval corpora are cached.
    """
    from mic.dims import parse_dims
    from mic.evaluation import run_eval, scores_table, write_json

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed, encoder_backend)
    try:
        check_new_file(json_path, "--json", overwrite)
        check_fit_data(fit_data, [model])
        result = run_eval(model, tasks, parse_dims(dims), options)
    except user_errors() as error:
        fail(str(error))
    for task in result.tasks:
        console.print(scores_table(result, task))
    if json_path is not None:
        try:
            console.print(f"[green]Wrote[/] {write_json(result.to_dict(), json_path)}")
        except user_errors() as error:
            fail(str(error))


@app.command()
def analyze(
    model: ModelArgument,
    data: DataOption = DEFAULT_PAIRS,
    dims: DimsOption = None,
    layer: LayerOption = None,
    out: Annotated[Path | None, typer.Option(help="write analysis.json, token_correlation.npy, figures here")] = None,
    figures: Annotated[bool, typer.Option(help="draw variance-profile and cross-correlation PNGs in --out")] = True,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    device: DeviceOption = None,
    seed: SeedOption = DEFAULT_SEED,
    overwrite: Annotated[bool, typer.Option(help="replace a folder in --out that mic analyze wrote")] = False,
) -> None:
    """Geometry of every prefix: variance, spectrum, effective rank, isotropy, prefix/residual correlation."""
    from mic.dims import parse_dims
    from mic.evaluation import geometry_table, run_analyze, write_analysis
    from mic.staging import check_output, staged_output

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed)
    written: list[Path] = []
    try:
        check_fit_data(fit_data, [model])
        refuse_unused({"--overwrite": overwrite and out is None}, "without --out",
                      "it replaces a folder mic analyze wrote", "add --out DIR")  # fmt: skip
        if out is not None:
            check_output(out, ANALYSIS_OUTPUT, overwrite=overwrite, option="--out")
        result = run_analyze(model, data, parse_dims(dims), layer=layer, options=options)
        if out is not None:
            with staged_output(out, ANALYSIS_OUTPUT, overwrite=overwrite, option="--out") as staging:
                written = [out / path.name for path in write_analysis(result, staging, figures=figures)]
    except user_errors() as error:
        fail(str(error))
    console.print(geometry_table(result))
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for path in written:
        console.print(f"[green]Wrote[/] {path}")


@app.command()
def compare(
    models: Annotated[list[str], typer.Argument(help="models to compare; 'truncation' and 'pca:MODEL' are baselines")],
    out: Annotated[Path, typer.Option(help="folder for report.md, comparison.json and the figures")],
    tasks: TasksOption = DEFAULT_TASK_LIST,
    dims: DimsOption = None,
    data: DataOption = DEFAULT_PAIRS,
    layer: LayerOption = None,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    device: DeviceOption = None,
    seed: SeedOption = DEFAULT_SEED,
    overwrite: Annotated[bool, typer.Option(help="replace a folder in --out that mic compare wrote")] = False,
) -> None:
    """Evaluate (STS and retrieval) and analyse several models; write one Markdown report with tables and figures."""
    from mic.dims import parse_dims
    from mic.evaluation import comparison_table, run_compare
    from mic.staging import staged_output

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed)
    try:
        check_fit_data(fit_data, models)
        with staged_output(out, COMPARISON_OUTPUT, overwrite=overwrite, option="--out") as staging:
            result = run_compare(models, staging, tasks, parse_dims(dims), data=data, layer=layer, options=options)
    except user_errors() as error:
        fail(str(error))
    for task in result.evals[0].tasks:
        console.print(comparison_table(result.evals, task))
    console.print(f"[green]Wrote[/] {out / 'report.md'} and {len(result.files) - 1} more files in {out}")
