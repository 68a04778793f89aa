"""The ``mic`` command line: thin typer commands over the library functions."""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from mic.cli_app import FlagHelpTyper

if TYPE_CHECKING:
    from mic.evaluation import EvalOptions

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


# --- training commands (train, demo) ---

console = Console()


def fail(message: str, code: int = 2) -> None:
    """Print a user error in one red block and exit: no stack trace for mistakes a user can fix."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


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
    from mic.training.recipe import is_main_launch_process

    with quiet_unless(is_main_launch_process()):  # under torchrun, rank 0 speaks for all
        run_train_command(config, overrides or [], data_dir, resume, overwrite)


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
    steps: Annotated[int, typer.Option(min=1, help="training steps (batch 16)")] = 300,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[str | None, typer.Option(help="where to keep the trained model (default: a temp folder)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace a model in --out that mic wrote")] = False,
    model: Annotated[
        str, typer.Option(help="model to start from: 'default', 'wordllama', a folder or a hub id")
    ] = "default",
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


# --- evaluation commands (eval, analyze, compare) ---

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
DataDirOption = Annotated[
    str | None, typer.Option(help="folder with stsbenchmark/, sick2014/ and scifact/ (else $MIC_DATA_DIR)")
]
FitDataOption = Annotated[str | None, typer.Option(help="sentences a pca: model is fitted on (default: stsb:train)")]
BatchSizeOption = Annotated[int, typer.Option(min=1, help="sentences per encoding batch")]
DeviceOption = Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda (default: automatic)")]
SeedOption = Annotated[int, typer.Option(help="random seed (uniformity sample), recorded in the results")]


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
    tasks: TasksOption = "stsb,sickr",
    json_path: Annotated[Path | None, typer.Option("--json", help="write the scores as JSON (mic-eval/2)")] = None,
    data_dir: DataDirOption = None,
    fit_data: FitDataOption = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
    seed: SeedOption = 0,
    encoder_backend: EncoderBackendOption = None,
) -> None:
    """STS Spearman/Pearson and retrieval nDCG@10/Recall@100 (exact and funnel) x100 at every dim.

    Each sentence, document and query is encoded once, then truncated per dim; retrieval corpora are cached.
    """
    from mic.dims import parse_dims
    from mic.evaluation import run_eval, scores_table, write_json
    from mic.staging import check_file_target

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed, encoder_backend)
    try:
        if json_path is not None:
            check_file_target(json_path, "--json")
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
    from mic.dims import parse_dims
    from mic.evaluation import geometry_table, run_analyze, write_analysis

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed)
    try:
        result = run_analyze(model, data, parse_dims(dims), layer=layer, options=options)
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
    """Evaluate (STS and retrieval) and analyse several models; write one Markdown report with tables and figures."""
    from mic.dims import parse_dims
    from mic.evaluation import comparison_table, run_compare

    options = evaluation_options(data_dir, fit_data, batch_size, device, seed)
    try:
        result = run_compare(models, out, tasks, parse_dims(dims), data=data, layer=layer, options=options)
    except user_errors() as error:
        fail(str(error))
    for task in result.evals[0].tasks:
        console.print(comparison_table(result.evals, task))
    console.print(f"[green]Wrote[/] {out / 'report.md'} and {len(result.files) - 1} more files in {out}")


# --- retrieval commands (index, search, serve) ---

INDEX_EXAMPLES = """Examples:

  mic index default scifact --dim 32 --out indexes/scifact-32

  mic index runs/mic/final docs.jsonl --dim 64 --precision int8 --kind hnsw --out indexes/docs

  mic index default docs.jsonl --dim 32 --backend qdrant --url http://localhost:6333 --out indexes/docs-qdrant"""

SEARCH_EXAMPLES = """Examples:

  mic search indexes/scifact-32 --query "vitamin D and bone density" --k 5

  mic search indexes/scifact-32 --queries queries.txt --k 10 --shortlist 200 --json hits.json"""


@app.command("index", epilog=INDEX_EXAMPLES)
def index_command(
    model: ModelArgument,
    corpus: Annotated[
        str, typer.Argument(help="documents: scifact, a BEIR folder, or a .jsonl/.csv/.tsv/.txt file with text")
    ],
    dim: Annotated[int, typer.Option(help="prefix dim the shortlist is searched at (1..D; binary: a multiple of 8)")],
    out: Annotated[Path, typer.Option(help="index folder to create")],
    precision: Annotated[str, typer.Option(help="prefix precision: float32, int8 or binary")] = "float32",
    kind: Annotated[str, typer.Option(help="flat (exact), hnsw (graph) or auto (by corpus size)")] = "auto",
    backend: Annotated[str, typer.Option(help="faiss (files in --out) or qdrant (Qdrant Edge in --out, or --url)")] = (
        "faiss"
    ),
    rerank_precision: Annotated[str, typer.Option(help="full vectors kept for the re-rank: float16 or int8")] = (
        "float16"
    ),
    url: Annotated[str | None, typer.Option(help="Qdrant server or cluster URL (default: Qdrant Edge)")] = None,
    collection: Annotated[str | None, typer.Option(help="collection name on --url (default: mic-RANDOM)")] = None,
    chunk_size: Annotated[int, typer.Option(help="documents encoded and added per step (memory use)")] = 10_000,
    overwrite: Annotated[bool, typer.Option(help="replace an existing index at --out")] = False,
    data_dir: DataDirOption = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
) -> None:
    """Encode a corpus once and store its low-dim prefixes (shortlist) and full vectors (re-rank) as an index."""
    from mic.retrieval.index import build_index

    try:
        meta = build_index(model, corpus, out, dim=dim, precision=precision, kind=kind, backend=backend,
                           rerank_precision=rerank_precision, url=url, collection=collection, chunk_size=chunk_size,
                           batch_size=batch_size, data_dir=data_dir, device=device, overwrite=overwrite,
                           show_progress_bar=True)  # fmt: skip
    except user_errors() as error:
        fail(str(error))
    console.print(
        f"[green]Indexed[/] {meta.count} documents into {out}: {meta.kind} {meta.dim}-dim {meta.precision} "
        f"prefixes ({meta.bytes_per_vector} B/vector) on {meta.backend}, {meta.full_dim}-dim "
        f"{meta.rerank_precision} vectors for the re-rank.",
        highlight=False,
    )


@app.command(epilog=SEARCH_EXAMPLES)
def search(
    index: Annotated[Path, typer.Argument(help="index folder written by mic index")],
    query: Annotated[str | None, typer.Option(help="one query text")] = None,
    queries: Annotated[
        Path | None, typer.Option(help="query file: one per line (.txt), or .jsonl/.csv/.tsv with text (and _id)")
    ] = None,
    k: Annotated[int, typer.Option(help="hits per query")] = 10,
    shortlist: Annotated[int, typer.Option(help="candidates found on the prefix and re-ranked at full dim")] = 100,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the hits as JSON (mic-search/1)")] = None,
    model: Annotated[str | None, typer.Option(help="query model (default: the index's; must be the same)")] = None,
    url: Annotated[str | None, typer.Option(help="Qdrant server URL, overriding a server index's")] = None,
    batch_size: BatchSizeOption = 64,
    device: DeviceOption = None,
) -> None:
    """Search an index: encode the queries, shortlist on the prefix, re-rank at full dim, print the top k."""

    from rich.table import Table

    from mic.retrieval.corpus import Document, read_queries
    from mic.retrieval.index import open_index, results_to_dict, search_texts
    from mic.staging import check_file_target, write_json

    if (query is None) == (queries is None):
        fail("give exactly one of --query TEXT or --queries FILE.")
    try:
        if json_path is not None:
            check_file_target(json_path, "--json")
        texts = [Document("query", query, "--query")] if query is not None else read_queries(queries)
        opened = open_index(index, url=url)
        try:
            results = search_texts(opened, texts, k=k, shortlist=shortlist, model=model, batch_size=batch_size,
                                   device=device)  # fmt: skip
            record = results_to_dict(opened, results, k, shortlist)
        finally:
            opened.close()
    except user_errors() as error:
        fail(str(error))
    table = Table(title=f"{index}: top {k} of a {shortlist}-document shortlist")
    for column, justify in (("query", "left"), ("rank", "right"), ("document", "left"), ("cosine", "right")):
        table.add_column(column, justify=justify)
    for result in results:
        for rank, (identifier, score) in enumerate(result.hits, start=1):
            table.add_row(result.query_id if rank == 1 else "", str(rank), identifier, f"{score:.4f}")
    console.print(table)
    if json_path is not None:
        try:
            console.print(f"[green]Wrote[/] {write_json(record, json_path)}")
        except user_errors() as error:
            fail(str(error))


SERVE_EXAMPLES = """Examples:

  mic serve indexes/scifact-32

  mic serve indexes/scifact-32 --host 0.0.0.0 --port 8080"""


@app.command(epilog=SERVE_EXAMPLES)
def serve(
    index: Annotated[Path, typer.Argument(help="index folder written by mic index")],
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every network interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free port)")] = 8000,
    url: Annotated[str | None, typer.Option(help="Qdrant server URL, overriding a server index's")] = None,
    device: DeviceOption = None,
) -> None:
    """Serve an index over HTTP: POST /search, GET /health, docs at /docs; the model and index load once."""
    from mic.retrieval.service import create_app, listen, server

    try:
        listener = listen(host, port)  # before loading the model: a busy port fails fast
        service = create_app(index, url=url, device=device)
    except user_errors() as error:
        fail(str(error))
    bound_host, bound_port = listener.getsockname()[:2]
    address = f"[{bound_host}]" if ":" in bound_host else bound_host
    console.print(
        f"Serving {index} at http://{address}:{bound_port} (POST /search, GET /health, docs at /docs); "
        "press Ctrl+C to stop.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    server(service).run(sockets=[listener])


# --- adapter command (adapt) ---

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
) -> None:
    """Make a frozen encoder elastic: fit a post-hoc Matryoshka adapter on its cached embeddings."""
    from mic.adapt import AdaptConfig
    from mic.adapt.run import run_adapt, run_adapt_array, run_apply
    from mic.config import load_config
    from mic.data.sources import split_sources
    from mic.dims import parse_dims

    command = shlex.join(sys.argv)
    if embeddings is not None and adapter is not None:
        fail("give at most one of --embeddings FILE.npy (fit on vectors) and --adapter DIR (reuse an adapter).")
    try:
        options = {
            "model": ("MODEL", model),
            "data": ("--data", split_sources(data, "--data") if data is not None else None),
            "supervised": ("--supervised", True if supervised else None),
            "dims": ("--dims", parse_dims(dims)),
            "data_dir": ("--data-dir", data_dir),
            "fit.seed": ("--seed", seed),
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
            " (no token states: vectors from a file, or a model without a transformer)"
            if scr_form == "sentence"
            else ""
        )
        console.print(f"SCR used its {scr_form}-level form{reason}.", highlight=False)


if __name__ == "__main__":
    app()
