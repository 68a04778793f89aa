"""The pieces of ``benchmarks/search.py`` on synthetic numbers and tiny vectors: the peers' names, sizes and
searches, and the targets computed from measured rows. Nothing is timed."""

from __future__ import annotations

import numpy as np
import pytest

from common.funnel import K
from common.funnel_report import FULL_DIM
from common.peers import BinaryRescorePeer, HnswPeer, IvfPqPeer, PeerConfig, PeerSweep, nlist_for, peer_configs
from common.search_report import (
    adapter_target,
    build_docs_per_s,
    build_target,
    latency_target,
    peer_comparison,
)


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, FULL_DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def row(family: str, qps: float, recall: float, size: float, rescore: float = 0.0) -> dict:
    return {"family": family, "qps": qps, "scifact_recall_at_10": recall, "bytes_per_vector": size,
            "rescore_bytes_per_vector": rescore, "recall_at_10": None}  # fmt: skip


def test_nlist_follows_the_square_root_rule_rounded_to_a_power_of_two() -> None:
    assert nlist_for(200_000, 1) == 512  # sqrt = 447
    assert nlist_for(200_000, 4) == 2048  # 1789
    assert nlist_for(1_000_000, 4) == 4096
    assert nlist_for(1, 1) == 1


def test_a_peer_config_names_its_family_index_and_setting() -> None:
    assert PeerConfig("hnsw", "M16", 64).name == "hnsw-M16-ef64"
    assert PeerConfig("ivfpq", "nlist4x", 16).name == "ivfpq-nlist4x-nprobe16"
    assert PeerConfig("binary-int8", "flat", 10).name == "binary-int8-flat-x10"


def test_peer_configs_cap_nprobe_at_the_lists_of_the_index() -> None:
    sweep = PeerSweep(ef_search=(16,), nlist_multipliers=(1,), nprobe=(1, 4, 64), rescore_multipliers=(4,))
    indexes = {"hnsw/M16": HnswPeer(), "ivfpq/nlist1x": IvfPqPeer(4, seed=0),
               "binary-int8/flat": BinaryRescorePeer(10, unit_rows(10, 0))}  # fmt: skip
    names = sorted(config.name for config in peer_configs(sweep, indexes))
    assert names == ["binary-int8-flat-x4", "hnsw-M16-ef16", "ivfpq-nlist1x-nprobe1", "ivfpq-nlist1x-nprobe4"]


def test_the_binary_recipe_finds_each_document_from_its_own_vector_and_counts_its_bytes() -> None:
    documents = unit_rows(200, 1)
    peer = BinaryRescorePeer(200, calibration=documents)
    peer.add(documents[:120])
    peer.add(documents[120:])
    rows = peer.search(documents[:5], setting=4)
    assert rows.shape == (5, K)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert peer.bytes() / 200 == pytest.approx(FULL_DIM / 8, abs=1.0)
    assert peer.rescore_bytes() == 200 * FULL_DIM


def test_the_hnsw_peer_returns_k_rows_best_first() -> None:
    documents = unit_rows(300, 2)
    peer = HnswPeer()
    peer.add(documents)
    assert peer.search(documents[:3], setting=64)[:, 0].tolist() == [0, 1, 2]


def test_a_peer_is_beaten_only_by_a_faster_funnel_at_least_as_good_and_no_larger() -> None:
    rows = {
        "fast-good-small": row("mic", 900, 0.95, 32),
        "faster-worse": row("mic", 5000, 0.5, 8),
        "hnsw": row("hnsw", 800, 0.95, 1700),
        "ivfpq": row("ivfpq", 2000, 0.6, 56),
        "exact": row("exact", 50, 1.0, 1536),
    }
    verdict = peer_comparison(rows)
    assert verdict["beaten"] == {"hnsw": "fast-good-small"}
    # the 32 B funnel reaches the IVF-PQ's recall within its bytes, but is slower
    unbeaten = verdict["unbeaten"]["ivfpq"]
    assert (unbeaten["best_funnel"], unbeaten["best_funnel_qps"]) == ("fast-good-small", 900)
    assert not verdict["met"]
    rows["ivfpq"]["qps"] = 100
    assert peer_comparison(rows)["met"]


def test_counting_the_rescoring_vectors_can_lose_the_bytes_comparison() -> None:
    rows = {"funnel": row("mic", 900, 0.9, 32, rescore=768), "binary": row("binary-int8", 100, 0.8, 48, rescore=384)}
    assert peer_comparison(rows)["met"]
    total = peer_comparison(rows, total=True)
    assert not total["met"] and total["unbeaten"]["binary"]["bytes"] == 432


def test_the_latency_target_takes_the_fastest_configuration_keeping_the_quality() -> None:
    scale = {
        "fast-bad": {"p50_ms": 1.0, "p99_ms": 2.0, "scifact_ndcg10": 50.0, "encode_ms": 0.5},
        "slow-good": {"p50_ms": 6.0, "p99_ms": 9.0, "scifact_ndcg10": 64.0, "encode_ms": 4.0},
        "ok": {"p50_ms": 4.5, "p99_ms": 7.0, "scifact_ndcg10": 63.9, "encode_ms": 3.0},
    }
    verdict = latency_target(scale, reference_ndcg=64.5)
    assert verdict["met"] and verdict["config"] == "ok"
    assert verdict["where_the_time_goes_ms"]["encode"] == 3.0
    del scale["ok"]
    assert not latency_target(scale, reference_ndcg=64.5)["met"]  # the one keeping the quality takes 6 ms
    alone = latency_target({"fast-bad": scale["fast-bad"]}, reference_ndcg=64.5)
    assert not alone["met"] and not alone["quality_kept"] and alone["config"] == "fast-bad"


def test_build_docs_per_s_adds_the_rest_of_the_build_to_the_encoding() -> None:
    assert build_docs_per_s(1000, encoder_docs_per_s=10.0, rest_s=100.0) == pytest.approx(5.0)


def test_the_build_target_needs_both_the_speed_up_and_a_measured_quality() -> None:
    build = {
        "torch": {"build_docs_per_s": 10.0, "ndcg10_384": 64.5},
        "onnx": {"build_docs_per_s": 25.0, "ndcg10_384": None},
        "onnx-int8": {"build_docs_per_s": 30.0, "ndcg10_384": 64.3},
    }
    verdict = build_target(build, reference_ndcg=64.5)
    assert verdict["met"] and verdict["backend"] == "onnx-int8"
    assert verdict["backends"]["onnx-int8"]["ndcg10_lost_384"] == pytest.approx(0.2)
    assert not verdict["backends"]["onnx"]["met"]  # fast enough, but its quality was not measured
    build["onnx-int8"]["ndcg10_384"] = 64.0
    assert not build_target(build, reference_ndcg=64.5)["met"]


def test_the_adapter_target_checks_the_32_dim_share_and_the_int8_gap() -> None:
    def dims(values: dict[int, float]) -> dict[int, dict]:
        return {str(dim): {"ndcg10": value} for dim, value in values.items()}

    scores = {
        "torch": dims({8: 20, 16: 28, 32: 34, 64: 45}),
        "torch+adapter": dims({8: 30, 16: 40, 32: 49, 64: 58}),
        "onnx-int8+adapter": dims({8: 29.8, 16: 39.9, 32: 48.8, 64: 58.1}),
    }
    verdict = adapter_target(scores, reference_ndcg=64.5)
    assert verdict["met"]
    assert verdict["kept_at_32"]["torch"] == pytest.approx(34 / 64.5)
    assert verdict["int8_minus_fp32_with_adapter"][8] == pytest.approx(-0.2)
    scores["onnx-int8+adapter"]["16"]["ndcg10"] = 39.6
    assert not adapter_target(scores, reference_ndcg=64.5)["gap_met"]
    scores["torch+adapter"]["32"]["ndcg10"] = 45
    assert not adapter_target(scores, reference_ndcg=64.5)["keep_met"]
