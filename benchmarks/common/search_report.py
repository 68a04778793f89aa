"""The report of ``benchmarks/search.py``: the issue's targets computed from the measured rows, the Pareto figure
and the Markdown.

A head-to-head row (``rows``) is one configuration: ``family`` (``exact``, ``mic``, or a peer family of
:mod:`common.peers`), ``variant`` (the MIC funnel's encoder backend and adapter), ``qps`` (1 / mean CPU seconds
per query), ``cpu_p50_ms``, ``p50_ms`` and ``p99_ms`` (wall), ``bytes_per_vector`` (the searched index, in
memory), ``rescore_bytes_per_vector`` (full vectors kept apart for the re-rank or rescoring), ``build_s``,
``recall_at_10`` (against exact 384-d search on the resampled corpus, or None), ``scifact_ndcg10`` and
``scifact_recall_at_10`` (against exact fp32 384-d search on the real corpus).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from common.funnel_report import pareto

LATENCY_BAR_MS = 5.0
KEEP_NDCG = 0.99
BUILD_SPEEDUP = 2.0
BUILD_NDCG_LOSS = 0.3
ADAPTER_KEEP_AT_32 = 0.75
INT8_ADAPTER_GAP = 0.3
INT8_ADAPTER_DIMS = (8, 16, 32, 64)
PEER_FAMILIES = ("hnsw", "ivfpq", "binary-int8")
STYLE = {
    "exact": ("k", "*"),
    "mic[torch]": ("C0", "o"),
    "mic[torch+adapter]": ("C9", "o"),
    "mic[onnx-int8]": ("C4", "o"),
    "mic[onnx-int8+adapter]": ("C6", "o"),
    "hnsw": ("C1", "s"),
    "ivfpq": ("C2", "D"),
    "binary-int8": ("C3", "^"),
}
"""Colour and marker of each group of the figure: a peer family, or the MIC funnel of one variant."""


def group(row: Mapping) -> str:
    """The figure's group of a row: ``mic[VARIANT]`` for a MIC funnel, else its family."""
    return f"mic[{row['variant']}]" if row["family"] == "mic" else row["family"]


def row_bytes(row: Mapping[str, object], total: bool) -> float:
    """Bytes per vector of a row: the searched index, plus the vectors kept for rescoring when ``total``."""
    return float(row["bytes_per_vector"]) + (float(row["rescore_bytes_per_vector"]) if total else 0.0)  # type: ignore[arg-type]


def peer_comparison(rows: Mapping[str, Mapping], quality: str = "scifact_recall_at_10", total: bool = False) -> dict:
    """Whether every peer row is beaten by a MIC funnel row of equal or better ``quality``, no more bytes per vector
    (:func:`row_bytes`) and more QPS.

    Returns ``{"met", "quality", "bytes", "beaten": {peer: fastest funnel beating it}, "unbeaten": {peer: {"qps",
    quality, "bytes", "best_funnel": the fastest funnel of equal quality and bytes, or None, and its qps}}}``.
    """
    funnels = {name: row for name, row in rows.items() if row["family"] == "mic" and row.get(quality) is not None}
    beaten, unbeaten = {}, {}
    for name, peer in rows.items():
        if peer["family"] not in PEER_FAMILIES or peer.get(quality) is None:
            continue
        eligible = [
            funnel
            for funnel, row in funnels.items()
            if row[quality] >= peer[quality] and row_bytes(row, total) <= row_bytes(peer, total)
        ]
        fastest = max(eligible, key=lambda funnel: funnels[funnel]["qps"], default=None)
        if fastest is not None and funnels[fastest]["qps"] > peer["qps"]:
            beaten[name] = fastest
        else:
            unbeaten[name] = {
                "qps": peer["qps"],
                quality: peer[quality],
                "bytes": row_bytes(peer, total),
                "best_funnel": fastest,
                "best_funnel_qps": None if fastest is None else funnels[fastest]["qps"],
            }
    return {
        "met": bool(beaten) and not unbeaten,
        "quality": quality,
        "bytes": "index + rescoring vectors" if total else "searched index (memory)",
        "beaten": beaten,
        "unbeaten": unbeaten,
    }


def latency_target(scale_rows: Mapping[str, Mapping], reference_ndcg: float) -> dict:
    """Query p50 end to end (encode + prefix search + re-rank; wall time, ``p50_ms``) at most
    :data:`LATENCY_BAR_MS` at scale, keeping :data:`KEEP_NDCG` of the fp32 exact full-dim SciFact nDCG@10: the
    fastest row keeping the quality, else the fastest row at all, with its CPU p50 and where its time goes."""
    keeping = {name: row for name, row in scale_rows.items() if row["scifact_ndcg10"] >= KEEP_NDCG * reference_ndcg}
    pool = keeping or scale_rows
    best = min(pool, key=lambda name: pool[name]["p50_ms"]) if pool else None
    row = scale_rows[best] if best is not None else {}
    return {
        "met": bool(keeping) and row["p50_ms"] <= LATENCY_BAR_MS,
        "bar_ms": LATENCY_BAR_MS,
        "keep_ndcg10": KEEP_NDCG,
        "config": best,
        "quality_kept": bool(keeping),
        "p50_ms": row.get("p50_ms"),
        "p99_ms": row.get("p99_ms"),
        "cpu_p50_ms": row.get("cpu_p50_ms"),
        "ndcg10_ratio": None if not row else row["scifact_ndcg10"] / reference_ndcg,
        "where_the_time_goes_ms": {part: row.get(f"{part}_ms") for part in ("encode", "adapter", "prefix", "rerank")},
    }


def build_docs_per_s(count: int, encoder_docs_per_s: float, rest_s: float) -> float:
    """Documents per second of a whole index build: ``count`` documents encoded at ``encoder_docs_per_s``, plus
    ``rest_s`` seconds of everything after encoding."""
    return count / (count / encoder_docs_per_s + rest_s)


def build_target(build: Mapping[str, Mapping], reference_ndcg: float, baseline: str = "torch") -> dict:
    """Index build at least :data:`BUILD_SPEEDUP` x the docs/s of ``baseline`` with at most :data:`BUILD_NDCG_LOSS`
    SciFact nDCG@10 lost at 384 dims: the fastest backend meeting both (only backends whose 384-d SciFact nDCG@10
    was measured can), else the closest.

    ``build``: per backend ``{"build_docs_per_s", "ndcg10_384"}`` (the latter None when not measured).
    """
    base = build[baseline]["build_docs_per_s"]
    verdicts = {}
    for backend, row in build.items():
        speedup = row["build_docs_per_s"] / base
        loss = None if row["ndcg10_384"] is None else reference_ndcg - row["ndcg10_384"]
        verdicts[backend] = {
            "speedup": speedup,
            "ndcg10_lost_384": loss,
            "met": speedup >= BUILD_SPEEDUP and loss is not None and loss <= BUILD_NDCG_LOSS,
        }
    meeting = [backend for backend, verdict in verdicts.items() if verdict["met"]]
    candidates = [backend for backend in verdicts if backend != baseline]
    best = max(meeting or candidates, key=lambda backend: verdicts[backend]["speedup"], default=None)
    return {
        "met": bool(meeting),
        "bars": {"speedup": BUILD_SPEEDUP, "ndcg10_lost_384": BUILD_NDCG_LOSS},
        "baseline": baseline,
        "backend": best,
        "backends": verdicts,
    }


def adapter_target(exact_by_dim: Mapping[str, Mapping[int, Mapping]], reference_ndcg: float) -> dict:
    """With the adapter, 32-dim exact search keeps at least :data:`ADAPTER_KEEP_AT_32` of the fp32 exact full-dim
    nDCG@10; the int8 encoder + adapter is within :data:`INT8_ADAPTER_GAP` of the fp32 encoder + adapter at
    :data:`INT8_ADAPTER_DIMS` (not lower by more).

    ``exact_by_dim``: per variant (``torch``, ``torch+adapter``, ``onnx-int8+adapter``...), per dim (a string, as
    JSON keeps it), ``{"ndcg10"}``.
    """
    kept = {variant: dims["32"]["ndcg10"] / reference_ndcg for variant, dims in exact_by_dim.items() if "32" in dims}
    adapted, int8 = exact_by_dim.get("torch+adapter"), exact_by_dim.get("onnx-int8+adapter")
    gaps = (
        {}
        if adapted is None or int8 is None
        else {
            dim: int8[str(dim)]["ndcg10"] - adapted[str(dim)]["ndcg10"]
            for dim in INT8_ADAPTER_DIMS
            if str(dim) in adapted and str(dim) in int8
        }
    )
    keep_met = kept.get("torch+adapter", 0.0) >= ADAPTER_KEEP_AT_32
    gap_met = bool(gaps) and min(gaps.values()) >= -INT8_ADAPTER_GAP
    return {
        "met": keep_met and gap_met,
        "bars": {"keep_at_32": ADAPTER_KEEP_AT_32, "int8_gap": INT8_ADAPTER_GAP},
        "kept_at_32": kept,
        "keep_met": keep_met,
        "int8_minus_fp32_with_adapter": gaps,
        "gap_met": gap_met,
    }


def plot(rows: Mapping[str, Mapping], path: Path, title: str) -> None:
    """SciFact recall@10 and nDCG@10 against QPS and against bytes per vector (searched index), one colour per
    peer family and per MIC variant, the Pareto fronts of the MIC funnels (dashed) and of the peers (dotted) joined."""
    figure, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    for row_index, (axis_key, label, better_low) in enumerate(
        (
            ("qps", "queries per second (1 thread, log)", False),
            ("bytes_per_vector", "bytes per vector of the searched index (log)", True),
        )
    ):
        for column, (metric, metric_label) in enumerate(
            (
                ("scifact_recall_at_10", "SciFact recall@10 vs exact fp32 384-d"),
                ("scifact_ndcg10", "SciFact test nDCG@10"),
            )
        ):
            ax = axes[row_index][column]
            named = [name for name, row in rows.items() if row.get(metric) is not None]
            for label_name, (color, marker) in STYLE.items():
                chosen = [name for name in named if group(rows[name]) == label_name]
                ax.scatter(
                    [rows[name][axis_key] for name in chosen],
                    [rows[name][metric] for name in chosen],
                    c=color,
                    marker=marker,
                    s=60 if label_name == "exact" else 22,
                    alpha=0.75,
                    label=label_name,
                )
            for families, style in ((("mic",), "--"), (PEER_FAMILIES, ":")):
                members = [name for name in named if rows[name]["family"] in families]
                points = [(-rows[n][axis_key] if better_low else rows[n][axis_key], rows[n][metric]) for n in members]
                front = sorted((members[i] for i in pareto(points)), key=lambda name: rows[name][axis_key])
                ax.plot([rows[n][axis_key] for n in front], [rows[n][metric] for n in front], "k" + style, lw=0.8)
                for name in front:
                    ax.annotate(name, (rows[name][axis_key], rows[name][metric]), fontsize=5)
            ax.set_xscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel(metric_label)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    plt.close(figure)


def fmt(value: object, digits: int = 2) -> str:
    """A table cell: a number to ``digits`` decimals, ``–`` for None."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: Sequence[str], lines: Sequence[Sequence[object]], digits: int = 2) -> list[str]:
    """A Markdown table, numbers right-aligned."""
    return [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        *("| " + " | ".join(fmt(cell, digits) for cell in line) + " |" for line in lines),
    ]


def unbeaten_note(name: str, row: Mapping, quality: str) -> str:
    """A peer no funnel beats: its QPS and the fastest funnel of its quality and bytes, if any."""
    best = row["best_funnel"]
    funnel = "none" if best is None else f"{best}, {fmt(row['best_funnel_qps'], 0)} QPS"
    return f"{name} ({fmt(row['qps'], 0)} QPS; fastest funnel at its {quality} and bytes: {funnel})"


def target_lines(results: Mapping) -> list[str]:
    """The targets table: each target's bar, what was measured and whether it was met."""
    target, scale_n = results["target"], results["resampled"]["scale"]["documents"]
    peer_n = results["resampled"]["head_to_head"]["documents"]
    latency, build, adapter = target["query_latency"], target["build"], target["adapter"]
    parts = ", ".join(f"{part} {fmt(value)}" for part, value in latency["where_the_time_goes_ms"].items())
    lines = []
    for key, label in (
        ("more_qps_than_peers", "searched index"),
        ("more_qps_than_peers_total_bytes", "index + rescoring vectors"),
        ("more_qps_than_peers_resampled_recall", "searched index"),
    ):
        verdict = target[key]
        quality = "SciFact recall@10" if verdict["quality"] == "scifact_recall_at_10" else "resampled recall@10"
        unbeaten = "; ".join(unbeaten_note(name, row, quality) for name, row in verdict["unbeaten"].items())
        lines.append(
            [
                f"more QPS than every peer at {peer_n:,} (resampled), equal or better {quality}, no more bytes "
                f"per vector ({label})" + (" — the issue's target" if key == "more_qps_than_peers" else ""),
                f"{len(verdict['beaten'])} of {len(verdict['beaten']) + len(verdict['unbeaten'])} peer "
                f"configs beaten" + (f"; unbeaten: {unbeaten}" if unbeaten else ""),
                "met" if verdict["met"] else "missed",
            ]
        )
    lines.insert(
        0,
        [
            f"query p50 end to end ≤ {latency['bar_ms']:g} ms at {scale_n:,} (resampled), keeping ≥ "
            f"{latency['keep_ndcg10']:.0%} of fp32 exact 384-d SciFact nDCG@10",
            f"`{latency['config']}`: p50 {fmt(latency['p50_ms'])} ms wall ({fmt(latency['cpu_p50_ms'])} ms CPU), p99 "
            f"{fmt(latency['p99_ms'])} ms wall; mean CPU ms: {parts}; "
            f"nDCG@10 ratio {fmt(latency['ndcg10_ratio'], 3)}"
            + ("" if latency["quality_kept"] else " (no configuration kept the quality)"),
            "met" if latency["met"] else "missed",
        ],
    )
    speeds = "; ".join(
        f"{backend} {verdict['speedup']:.2f}x"
        + ("" if verdict["ndcg10_lost_384"] is None else f", nDCG@10 at 384 {-verdict['ndcg10_lost_384']:+.2f}")
        for backend, verdict in build["backends"].items()
        if backend != build["baseline"]
    )
    lines.append(
        [
            f"index build ≥ {build['bars']['speedup']:g}x the docs/s of torch fp32, "
            f"≤ {build['bars']['ndcg10_lost_384']:g} SciFact nDCG@10 lost at 384 dims",
            f"against torch fp32: {speeds}",
            "met" if build["met"] else "missed",
        ]
    )
    kept = adapter["kept_at_32"]
    gaps = ", ".join(f"{dim}: {value:+.2f}" for dim, value in adapter["int8_minus_fp32_with_adapter"].items())
    lines.append(
        [
            f"with the adapter, 32-d exact search keeps ≥ {adapter['bars']['keep_at_32']:.0%} of fp32 full-dim "
            "nDCG@10; "
            f"int8 encoder + adapter within {adapter['bars']['int8_gap']:g} of fp32 + adapter at 8–64 dims",
            f"kept at 32: {', '.join(f'{name} {value:.1%}' for name, value in kept.items())}; int8 − fp32 (adapter): "
            f"{gaps}",
            "met" if adapter["met"] else "missed",
        ]
    )
    return table(["target", "measured", "verdict"], lines)


def markdown(results: Mapping) -> str:
    """The whole report."""
    rows, scale = results["head_to_head"], results["scale"]
    reference = results["reference_ndcg10"]
    head_n = results["resampled"]["head_to_head"]["documents"]
    scale_n = results["resampled"]["scale"]["documents"]
    provenance = results["provenance"]
    lines = [
        "# The corpus-adaptive funnel end to end, against the peers (`benchmarks/search.py`)",
        "",
        *(
            ["**`--quick` smoke test: small sizes, short adapter fit, few sweeps; not a result.**", ""]
            if results["quick"]
            else []
        ),
        f"Command: `{results['command']}`; seed {results['seed']}; commit {provenance['git_commit']}"
        f"{' (+ uncommitted changes)' if provenance['git_dirty'] else ''}; {provenance['machine']}; threads: "
        f"{results['threads']}; FAISS {results['faiss']}; {results['seconds'] / 60:.0f} min.",
        "",
        f"Model {results['model']}. Quality: {results['split']}; recall@10 is against exact fp32 384-d search, "
        f"nDCG@10 by pytrec_eval (fp32 exact 384-d: {reference:.2f}). Adapter: {results['adapter']}. Speed: "
        f"**resampled** corpora ({results['resampled']['how']}), the real test queries, one query at a time on one "
        f"thread: the head-to-head at {head_n:,} vectors, end to end at {scale_n:,}.",
        "",
        f"**Targets: {'all met' if results['target']['met'] else 'not all met'}.**",
        "",
        *target_lines(results),
        "",
        f"## End to end at {scale_n:,} resampled vectors",
        "",
        "One query at a time; p50/p99 in wall time (the machine is shared, so it counts waits for a core) and p50 "
        "in CPU time; the parts in mean CPU milliseconds. Each query's text is encoded by the query encoder `mic "
        "search` loads for that index (onnx-int8: the light ONNX path; torch: the model), mapped by the adapter "
        "(`+adapter`: fitted on the evaluated corpus's documents), shortlisted on the prefix and re-ranked from "
        "float16 full vectors. nDCG@10 and SciFact recall@10: the same variant and configuration on the real corpus; "
        "recall@10 resampled: against exact search of the resampled corpus (the fp32 variant only: the corpus is "
        "resampled from its vectors).",
        "",
        *table(
            [
                "config",
                "p50 ms",
                "p99 ms",
                "CPU p50 ms",
                "encode ms",
                "adapter ms",
                "prefix ms",
                "re-rank ms",
                "nDCG@10",
                "ratio",
                "SciFact recall@10",
                "recall@10 resampled",
            ],
            [
                [
                    name,
                    row["p50_ms"],
                    row["p99_ms"],
                    row["cpu_p50_ms"],
                    row["encode_ms"],
                    row["adapter_ms"],
                    row["prefix_ms"],
                    row["rerank_ms"],
                    row["scifact_ndcg10"],
                    row["scifact_ndcg10"] / reference,
                    row["scifact_recall_at_10"],
                    row["recall_at_10"],
                ]
                for name, row in sorted(scale.items(), key=lambda item: item[1]["p50_ms"])
            ],
            3,
        ),
        "",
        *service_lines(results),
        "",
        f"## Head-to-head at {head_n:,} resampled vectors",
        "",
        "QPS: one core's throughput of the search alone, 1 / mean CPU seconds per query (the query encoding, the "
        "same for all, is apart; wall-time QPS is in `search.json`); p50 in CPU and wall time. A MIC variant with "
        "the adapter (fitted on the evaluated corpus's documents) adds its mean transform time. B/vector: the "
        "searched index (memory); rescore B: the vectors kept apart for the re-rank (MIC: float16) or the rescoring "
        "(binary-int8: int8), memory-mapped from disk in the library and in the recipe (held in memory here). Every "
        "MIC configuration is in `search.json`; below, the peers, the reference, the funnels on the Pareto front "
        "of SciFact recall@10 vs QPS, and each funnel that beats a peer.",
        "",
    ]
    front_points = [(row["qps"], row["scifact_recall_at_10"]) for row in rows.values() if row["family"] == "mic"]
    mic_names = [name for name, row in rows.items() if row["family"] == "mic"]
    shown = {mic_names[i] for i in pareto(front_points)} | set(
        results["target"]["more_qps_than_peers"]["beaten"].values()
    )
    chosen = [name for name, row in rows.items() if row["family"] != "mic" or name in shown]
    lines += table(
        [
            "config",
            "QPS",
            "CPU p50 ms",
            "wall p50 ms",
            "wall p99 ms",
            "B/vector",
            "rescore B",
            "build s",
            "recall@10 resampled",
            "SciFact recall@10",
            "nDCG@10",
        ],
        [
            [
                name,
                rows[name]["qps"],
                rows[name]["cpu_p50_ms"],
                rows[name]["p50_ms"],
                rows[name]["p99_ms"],
                rows[name]["bytes_per_vector"],
                rows[name]["rescore_bytes_per_vector"],
                rows[name]["build_s"],
                rows[name]["recall_at_10"],
                rows[name]["scifact_recall_at_10"],
                rows[name]["scifact_ndcg10"],
            ]
            for name in sorted(chosen, key=lambda name: (rows[name]["family"] != "mic", -rows[name]["qps"]))
        ],
        3,
    )
    lines += ["", "![Pareto](search.png)", "", "## SciFact exact search at every dim (nDCG@10)", ""]
    by_dim = results["exact_by_dim"]
    dims = sorted({int(dim) for values in by_dim.values() for dim in values})
    lines += table(
        ["variant", *map(str, dims)],
        [[name, *(values[str(dim)]["ndcg10"] for dim in dims)] for name, values in by_dim.items()],
    )
    lines += ["", *build_lines(results), ""]
    return "\n".join(lines)


def service_lines(results: Mapping) -> list[str]:
    """The SciFact index queried through the Python API and through ``mic serve``."""
    api, serve = results["api"], results["serve"]
    build = results["builds"]["onnx-int8"]
    lines = [
        "## Through the Python API and `mic serve` (SciFact index: onnx-int8 encoder + adapter)",
        "",
        f"`search_encoded` one query at a time ({api['encoder']}, the index's calibrated shortlist "
        f"{api['shortlist']}): p50 {api['p50_ms']:.2f} ms wall ({api['cpu_p50_ms']:.2f} ms CPU), p99 "
        f"{api['p99_ms']:.2f} ms wall over {api['timed_queries']} queries; encode alone {api['encode_ms']:.2f} ms, "
        f"search alone {api['search_ms']:.2f} ms (mean CPU). `mic serve` (wall time at the clients, over HTTP on "
        f"127.0.0.1) listened {serve['startup_s']:.1f} s after launch (the start-up every `mic search` call pays).",
        "",
    ]
    lines += table(
        ["clients", "requests", "failures", "wall p50 ms", "wall p99 ms", "requests/s", "server CPU ms/request"],
        [
            [
                round_["clients"],
                round_["requests"],
                round_["failures"],
                round_.get("p50_ms"),
                round_.get("p99_ms"),
                round_["requests_per_s"],
                round_["server_cpu_ms_per_request"],
            ]
            for round_ in serve["rounds"]
        ],
    )
    calibration = build.get("calibration") or {}
    lines += [
        "",
        f"Calibrated shortlist of that index: {calibration.get('depth')} (recall@10 by depth "
        f"{calibration.get('recalls')}).",
    ]
    return lines


def build_lines(results: Mapping) -> list[str]:
    """Encoder docs/s per backend and each SciFact index's build phases."""
    encoders, builds = results["encoders"], results["builds"]
    base = encoders["torch"]
    lines = [
        "## Build",
        "",
        "Encoder docs/s (per CPU second): the first SciFact documents, every backend taking turns on chunks of "
        "them; cosine to the "
        "cached torch vectors of the same documents. Build docs/s: SciFact's documents at that rate plus the rest "
        "of the onnx-int8 index's build (build + calibrate, measured); nDCG@10 at 384: exact search of the whole "
        "corpus encoded by that backend (– : not encoded here).",
        "",
    ]
    lines += table(
        ["backend", "docs/s", "x torch", "cosine mean", "cosine min", "build docs/s", "x torch", "nDCG@10 384"],
        [
            [
                backend,
                row["docs_per_s"],
                row["docs_per_s"] / base["docs_per_s"],
                row["cosine_to_torch"]["mean"],
                row["cosine_to_torch"]["min"],
                row["build_docs_per_s"],
                row["build_docs_per_s"] / base["build_docs_per_s"],
                row["ndcg10_384"],
            ]
            for backend, row in encoders.items()
        ],
        3,
    )
    lines += ["", "Index builds (`build_index`, `adapt=True`), seconds per phase:", ""]
    lines += table(
        ["encoder backend", "encode", "encode from", "fit", "build", "calibrate", "total"],
        [
            [
                backend,
                row["seconds"].get("encode"),
                "encoded in this run"
                if not row["encode_from_cache"]
                else f"embedding cache (encoded in {fmt(row['cached_encode_s'], 0)} s when it was written)",
                row["seconds"].get("fit"),
                row["seconds"].get("build"),
                row["seconds"].get("calibrate"),
                row["total_s"],
            ]
            for backend, row in builds.items()
        ],
    )
    return lines
