"""Training commands: ``mic train`` (a config, resumable) and ``mic demo`` (a short MIC run on STS-B)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from mic.cli.common import EncoderBackendOption, app, console, fail, note, quiet_unless, user_errors
from mic.defaults import DEFAULT_MODEL, DEFAULT_SEED, DEMO_BATCH_SIZE, DEMO_STEPS

TRAIN_EXAMPLES = """Examples:

  mic train configs/mic-stsb.yaml --data-dir ../shared/data

  mic train configs/mic-paper.yaml --set output_dir=output/paper --set max_steps=500

  mic train configs/mic-stsb.yaml --resume"""

DEMO_EXAMPLES = """Examples:

  mic demo --data-dir ../shared/data

  mic demo --steps 50 --out output/demo --overwrite"""


@app.command(epilog=TRAIN_EXAMPLES)
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML config (see configs/); defaults when omitted")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="override a field: key=value, e.g. mic.gamma=0.2")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="folder with stsbenchmark/ and sick2014/ (sets data.data_dir)")
    ] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted run from its last checkpoint")] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an output_dir / unfinished run that mic wrote")] = False,
) -> None:
    """Train an elastic-dimension model with MIC (or a baseline) as the config says."""
    from mic.distributed import end_process_group
    from mic.training.recipe import is_main_launch_process

    try:
        with quiet_unless(is_main_launch_process()):  # under torchrun, rank 0 speaks for all
            run_train_command(config, overrides or [], data_dir, resume, overwrite)
    finally:
        end_process_group()


def run_train_command(
    config: Path | None, overrides: list[str], data_dir: str | None, resume: bool, overwrite: bool
) -> None:
    """``mic train`` itself: load the config, train, and say what happened (or how to resume)."""
    from mic.training.config import load_config
    from mic.training.recipe import train as run_training

    try:
        resolved = load_config(config, overrides, options={"data.data_dir": ("--data-dir", data_dir)})
        console.print(
            f"Training [bold]{resolved.loss}[/] ({resolved.base_loss}) on {resolved.data.train} "
            f"-> {resolved.output_dir}, seed {resolved.seed}"
        )
        result = run_training(resolved, resume=resume, overwrite=overwrite, command=shlex.join(sys.argv), notify=note)
    except user_errors() as error:
        fail(str(error))
    if result.interrupted:
        again = [
            "mic",
            "train",
            *([str(config)] if config is not None else []),
            *[part for override in overrides for part in ("--set", override)],
            *(["--data-dir", data_dir] if data_dir is not None else []),
            "--resume",
        ]
        console.print(f"[yellow]Interrupted at step {result.global_step}; checkpoint saved in {result.output_dir}.[/]")
        console.print(f"Resume with: {shlex.join(again)}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(130)
    console.print(f"[green]Saved[/] {result.output_dir} after {result.global_step} steps ({result.seconds:.0f} s).")


@app.command(epilog=DEMO_EXAMPLES)
def demo(
    data_dir: Annotated[
        str | None, typer.Option(help="folder with stsbenchmark/ (else $MIC_DATA_DIR, else the HF hub)")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help=f"training steps (batch {DEMO_BATCH_SIZE})")] = DEMO_STEPS,
    seed: Annotated[int, typer.Option(help="random seed")] = DEFAULT_SEED,
    out: Annotated[str | None, typer.Option(help="where to keep the trained model (default: a temp folder)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace a model in --out that mic wrote")] = False,
    model: Annotated[
        str, typer.Option(help="model to start from: 'default', 'wordllama', a folder or a hub id")
    ] = DEFAULT_MODEL,
    encoder_backend: EncoderBackendOption = None,
) -> None:
    """Train MIC briefly on STS-B train and print STS-B test Spearman at every dim, before and after."""
    from rich.table import Table

    from mic.training.demo import run_demo

    try:
        result = run_demo(
            data_dir=data_dir,
            steps=steps,
            seed=seed,
            output_dir=out,
            model=model,
            overwrite=overwrite,
            notify=note,
            **({"backend": encoder_backend} if encoder_backend else {}),
        )
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
