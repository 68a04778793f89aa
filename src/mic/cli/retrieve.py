"""Retrieval commands: ``mic index`` (encode a corpus once), ``mic search`` (funnel search of an index) and
``mic serve`` (an index over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mic.cli.common import (
    AllowBackendMismatchOption,
    BatchSizeOption,
    DataDirOption,
    DeviceOption,
    ModelArgument,
    QueryBackendOption,
    app,
    check_new_file,
    console,
    fail,
    refuse_unused,
    user_errors,
)
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.retrieval.defaults import (
    DEFAULT_CALIBRATION_QUERIES,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_INDEX_BACKEND,
    DEFAULT_INDEX_ENCODER_BACKEND,
    DEFAULT_K,
    DEFAULT_KIND,
    DEFAULT_PRECISION,
    DEFAULT_RERANK_PRECISION,
    DEFAULT_TARGET_RECALL,
)

INDEX_EXAMPLES = """Examples:

  mic index default scifact --dim 32 --out indexes/scifact-32

  mic index runs/mic/final docs.jsonl --dim 64 --precision int8 --kind hnsw --out indexes/docs

  mic index default scifact --dim 32 --adapt --target-recall 0.95 --out indexes/scifact-32-adapted

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
    precision: Annotated[str, typer.Option(help="prefix precision: float32, int8 or binary")] = DEFAULT_PRECISION,
    kind: Annotated[str, typer.Option(help="flat (exact), hnsw (graph) or auto (by corpus size)")] = DEFAULT_KIND,
    backend: Annotated[
        str, typer.Option(help="faiss (files in --out) or qdrant (Qdrant Edge in --out, or --url)")
    ] = DEFAULT_INDEX_BACKEND,
    rerank_precision: Annotated[
        str, typer.Option(help="full vectors kept for the re-rank: float16 or int8")
    ] = DEFAULT_RERANK_PRECISION,
    url: Annotated[str | None, typer.Option(help="Qdrant server or cluster URL (default: Qdrant Edge)")] = None,
    collection: Annotated[str | None, typer.Option(help="collection name on --url (default: mic-RANDOM)")] = None,
    chunk_size: Annotated[int, typer.Option(help="documents encoded and added per step (memory use)")] = (
        DEFAULT_CHUNK_SIZE
    ),
    overwrite: Annotated[bool, typer.Option(help="replace an existing index at --out")] = False,
    adapt: Annotated[bool, typer.Option(help="fit mic adapt's adapter on the documents; index through it")] = False,
    adapt_sample: Annotated[int | None, typer.Option(help="fit the adapter on this many documents (default: all)")] = (
        None
    ),
    target_recall: Annotated[float, typer.Option(help="recall@10 vs exact search the default shortlist must keep")] = (
        DEFAULT_TARGET_RECALL
    ),
    calibration_queries: Annotated[int, typer.Option(help="documents sampled as queries for --target-recall")] = (
        DEFAULT_CALIBRATION_QUERIES
    ),
    data_dir: DataDirOption = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    device: DeviceOption = None,
    encoder_backend: Annotated[
        str | None,
        typer.Option(
            help="encoder of documents and queries: torch, onnx or onnx-int8 (exported once, cached); default: "
            f"{DEFAULT_INDEX_ENCODER_BACKEND} for a transformer model, torch for one with no transformer (wordllama)"
        ),
    ] = None,
) -> None:
    """Encode a corpus once and store its low-dim prefixes (shortlist) and full vectors (re-rank) as an index."""
    from mic.retrieval.index import build_index

    def report(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    if backend == "faiss":
        refuse_unused({"--url": url is not None, "--collection": collection is not None}, "without --backend qdrant",
                      "the faiss index is local files in --out", "add --backend qdrant")  # fmt: skip
    refuse_unused({"--adapt-sample": adapt_sample is not None and not adapt}, "without --adapt",
                  "it is how many documents the adapter is fitted on", "add --adapt")  # fmt: skip
    try:
        meta = build_index(model, corpus, out, dim=dim, precision=precision, kind=kind, backend=backend,
                           rerank_precision=rerank_precision, url=url, collection=collection, chunk_size=chunk_size,
                           batch_size=batch_size, data_dir=data_dir, device=device, overwrite=overwrite,
                           show_progress_bar=True, adapt=adapt, adapt_sample=adapt_sample,
                           target_recall=target_recall, calibration_queries=calibration_queries,
                           report=report, encoder_backend=encoder_backend)  # fmt: skip
    except user_errors() as error:
        fail(str(error))
    console.print(
        f"[green]Indexed[/] {meta.count} documents into {out}: {meta.kind} {meta.dim}-dim {meta.precision} "
        f"prefixes ({meta.bytes_per_vector} B/vector) on {meta.backend}, {meta.full_dim}-dim "
        f"{meta.rerank_precision} vectors for the re-rank"
        + (", through the adapter fitted on them." if meta.adapter else "."),
        highlight=False,
    )
    if meta.calibration is not None:
        console.print(f"Default {meta.calibration.summary()}.", markup=False, highlight=False, soft_wrap=True)


@app.command(epilog=SEARCH_EXAMPLES)
def search(
    index: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="index folder written by mic index")],
    query: Annotated[str | None, typer.Option(help="one query text")] = None,
    queries: Annotated[
        Path | None, typer.Option(help="query file: one per line (.txt), or .jsonl/.csv/.tsv with text (and _id)")
    ] = None,
    k: Annotated[int, typer.Option(help="hits per query")] = DEFAULT_K,
    shortlist: Annotated[
        int | None, typer.Option(help="candidates found on the prefix and re-ranked at full dim (default: calibrated)")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the hits as JSON (mic-search/1)")] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing --json file")] = False,
    model: Annotated[str | None, typer.Option(help="query model (default: the index's; must be the same)")] = None,
    url: Annotated[str | None, typer.Option(help="Qdrant server URL, overriding a server index's")] = None,
    batch_size: BatchSizeOption = DEFAULT_BATCH_SIZE,
    device: DeviceOption = None,
    encoder_backend: QueryBackendOption = None,
    allow_backend_mismatch: AllowBackendMismatchOption = False,
) -> None:
    """Search an index: encode the queries, shortlist on the prefix, re-rank at full dim, print the top k."""

    from rich.table import Table

    from mic.retrieval.backends import check_url
    from mic.retrieval.corpus import Document, read_queries
    from mic.retrieval.index import open_index, read_meta, results_to_dict, search_texts
    from mic.staging import write_json

    if (query is None) == (queries is None):
        fail("give exactly one of --query TEXT or --queries FILE.")
    try:
        check_new_file(json_path, "--json", overwrite)
        meta = read_meta(index.expanduser())
        check_url(index, meta.backend, meta.backend_fields, url)
        meta.check_k(k, "--k")  # as mic serve answers a request for more hits than the index holds
        texts = [Document("query", query, "--query")] if query is not None else read_queries(queries)
        opened = open_index(index, url=url)
        shortlist = opened.default_shortlist(k) if shortlist is None else shortlist
        try:
            results = search_texts(opened, texts, k=k, shortlist=shortlist, model=model, batch_size=batch_size,
                                   device=device, encoder_backend=encoder_backend,
                                   allow_backend_mismatch=allow_backend_mismatch)  # fmt: skip
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
    index: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="index folder written by mic index")],
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every network interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free port)")] = 8000,
    url: Annotated[str | None, typer.Option(help="Qdrant server URL, overriding a server index's")] = None,
    device: DeviceOption = None,
    encoder_backend: QueryBackendOption = None,
    allow_backend_mismatch: AllowBackendMismatchOption = False,
) -> None:
    """Serve an index over HTTP: POST /search, GET /health, docs at /docs; the model and index load once."""
    from mic.retrieval.backends import check_url
    from mic.retrieval.index import read_meta
    from mic.retrieval.service import create_app, listen, server

    try:
        meta = read_meta(index.expanduser())
        check_url(index, meta.backend, meta.backend_fields, url)
        listener = listen(host, port)  # before loading the model: a busy port fails fast
        service = create_app(index, url=url, device=device, encoder_backend=encoder_backend,
                             allow_backend_mismatch=allow_backend_mismatch)  # fmt: skip
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
