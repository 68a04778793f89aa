"""The ``mic`` command line: thin typer commands over the library functions."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="mic",
    help="Train and evaluate elastic-dimension (Matryoshka) sentence embeddings with MIC.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """MIC: Matryoshka sentence embeddings that stay strong when truncated to 8-64 dims."""


# --- training commands (train, demo) ---

console = Console()


def fail(message: str, code: int = 2) -> None:
    """Print a user error in one red block and exit: no stack trace for mistakes a user can fix."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def user_errors() -> tuple[type[Exception], ...]:
    from mic.errors import MICError

    return (MICError,)


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML config (see configs/); defaults when omitted")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="override a field: key=value, e.g. mic.gamma=0.2")
    ] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run from its last checkpoint")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output_dir / unfinished run")] = False,
) -> None:
    """Train an elastic-dimension model with MIC (or a baseline) as the config says."""
    from mic.training.config import load_config
    from mic.training.recipe import train as run_training

    try:
        resolved = load_config(config, overrides or [])
        console.print(
            f"Training [bold]{resolved.loss}[/] ({resolved.base_loss}) on {resolved.data.train} "
            f"-> {resolved.output_dir}, seed {resolved.seed}"
        )
        result = run_training(resolved, resume=resume, overwrite=overwrite, command=shlex.join(sys.argv))
    except user_errors() as error:
        fail(str(error))
    if result.interrupted:
        console.print(
            f"[yellow]Interrupted at step {result.global_step}; checkpoint saved in {result.output_dir}.[/]\n"
            f"Resume with: mic train {config or ''} {' '.join('--set ' + o for o in overrides or [])} --resume"
        )
        raise typer.Exit(130)
    console.print(f"[green]Saved[/] {result.output_dir} after {result.global_step} steps ({result.seconds:.0f} s).")


@app.command()
def demo(
    data_dir: Annotated[
        str | None, typer.Option(help="folder with stsbenchmark/ (else $MIC_DATA_DIR, else the HF hub)")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="training steps (batch 16)")] = 300,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    output_dir: Annotated[
        str | None, typer.Option(help="where to keep the trained model (default: a temp folder)")
    ] = None,
    model: Annotated[str, typer.Option(help="model to start from: 'default', a folder or a hub id")] = "default",
) -> None:
    """Train MIC briefly on STS-B train and print STS-B test Spearman at every dim, before and after."""
    from rich.table import Table

    from mic.training.demo import run_demo

    try:
        result = run_demo(data_dir=data_dir, steps=steps, seed=seed, output_dir=output_dir, model=model)
    except user_errors() as error:
        fail(str(error))
    table = Table(title=f"STS-B test, Spearman x100 ({result.test_source})")
    table.add_column("dim", justify="right")
    table.add_column("untrained", justify="right")
    table.add_column(f"MIC, {result.steps} steps", justify="right")
    table.add_column("gain", justify="right")
    for dim in result.dims:
        gain = result.trained[dim] - result.untrained[dim]
        table.add_row(str(dim), f"{result.untrained[dim]:.2f}", f"{result.trained[dim]:.2f}", f"{gain:+.2f}")
    console.print(table)
    console.print(f"seed {seed}, {result.seconds:.0f} s of training; model in {result.output_dir}")


# --- evaluation commands (eval, analyze, compare) ---

ModelArgument = Annotated[
    str, typer.Argument(help="model folder, hub id, 'default' (offline MiniLM), 'truncation[:MODEL]' or 'pca[:MODEL]'")
]
DimsOption = Annotated[
    str | None, typer.Option(help="comma-separated prefix dims, e.g. 384,64,8 (default: D and powers of 2 down to 8)")
]
TasksOption = Annotated[
    str, typer.Option(help="comma-separated STS tasks: stsb, sickr, mteb[:TASK], scored-pair files (score, s1, s2)")
]
DataOption = Annotated[str, typer.Option(help="scored pairs to measure on: stsb, sickr (test split), stsb:dev, a file")]
LayerOption = Annotated[
    int | None, typer.Option(help="measure at this encoder layer (default: output embeddings + last-layer tokens)")
]
DataDirOption = Annotated[str | None, typer.Option(help="folder with stsbenchmark/ and sick2014/ (else $MIC_DATA_DIR)")]
FitDataOption = Annotated[str | None, typer.Option(help="sentences a pca: model is fitted on (default: stsb:train)")]
BatchSizeOption = Annotated[int, typer.Option(min=1, help="sentences per encoding batch")]
DeviceOption = Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda (default: automatic)")]
SeedOption = Annotated[int, typer.Option(help="random seed (uniformity sample), recorded in the results")]


@app.command("eval")
def eval_command(
    model: ModelArgument,
    dims: DimsOption = None,
    tasks: TasksOption = "stsb,sickr",
    json_path: Annotated[Path | None, typer.Option("--json", help="write the scores as JSON (mic-eval/1)")] = None,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
    seed: SeedOption = 0,
) -> None:
    """STS Spearman and Pearson x100 at every dim; each sentence is encoded once, then truncated per dim."""
    from mic.evaluation import parse_dims, run_eval, scores_table, write_json

    try:
        result = run_eval(
            model,
            tasks,
            parse_dims(dims),
            data_dir=data_dir,
            fit_data=fit_data,
            batch_size=batch_size,
            device=device,
            show_progress_bar=True,
            command=shlex.join(sys.argv),
            seed=seed,
        )
    except user_errors() as error:
        fail(str(error))
    console.print(scores_table(result))
    if json_path is not None:
        console.print(f"[green]Wrote[/] {write_json(result.to_dict(), json_path)}")


@app.command()
def analyze(
    model: ModelArgument,
    data: DataOption = "stsb",
    dims: DimsOption = None,
    layer: LayerOption = None,
    out: Annotated[Path | None, typer.Option(help="write analysis.json, token_correlation.npy, figures here")] = None,
    figures: Annotated[bool, typer.Option(help="draw variance-profile and cross-correlation PNGs in --out")] = True,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
    seed: SeedOption = 0,
) -> None:
    """Geometry of every prefix: variance, spectrum, effective rank, isotropy, prefix/residual correlation."""
    from mic.evaluation import geometry_table, parse_dims, run_analyze, write_analysis

    try:
        result = run_analyze(
            model,
            data,
            parse_dims(dims),
            layer=layer,
            data_dir=data_dir,
            fit_data=fit_data,
            batch_size=batch_size,
            device=device,
            show_progress_bar=True,
            seed=seed,
            command=shlex.join(sys.argv),
        )
        written = write_analysis(result, out, figures=figures) if out is not None else []
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
    tasks: TasksOption = "stsb,sickr",
    dims: DimsOption = None,
    data: DataOption = "stsb",
    layer: LayerOption = None,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
    seed: SeedOption = 0,
) -> None:
    """Evaluate and analyse several models and write one Markdown report with tables and figures."""
    from mic.evaluation import comparison_table, parse_dims, run_compare

    try:
        result = run_compare(
            models,
            out,
            tasks,
            parse_dims(dims),
            data=data,
            layer=layer,
            data_dir=data_dir,
            fit_data=fit_data,
            batch_size=batch_size,
            device=device,
            show_progress_bar=True,
            seed=seed,
            command=shlex.join(sys.argv),
        )
    except user_errors() as error:
        fail(str(error))
    for task in result.evals[0].tasks:
        console.print(comparison_table(result.evals, task))
    console.print(f"[green]Wrote[/] {out / 'report.md'} and {len(result.files) - 1} more files in {out}")


if __name__ == "__main__":
    app()
