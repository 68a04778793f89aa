"""``mic adapt``: a post-hoc Matryoshka adapter on a frozen encoder (or on vectors from a file)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from mic.cli.common import (
    DataDirOption,
    DimsOption,
    EncoderBackendOption,
    app,
    console,
    fail,
    refuse_unused,
    user_errors,
)

ADAPT_EXAMPLES = """Examples:

  mic adapt default --data stsb:train,sick:train,scifact --out output/minilm-adapted

  mic adapt default --data stsb:train,scifact --supervised --set "supervision=[stsb:train,scifact:train]" --out DIR

  mic adapt --embeddings vectors.npy --dims 16,32,64 --out adapters/api-model

  mic adapt default --adapter adapters/minilm --out output/minilm-adapted"""


@app.command(epilog=ADAPT_EXAMPLES)
def adapt(
    out: Annotated[Path, typer.Option(help="model folder to write (adapter folder with --embeddings)")],
    model: Annotated[
        str | None,
        typer.Argument(help="frozen base model: 'default', 'wordllama', a folder or a hub id (default: the config's)"),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="comma-separated fit sources: stsb:train, sick:train, scifact, FILE, ...")
    ] = None,
    supervised: Annotated[bool, typer.Option(help="add CoSENT/MNRL on the labels of the config's supervision")] = False,
    dims: DimsOption = None,
    config: Annotated[Path | None, typer.Option(help="YAML config (fields of mic.adapt.AdaptConfig)")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="override a field: key=value, e.g. fit.sir=0.1")
    ] = None,
    embeddings: Annotated[
        Path | None, typer.Option(help="fit on the vectors of this (N, D) .npy instead of encoding texts")
    ] = None,
    adapter: Annotated[Path | None, typer.Option(help="put this saved adapter on MODEL instead of fitting")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace a folder in --out that mic adapt wrote")] = False,
    data_dir: DataDirOption = None,
    seed: Annotated[int | None, typer.Option(help="random seed (sets fit.seed)")] = None,
    encoder_backend: EncoderBackendOption = None,
) -> None:
    """Make a frozen encoder elastic: fit a post-hoc Matryoshka adapter on its cached embeddings.

    For retrieval, fit on the documents of the corpus you will search (--data YOUR_CORPUS; no queries or labels):
    fitted on other texts, it gains little over truncation on a corpus it never saw. The published fit-on-the-corpus
    numbers come from adapters fitted on the documents of the corpus they search (transductive), the others from
    adapters fitted on other texts (inductive): both, side by side, in benchmarks/results/adapter-protocols.md.
    """
    from mic.adapt import AdaptConfig
    from mic.adapt.run import run_adapt, run_adapt_array, run_apply
    from mic.config import load_config
    from mic.data.sources import split_sources
    from mic.dims import parse_dims

    command = shlex.join(sys.argv)
    if embeddings is not None and adapter is not None:
        fail("give at most one of --embeddings FILE.npy (fit on vectors) and --adapter DIR (reuse an adapter).")
    # Options of the fit on texts that the other two ways never read: given, they would be ignored without a word.
    text_fit = {"--data": data is not None, "--supervised": supervised, "--data-dir": data_dir is not None,
                "--encoder-backend": encoder_backend is not None}  # fmt: skip
    if embeddings is not None:
        why = f"the adapter is fitted, unsupervised, on the vectors of {embeddings}: no texts are read or encoded"
        refuse_unused(text_fit, "with --embeddings", why)
    elif adapter is not None:
        why = f"the saved adapter {adapter} is put on the model as it is: nothing is encoded or fitted"
        refuse_unused({**text_fit, "--dims": dims is not None, "--seed": seed is not None}, "with --adapter", why)
    try:
        options = {
            "model": ("MODEL", model),
            "data": ("--data", split_sources(data, "--data") if data is not None else None),
            "supervised": ("--supervised", True if supervised else None),
            "dims": ("--dims", parse_dims(dims)),
            "data_dir": ("--data-dir", data_dir),
            "fit.seed": ("--seed", seed),
            "encoder_backend": ("--encoder-backend", encoder_backend),
        }
        resolved = load_config(config, overrides, schema=AdaptConfig, options=options)
        if embeddings is not None:
            result = run_adapt_array(
                embeddings, out, resolved, model=model, show_progress_bar=True, overwrite=overwrite
            )
        elif adapter is not None:
            result = run_apply(resolved.model, adapter, out, command=command, overwrite=overwrite)
        else:
            result = run_adapt(resolved, out, command=command, show_progress_bar=True, overwrite=overwrite)
    except user_errors() as error:
        fail(str(error))
    fitted_array = embeddings is not None
    what, loader = ("adapter", "mic.adapt.Adapter.load") if fitted_array else ("adapted model", "SentenceTransformer")
    console.print(
        f"[green]Wrote[/] {what} {result.output} ({result.rows} rows, fit {result.fit_seconds:.0f} s, "
        f"encoding {result.encode_seconds:.0f} s); load it with {loader}({str(result.output)!r}).",
        highlight=False,
    )
    scr_form = result.adapter.info.get("scr_form")
    if scr_form is not None:
        reason = (
            " (no token states: vectors from a file, or a model that exposes none)" if scr_form == "sentence" else ""
        )
        console.print(f"SCR used its {scr_form}-level form{reason}.", highlight=False)
