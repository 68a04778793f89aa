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
    from mic.data import DataError
    from mic.models import ModelError
    from mic.training.config import ConfigError
    from mic.training.recipe import TrainingError

    return (ConfigError, DataError, ModelError, TrainingError)


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML config (see configs/); defaults when omitted")] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="override a field: key=value, e.g. mic.gamma=0.2")] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run from its last checkpoint")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output_dir / unfinished run")] = False,
) -> None:
    """Train an elastic-dimension model with MIC (or a baseline) as the config says."""
    from mic.training.config import load_config
    from mic.training.recipe import train as run_training

    try:
        resolved = load_config(config, overrides or [])
        console.print(f"Training [bold]{resolved.loss}[/] ({resolved.base_loss}) on {resolved.data.train} "
                      f"-> {resolved.output_dir}, seed {resolved.seed}")
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
    data_dir: Annotated[str | None, typer.Option(help="folder with stsbenchmark/ (else $MIC_DATA_DIR, else the HF hub)")] = None,
    steps: Annotated[int, typer.Option(min=1, help="training steps (batch 16)")] = 300,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    output_dir: Annotated[str | None, typer.Option(help="where to keep the trained model (default: a temp folder)")] = None,
) -> None:
    """Train MIC briefly on STS-B train and print STS-B test Spearman at every dim, before and after."""
    from rich.table import Table

    from mic.training.demo import run_demo

    try:
        result = run_demo(data_dir=data_dir, steps=steps, seed=seed, output_dir=output_dir)
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


if __name__ == "__main__":
    app()
