"""The peers a user would pick instead of the funnel, for ``benchmarks/search.py``: each is an index over the full
384-d vectors, built chunk by chunk and searched one query at a time on one thread.

- ``hnsw``: FAISS ``IndexHNSWFlat`` (M = :data:`~mic.retrieval.backends.HNSW_M`, FAISS's default efConstruction 40),
  float32, inner product; searched with efSearch swept.
- ``ivfpq``: FAISS ``IndexIVFPQ`` (a flat inner-product coarse quantizer of ``nlist`` lists, PQ of
  :data:`PQ_SUBQUANTIZERS` 8-bit codes: 48 B per vector, the bytes of the full vector's sign bits), ``nlist`` by the
  usual rule ``c * sqrt(N)`` rounded to a power of two (:func:`nlist_for`), trained on a sample of the first
  chunk (:data:`IVF_TRAIN_PER_LIST` per list, at least :data:`PQ_TRAIN`); searched with nprobe swept.
- ``binary-int8``: sentence-transformers' binary quantization recipe: the full vector's sign bits
  (``quantize_embeddings(x, "ubinary")``, 48 B) in a FAISS ``IndexBinaryFlat`` searched by Hamming distance for
  ``k * rescore_multiplier`` candidates, rescored by the float32 query against int8 document vectors
  (``quantize_embeddings(x, "int8", calibration_embeddings=...)``, per-dim ranges of a calibration sample, kept
  apart from the searched index: on disk in the recipe) as ``query @ int8.T``, and the best ``k`` kept.

A config is one built index and one search setting (:class:`PeerConfig`); bytes per vector are the searched
index's serialized size (what it holds in memory) and, apart, the rescoring vectors'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import faiss
import numpy as np
from sentence_transformers.util.quantization import quantize_embeddings

from common.funnel import K, index_bytes
from common.funnel_report import FULL_DIM
from mic.retrieval.backends import HNSW_M

PQ_SUBQUANTIZERS = 48
IVF_TRAIN_PER_LIST = 40
"""Training vectors per inverted list (FAISS asks for at least 39), taken from the first chunk."""
PQ_TRAIN = 40 * 256
"""Training vectors the product quantizer needs at least (256 centroids per sub-quantizer), whatever ``nlist``."""
SETTING_NAMES = {"hnsw": "ef", "ivfpq": "nprobe", "binary-int8": "x"}
"""How a config name writes its search setting: efSearch, nprobe, rescore multiplier."""


@dataclass(frozen=True)
class PeerConfig:
    """One peer search: a family, the index it searches (``build``, e.g. ``nlist1x``) and its search setting."""

    family: str
    build: str
    setting: int

    @property
    def name(self) -> str:
        return f"{self.family}-{self.build}-{SETTING_NAMES[self.family]}{self.setting}"


def nlist_for(count: int, multiplier: int) -> int:
    """IVF lists for ``count`` vectors: ``multiplier * sqrt(count)`` rounded to the nearest power of two, at least 1."""
    return 2 ** max(0, round(math.log2(multiplier * math.sqrt(count))))


class PeerIndex(Protocol):
    """A peer index: fed ``(n, 384)`` unit vectors chunk by chunk, searched with a setting; ``params`` says how it
    was built."""

    params: dict[str, object]

    def add(self, chunk: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, setting: int) -> np.ndarray:
        """``(Q, K)`` rows of the best documents for ``(Q, 384)`` unit queries."""
        ...

    def bytes(self) -> int:
        """Serialized bytes of the searched index."""
        ...

    def rescore_bytes(self) -> int:
        """Bytes of vectors kept apart for rescoring (0 for none)."""
        ...


class FaissPeer:
    """A FAISS index over the full vectors (``index``), searched with the parameters of a setting."""

    index: faiss.Index

    def add(self, chunk: np.ndarray) -> None:
        self.index.add(chunk)

    def search_parameters(self, setting: int) -> faiss.SearchParameters:
        raise NotImplementedError

    def search(self, queries: np.ndarray, setting: int) -> np.ndarray:
        return self.index.search(queries, K, params=self.search_parameters(setting))[1]

    def bytes(self) -> int:
        return index_bytes(self.index)

    def rescore_bytes(self) -> int:
        return 0


class HnswPeer(FaissPeer):
    """FAISS HNSW over the full float32 vectors; the setting is efSearch."""

    def __init__(self) -> None:
        self.index = faiss.IndexHNSWFlat(FULL_DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        self.params = {"M": HNSW_M, "efConstruction": self.index.hnsw.efConstruction, "vectors": "float32"}

    def search_parameters(self, setting: int) -> faiss.SearchParameters:
        return faiss.SearchParametersHNSW(efSearch=setting)


class IvfPqPeer(FaissPeer):
    """FAISS IVF-PQ over the full vectors, trained on a seeded sample of the first chunk; the setting is nprobe."""

    def __init__(self, nlist: int, seed: int) -> None:
        self.nlist, self.seed = nlist, seed
        quantizer = faiss.IndexFlatIP(FULL_DIM)
        self.index = faiss.IndexIVFPQ(quantizer, FULL_DIM, nlist, PQ_SUBQUANTIZERS, 8, faiss.METRIC_INNER_PRODUCT)
        self.quantizer = quantizer  # the IVF index does not own it
        self.params = {"nlist": nlist, "pq_subquantizers": PQ_SUBQUANTIZERS, "pq_bits": 8}

    def add(self, chunk: np.ndarray) -> None:
        if not self.index.is_trained:
            rng = np.random.default_rng(self.seed)
            sample = chunk[rng.permutation(len(chunk))[: max(IVF_TRAIN_PER_LIST * self.nlist, PQ_TRAIN)]]
            self.index.cp.seed = self.seed
            self.index.train(np.ascontiguousarray(sample))
        super().add(chunk)

    def search_parameters(self, setting: int) -> faiss.SearchParameters:
        return faiss.SearchParametersIVF(nprobe=setting)


class BinaryRescorePeer:
    """sentence-transformers' recipe: Hamming search of the sign bits, rescored with int8 document vectors.

    ``calibration``: unit vectors whose per-dim min/max are the int8 ranges (``quantize_embeddings``).
    """

    def __init__(self, count: int, calibration: np.ndarray) -> None:
        self.index = faiss.IndexBinaryFlat(FULL_DIM)
        self.int8 = np.empty((count, FULL_DIM), dtype=np.int8)
        self.calibration = calibration
        self.count = 0
        self.params = {"bits": FULL_DIM, "rescore": "int8", "calibration_vectors": len(calibration)}

    def add(self, chunk: np.ndarray) -> None:
        self.index.add(quantize_embeddings(chunk, "ubinary"))
        codes = quantize_embeddings(chunk, "int8", calibration_embeddings=self.calibration)
        self.int8[self.count : self.count + len(chunk)] = codes
        self.count += len(chunk)

    def search(self, queries: np.ndarray, setting: int) -> np.ndarray:
        candidates = self.index.search(quantize_embeddings(queries, "ubinary"), K * setting)[1]
        gathered = self.int8[np.maximum(candidates, 0)].astype(np.float32)
        scores = np.einsum("qd,qkd->qk", queries, gathered)
        scores[candidates < 0] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        return np.take_along_axis(candidates, order, 1)

    def bytes(self) -> int:
        return index_bytes(self.index)

    def rescore_bytes(self) -> int:
        return int(self.int8[: self.count].nbytes)


@dataclass(frozen=True)
class PeerSweep:
    """What is built and swept: HNSW efSearch values, IVF ``nlist`` multipliers and nprobe values, rescore
    multipliers."""

    ef_search: Sequence[int] = (16, 32, 64, 128, 256)
    nlist_multipliers: Sequence[int] = (1, 4)
    nprobe: Sequence[int] = (1, 4, 16, 64)
    rescore_multipliers: Sequence[int] = (2, 4, 10, 20, 50)


def peer_indexes(sweep: PeerSweep, count: int, calibration: np.ndarray, seed: int) -> dict[str, PeerIndex]:
    """The indexes to build for ``count`` vectors, by the ``build`` label their configs carry."""
    indexes: dict[str, PeerIndex] = {f"hnsw/M{HNSW_M}": HnswPeer()}
    for multiplier in sweep.nlist_multipliers:
        indexes[f"ivfpq/nlist{multiplier}x"] = IvfPqPeer(nlist_for(count, multiplier), seed)
    indexes["binary-int8/flat"] = BinaryRescorePeer(count, calibration)
    return indexes


def peer_configs(sweep: PeerSweep, indexes: dict[str, PeerIndex]) -> dict[PeerConfig, str]:
    """Every config of the sweep, with the key of the index it searches (nprobe capped at ``nlist``)."""
    configs: dict[PeerConfig, str] = {}
    for key, index in indexes.items():
        family, build = key.split("/")
        if isinstance(index, HnswPeer):
            settings = list(sweep.ef_search)
        elif isinstance(index, IvfPqPeer):
            settings = sorted({min(nprobe, index.nlist) for nprobe in sweep.nprobe})
        else:
            settings = list(sweep.rescore_multipliers)
        configs.update({PeerConfig(family, build, setting): key for setting in settings})
    return configs
