"""What a retrieval setting records of each model beside ``mic eval``'s scores: SciFact test at every dim, with the
corpus-fitted adapter, the funnel and binary shortlists (issue 24's head-to-head).

One model's vectors of the test split are read through the embedding cache (``mic eval`` already stored them, so
nothing is encoded twice). From them, nDCG@10 x100 (and Recall@100 x100 for exact search), each through
``mic.evaluation.retrieval``'s pytrec_eval metrics:

- ``plain``: exact search on the normalized prefix at every dim;
- ``adapter``: the same after ``mic.adapt.fit`` (default settings, seed 0) fitted on the model's vectors of the
  evaluated corpus's documents — no query, no label (``benchmarks/adapter_protocols.py``'s transductive protocol);
- ``funnel``: a k' = 100 shortlist at 32 and 64 dims (float32 exact prefix search), re-ranked at full dim;
- ``binary``: the sign bits of the 128-, 256- and 384-d prefixes in FAISS ``IndexBinaryFlat`` (Hamming; the index
  of ``mic index --precision binary``), searched alone (top 10) and as a k' = 100 shortlist re-ranked at full dim
  (float32).

Funnel and binary are scored on the plain and on the adapted vectors. These parameters live here, outside the code
fingerprint of a run, so every record's extras say them (:func:`parameters`) and a record whose extras were made with
other ones is not reused or averaged (:func:`made_as_today`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from common.protocols import CORPUS_DOCUMENTS
from common.settings import DIMS, TEST_TASKS
from mic.adapt import FitSettings, fit
from mic.adapt.data import fit_texts
from mic.cache import EmbeddingStore
from mic.data import RetrievalData
from mic.data.sources import parse_source
from mic.data.tasks import load_task
from mic.encoders import Encoder
from mic.evaluation.retrieval import hits_to_run, retrieval_scores, run_metrics
from mic.models import model_fingerprint
from mic.retrieval import Hits, funnel_search, rerank
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import index_input, new_prefix_index, shortlist_rows

TASK = TEST_TASKS["scifact"]
FUNNEL_DIMS = (32, 64)
BINARY_DIMS = (128, 256, 384)
SHORTLIST = 100
TOP = 10
ADAPTER_SEED = 0
ADAPTER_FIT = CORPUS_DOCUMENTS


def parameters(extras: Mapping) -> dict:
    """What decided a record's extras besides the model, read from the extras themselves: the task, the dims, what
    the adapter was fitted on and with, and the funnel's and binary codes' shortlist and dims."""
    funnel, binary = extras["funnel"], extras["binary"]
    return {
        "task": extras["task"],
        "dims": list(extras["plain"]["ndcg@10"]),
        "adapter": [extras["adapter"]["fit"], extras["adapter"]["settings"]],
        "funnel": [funnel["shortlist"], list(funnel["plain"])],
        "binary": [binary["shortlist"], list(binary["plain"]["alone"])],
    }


def made_as_today(extras: Mapping) -> bool:
    """Whether ``extras`` were made with this module's parameters (:func:`parameters`): what :func:`retrieval_extras`
    would record with its defaults now."""
    today = {
        "task": TASK,
        "dims": [str(dim) for dim in DIMS],
        "adapter": [ADAPTER_FIT, FitSettings(seed=ADAPTER_SEED).model_dump(mode="json")],
        "funnel": [SHORTLIST, [str(dim) for dim in FUNNEL_DIMS]],
        "binary": [SHORTLIST, [str(dim) for dim in BINARY_DIMS]],
    }
    try:
        return parameters(extras) == today
    except (KeyError, TypeError):
        return False


def ndcg(hits: Hits, data: RetrievalData) -> float:
    """nDCG@10 x100 of ``hits`` on ``data``'s qrels."""
    return round(run_metrics(hits_to_run(hits, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"], 4)


def ranked(rows: np.ndarray) -> Hits:
    """Hits in the order of ``rows`` (a Hamming ranking has ties; the index's order is kept, best first)."""
    return Hits(np.broadcast_to(-np.arange(rows.shape[1], dtype=np.float32), rows.shape), rows)


def exact_scores(queries: np.ndarray, documents: np.ndarray, data: RetrievalData, dims: Sequence[int]) -> dict:
    """``{metric: {dim: x100}}`` of exact search on the normalized prefix at every dim."""
    exact, _ = retrieval_scores(queries, documents, data.query_ids, data.doc_ids, data.qrels, dims, shortlists=())
    return {metric: {str(dim): round(exact[dim][metric], 4) for dim in dims} for metric in exact[dims[0]]}


def funnel_scores(
    queries: np.ndarray, documents: np.ndarray, data: RetrievalData, dims: Sequence[int]
) -> dict[str, float]:
    """``{dim: nDCG@10 x100}`` of a :data:`SHORTLIST` shortlist at each dim re-ranked at full dim."""
    return {str(dim): ndcg(funnel_search(queries, documents, dim, SHORTLIST, TOP), data) for dim in dims}


def binary_scores(queries: np.ndarray, documents: np.ndarray, data: RetrievalData, dims: Sequence[int]) -> dict:
    """nDCG@10 x100 of the sign bits of each prefix in ``IndexBinaryFlat``: ``alone`` (top 10 by Hamming) and
    ``shortlist`` (:data:`SHORTLIST` by Hamming, re-ranked at full float dim), each ``{dim: score}``."""
    alone, shortlist = {}, {}
    for dim in dims:
        layout = Layout(dim, documents.shape[1], "binary", "flat", "float16")
        index = new_prefix_index(layout)
        index.add(index_input(documents, layout))
        alone[str(dim)] = ndcg(ranked(shortlist_rows(index, layout, queries, TOP)), data)
        candidates = shortlist_rows(index, layout, queries, SHORTLIST)
        shortlist[str(dim)] = ndcg(rerank(queries, documents, candidates, TOP), data)
    return {"alone": alone, "shortlist": shortlist}


def retrieval_extras(
    encoder: Encoder,
    data_dir: str,
    task: str = TASK,
    dims: Sequence[int] = DIMS,
    funnel_dims: Sequence[int] = FUNNEL_DIMS,
    binary_dims: Sequence[int] = BINARY_DIMS,
    settings: FitSettings | None = None,
) -> dict:
    """The retrieval extras of ``encoder`` on ``task`` (see the module docstring), as plain JSON data.

    Args:
        encoder: the model as :func:`common.scoring.evaluate` scores it.
        data_dir: folder of the benchmark data.
        task: a retrieval task spec; the adapter is fitted on its corpus's documents.
        dims: the dims of exact search and of the adapter's fit.
        funnel_dims: the dims the float32 shortlist is taken at.
        binary_dims: the prefixes whose sign bits are indexed (multiples of 8).
        settings: the adapter's fit (default: ``FitSettings(seed=0)``, ``mic adapt``'s defaults).
    """
    settings = settings or FitSettings(seed=ADAPTER_SEED)
    data = load_task(task, data_dir)
    if not isinstance(data, RetrievalData):
        raise ValueError(f"{task} is not a retrieval task; give a BEIR split such as {TASK}.")
    store = EmbeddingStore()
    documents = store.embed(encoder, data.documents, persist=True)
    queries = store.embed(encoder, data.queries, persist=True)
    # mic adapt's fit texts of the corpus (its distinct documents: SciFact's are the store's list, already encoded).
    fit_data = store.embed(encoder, fit_texts([parse_source(task).target], data_dir), persist=True)
    fingerprint = model_fingerprint(encoder.model)
    adapter = fit(fit_data, dims, base_model=encoder.name, base_fingerprint=fingerprint, show_progress_bar=False,
                  **settings.model_dump())  # fmt: skip
    vectors = {
        "plain": (queries.numpy(), documents.numpy()),
        "adapter": (adapter.transform(queries).numpy(), adapter.transform(documents).numpy()),
    }
    plain, adapted = (exact_scores(*vectors[name], data, dims) for name in ("plain", "adapter"))
    fitted = {"fit": ADAPTER_FIT, "fit_rows": len(fit_data), "settings": settings.model_dump(mode="json"),
              "fit_seconds": adapter.info["fit_seconds"]}  # fmt: skip
    return {
        "task": task,
        "plain": plain,
        "adapter": {**fitted, **adapted},
        "funnel": {
            "shortlist": SHORTLIST,
            **{name: funnel_scores(*pair, data, funnel_dims) for name, pair in vectors.items()},
        },
        "binary": {
            "shortlist": SHORTLIST,
            **{name: binary_scores(*pair, data, binary_dims) for name, pair in vectors.items()},
        },
    }
