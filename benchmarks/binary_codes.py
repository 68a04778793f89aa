"""Binary shortlists on real embeddings: sign bits of a 128- or 256-dim prefix against an int8 prefix of the same
bytes, for the stock vectors and the corpus adapter without and with its ``bits`` term.

Vectors: the stock all-MiniLM-L6-v2's embeddings (read through the embedding cache) of SciFact (documents, train
queries, test queries) and Cranfield (documents, test queries), and the same mapped by ``mic.adapt.fit`` (default
settings, seed 0) fitted on the evaluated corpus's documents — protocol *transductive*: the fit saw the documents,
never a query or a label — without ``bits`` and with each ``--bits`` weight. Each vector set is indexed as
``mic index`` indexes it (FAISS ``IndexBinaryFlat`` of the prefix's sign bits, or an 8-bit scalar-quantized prefix,
with float16 full vectors) and searched alone (the prefix index's top 10) and as a k' = 100 shortlist re-ranked at
full dim. Reported: nDCG@10 x100 on the qrels, and recall@10 x100 against exact 384-d cosine search of the stock
vectors.

The ``bits`` weight is chosen on SciFact's train queries only (the dev split): the best mean nDCG@10 of the two binary
shortlists, if it beats the adapter without ``bits`` by :data:`common.sweeps.MARGIN`; test splits are reported, never
used to choose. Each vector set's scores are cached in ``results/binary-codes-runs/KEY.json`` under the one run key.

    OMP_NUM_THREADS=1 python benchmarks/binary_codes.py --data-dir ../shared/data   # ~2-5 min per adapter fit

writes benchmarks/results/binary_codes.{json,md}.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from common.adapters import CORPORA, Base, source_spec
from common.protocols import CORPUS_DOCUMENTS, STOCK_PREFIXES, protocol
from common.provenance import command_line, run_provenance
from common.report import write_json_and_markdown
from common.retrieval_extras import SHORTLIST, TOP, ndcg, ranked
from common.runs import cached, new_record, run_key, write_record
from common.settings import RESULTS
from common.sweeps import MARGIN
from mic.adapt import Adapter, FitSettings, fit
from mic.adapt.data import fit_embeddings
from mic.cache import default_cache_dir
from mic.data import RetrievalData
from mic.data.tasks import load_task
from mic.evaluation.report import markdown_table
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter, shortlist_rows
from mic.retrieval.index import unit_vectors

RUNS = RESULTS / "binary-codes-runs"
ADAPTERS = default_cache_dir() / "binary-codes"  # fitted weights stay out of the repo
ENCODER = "default"
DEV = ("scifact", "train")
"""The dev split that chooses the ``bits`` weight: SciFact's train queries."""
SHORTLISTS = [("binary", 128), ("binary", 256), ("int8", 16), ("int8", 32)]
"""(precision, prefix dim): 16 and 32 bytes per vector each, binary and int8."""
BINARY = [f"{precision} {dim}" for precision, dim in SHORTLISTS if precision == "binary"]
SEED = 0
DEFAULT_BITS = [1.0, 10.0]


def splits(corpus: str) -> list[str]:
    """The query splits scored on ``corpus``: the dev split first where it has one, then test."""
    return [DEV[1], "test"] if corpus == DEV[0] else ["test"]


def vectors_name(bits: float | None) -> str:
    """A vector set's name: ``stock``, ``adapter`` (no ``bits``) or ``adapter + bits W``."""
    return "stock" if bits is None else "adapter" if bits == 0 else f"adapter + bits {bits:g}"


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """recall@10 x100 of ``found`` rows against the ``exact`` top-10 rows (``-1`` padding never matches)."""
    return round(100 * float(np.mean([len(set(a) & set(b)) / TOP for a, b in zip(found, exact, strict=True)])), 2)


def shortlist_scores(
    documents: np.ndarray, queries: np.ndarray, data: RetrievalData, exact: np.ndarray, precision: str, dim: int
) -> dict:
    """nDCG@10 x100 and recall@10 x100 of one prefix index, searched ``alone`` and as a k' = :data:`SHORTLIST`
    ``shortlist`` re-ranked at full dim on the index's float16 vectors, and its bytes per vector."""
    layout = Layout(dim, documents.shape[1], precision, "flat", "float16")  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        writer = FaissWriter(Path(folder), layout, documents)
        writer.add(documents, [])
        reader = FaissReader(Path(folder), layout, len(documents), writer.finish())
        alone = shortlist_rows(reader.index, layout, queries, TOP)
        funnel = reader.search(queries, TOP, SHORTLIST)
    return {
        "bytes": layout.prefix_bytes,
        "ndcg": {"alone": ndcg(ranked(alone), data), "shortlist": ndcg(funnel, data)},
        "recall": {"alone": recall(alone, exact), "shortlist": recall(funnel.indices, exact)},
    }


def split_scores(documents: np.ndarray, queries: np.ndarray, data: RetrievalData, exact: np.ndarray) -> dict:
    """One vector set on one split: exact full-dim nDCG@10 x100 and every :data:`SHORTLISTS` index."""
    full = np.argsort(-(queries @ documents.T), axis=1)[:, :TOP]
    scores = {"exact full dim": {"ndcg": ndcg(ranked(full), data), "recall": recall(full, exact)}}
    for precision, dim in SHORTLISTS:
        scores[f"{precision} {dim}"] = shortlist_scores(documents, queries, data, exact, precision, dim)
    return scores


def run(base: Base, corpus: str, bits: float | None, data_dir: Path, command: str) -> dict:
    """The record of one vector set (``bits`` None: the stock vectors) on every split of ``corpus``, from the run
    cache when this code already made it; a fitted adapter's weights are kept under :data:`ADAPTERS`."""
    settings = None if bits is None else FitSettings(seed=SEED, bits=bits)
    config = {"benchmark": "binary-codes", "encoder": ENCODER, "base_fingerprint": base.fingerprint, "corpus": corpus,
              "splits": splits(corpus), "fit": settings and settings.model_dump(mode="json"),
              "shortlists": SHORTLISTS, "top": TOP, "shortlist": SHORTLIST}  # fmt: skip
    key = run_key(config, SEED)
    path = RUNS / f"{key}.json"
    record = cached(path, key)
    if record is not None:
        return record
    spec = source_spec(corpus, data_dir)
    tasks = {split: load_task(f"{spec}:{split}", str(data_dir)) for split in splits(corpus)}
    for task, data in tasks.items():
        if not isinstance(data, RetrievalData):
            raise ValueError(f"{spec}:{task} is not a retrieval task; give a corpus in BEIR layout")
    stock_outputs = base.store.embed(base.encoder, next(iter(tasks.values())).documents, persist=True)
    adapter, fit_fields = None, {"fit_rows": 0, "fit_seconds": 0.0}
    if settings is not None:
        embeddings = fit_embeddings([spec], base.embed, data_dir)
        if (ADAPTERS / key / "adapter.json").is_file():
            adapter = Adapter.load(ADAPTERS / key)
        else:
            print(f"{corpus}: fitting {vectors_name(bits)} on {len(embeddings)} documents", flush=True)
            adapter = fit(embeddings, base.dims, base_model=ENCODER, base_fingerprint=base.fingerprint,
                          show_progress_bar=False, **settings.model_dump())  # fmt: skip
            adapter.save(ADAPTERS / key)
        fit_fields = {"fit_rows": len(embeddings), "fit_seconds": adapter.info["fit_seconds"],
                      "final_terms": adapter.info["final_terms"]}  # fmt: skip

    stock_documents = unit_vectors(base.encoder, stock_outputs)  # the exact reference: stock, full dim
    documents = unit_vectors(base.encoder, stock_outputs, adapter)
    scores = {}
    for split, data in tasks.items():
        outputs = base.store.embed(base.encoder, data.queries, persist=True)
        exact = np.argsort(-(unit_vectors(base.encoder, outputs) @ stock_documents.T), axis=1)[:, :TOP]
        scores[split] = split_scores(documents, unit_vectors(base.encoder, outputs, adapter), data, exact)
    fit_sources = [] if bits is None else [spec]
    fields = {"encoder": ENCODER, "corpus": corpus, "vectors": vectors_name(bits), "bits": bits,
              "protocol": protocol(fit_sources, f"{spec}:test"),
              "fit_saw": STOCK_PREFIXES if bits is None else CORPUS_DOCUMENTS, "seed": SEED, **fit_fields,
              "scores": scores}  # fmt: skip
    record = new_record(key, command, fields)
    write_record(path, record)
    return record


def binary_mean(record: dict, split: str) -> float:
    """The mean nDCG@10 of the :data:`BINARY` shortlists (re-ranked at full dim) of a record on one split."""
    cells = record["scores"][split]
    return sum(cells[name]["ndcg"]["shortlist"] for name in BINARY) / len(BINARY)


def choose(records: list[dict], bits: list[float]) -> dict:
    """The dev choice of the ``bits`` weight among ``bits`` (0: off, which must be among them; see the module
    docstring): ``{"split": "scifact:train", "scores": {weight: dev mean}, "chosen": weight, "margin": MARGIN}``.

    Raises:
        ValueError: when a weight of ``bits`` has no record on the dev corpus.
    """
    corpus, split = DEV
    by_weight = {r["bits"]: binary_mean(r, split) for r in records if r["corpus"] == corpus and r["bits"] is not None}
    if missing := [weight for weight in bits if weight not in by_weight]:
        raise ValueError(f"no {corpus} record for bits weight(s) {missing}; have {sorted(by_weight)}")
    best = max(bits, key=by_weight.__getitem__)
    chosen = best if by_weight[best] >= by_weight[0.0] + MARGIN else 0.0
    return {"split": f"{corpus}:{split}", "scores": {f"{w:g}": round(by_weight[w], 4) for w in bits},
            "chosen": chosen, "margin": MARGIN}  # fmt: skip


def write_report(records: list[dict], choice: dict, command: str) -> None:
    """``results/binary_codes.{json,md}``: per corpus and split, nDCG@10 and recall@10 of every vector set; the dev
    split's tables say so, and the row of the chosen ``bits`` weight is marked."""
    lines = [
        "# Binary shortlists on real embeddings: sign bits of a prefix against int8 of the same bytes, with and "
        "without the adapter's `bits` term",
        "",
        f"Command: `{command}`. Seed {SEED}. Stock all-MiniLM-L6-v2 vectors; adapters: `mic.adapt.fit` defaults "
        "fitted on the evaluated corpus's documents (protocol **transductive**: no query, no label). Each cell: the "
        f"prefix index searched alone (top {TOP}) / as a k'={SHORTLIST} shortlist re-ranked at full dim (float16), "
        "as `mic index` builds it. Binary: FAISS `IndexBinaryFlat` (Hamming); int8: `IndexScalarQuantizer` 8-bit; "
        "bytes per vector in the header.",
        "",
        f"Dev choice ({choice['split']} queries only; test never chooses): mean nDCG@10 of the binary shortlists, "
        + ", ".join(f"bits {w}: {v:.2f}" for w, v in choice["scores"].items())
        + f"; chosen: **bits {choice['chosen']:g}** (a weight must beat 0 by {choice['margin']}).",
    ]
    chosen = vectors_name(choice["chosen"])
    for corpus in CORPORA:
        rows = [r for r in records if r["corpus"] == corpus]
        for split in splits(corpus) if rows else []:
            first = rows[0]["scores"][split]
            names = [name for name in first if name != "exact full dim"]
            header = ["vectors", "protocol", "exact 384", *(f"{n} ({first[n]['bytes']} B)" for n in names)]
            role = " (dev)" if (corpus, split) == DEV else ""
            for metric, title in (("ndcg", "nDCG@10 x100"), ("recall", "recall@10 x100 vs exact stock 384-d")):
                table = [
                    [
                        r["vectors"] + (" (chosen on dev)" if r["vectors"] == chosen and r["bits"] is not None else ""),
                        r["protocol"],
                        f"{r['scores'][split]['exact full dim'][metric]:.2f}",
                        *(
                            " / ".join(f"{r['scores'][split][n][metric][m]:.2f}" for m in ("alone", "shortlist"))
                            for n in names
                        ),
                    ]  # fmt: skip
                    for r in rows
                ]
                lines += ["", f"## {corpus} {split}{role}: {title}", "", markdown_table(header, table)]
    data = {"encoder": ENCODER, "seed": SEED, "dev": f"{DEV[0]}:{DEV[1]}", "choice": choice, "runs": records,
            "provenance": run_provenance(command)}  # fmt: skip
    write_json_and_markdown(RESULTS / "binary_codes.json", data, "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with scifact/ and cranfield/")
    parser.add_argument("--bits", type=float, nargs="+", default=DEFAULT_BITS, help="weights of the bits term tried")
    args = parser.parse_args()
    if any(weight <= 0 for weight in args.bits):
        parser.error(f"--bits takes positive weights (the adapter without bits is always run), got {args.bits}")
    torch.manual_seed(SEED)
    command = command_line()
    base = Base.load(ENCODER)
    records = [
        run(base, corpus, bits, args.data_dir, command) for corpus in CORPORA for bits in (None, 0.0, *args.bits)
    ]
    write_report(records, choose(records, [0.0, *args.bits]), command)


if __name__ == "__main__":
    main()
