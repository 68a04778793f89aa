"""Binary shortlists: recall@10 of the sign bits of a 128- or 256-dim prefix, stock vs adapter without/with ``bits``.

The default model's SciFact corpus embeddings are not in the embedding cache here, so the corpus is synthetic:
``--n`` correlated 384-dim vectors (``--clusters`` centres, variance decaying as ``k^-1/2``, a random rotation so no
prefix is privileged, and a shared offset, as real sentence embeddings have). ``--queries`` more vectors from the
same distribution are the held-out queries. The adapter (``mic.adapt.fit``, default settings, fitted on the corpus
vectors) is fitted without ``bits`` and with each ``--bits`` weight. Each vector set is indexed by the FAISS backend
(``IndexBinaryFlat`` of the prefix's sign bits; for comparison at equal bytes an int8 prefix of the same bytes),
searched alone (top 10 of the shortlist index) and as a k' = 100 shortlist re-ranked at full dim (the set's own
float16 full vectors); recall@10 is against exact full-dim search of the stock vectors.

    OMP_NUM_THREADS=1 python benchmarks/binary_codes.py

writes benchmarks/results/binary_codes.json and binary_codes.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mic.adapt import fit
from mic.provenance import provenance
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter, shortlist_rows
from mic.staging import write_atomic, write_json

FULL, K, SHORTLIST = 384, 10, 100
SHORTLISTS = [("binary", 128), ("binary", 256), ("int8", 16), ("int8", 32)]
"""(precision, prefix dim): 16 and 32 bytes per vector each, binary and int8."""
RESULTS = Path(__file__).parent / "results"


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def synthetic(count: int, clusters: int, seed: int) -> np.ndarray:
    """``(count, 384)`` unit vectors: clustered latents, decaying spectrum, a random rotation and a shared offset."""
    structure = np.random.default_rng(0)  # the same centres, rotation and offset for corpus and queries
    centres = structure.standard_normal((clusters, FULL))
    rotation = np.linalg.qr(structure.standard_normal((FULL, FULL)))[0]
    offset = 0.4 * structure.standard_normal(FULL)
    rng = np.random.default_rng(seed)
    latent = (centres[rng.integers(0, clusters, count)] + rng.standard_normal((count, FULL))) / np.sqrt(
        np.arange(1, FULL + 1)
    )
    return unit(unit(latent) @ rotation + offset / np.sqrt(FULL))


def recalls(documents: np.ndarray, queries: np.ndarray, exact: np.ndarray, precision: str, dim: int) -> dict:
    """recall@10 against ``exact`` of the prefix index alone and of the funnel with a k' = 100 shortlist."""
    layout = Layout(dim, FULL, precision, "flat", "float16")  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        writer = FaissWriter(Path(folder), layout, documents)
        writer.add(documents, [])
        reader = FaissReader(Path(folder), layout, len(documents), writer.finish())
        alone = shortlist_rows(reader.index, layout, queries, K)
        funnel = reader.search(queries, K, SHORTLIST).indices

    def recall(found: np.ndarray) -> float:
        return round(float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, exact, strict=True)])), 4)

    return {"bytes": layout.prefix_bytes, "alone": recall(alone), f"shortlist_{SHORTLIST}": recall(funnel)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="corpus vectors")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--bits", type=float, nargs="+", default=[1.0, 10.0], help="weights of the bits term tried")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = shlex.join(["python", *sys.argv])
    split = f"corpus seed {args.seed + 1}, {args.n} vectors; held-out queries seed {args.seed + 2}, {args.queries}"
    print(f"{command}\nseed {args.seed}; {split}; threads {torch.get_num_threads()}", flush=True)
    corpus, queries = (
        synthetic(args.n, args.clusters, args.seed + 1),
        synthetic(args.queries, args.clusters, args.seed + 2),
    )
    exact = np.argsort(-(queries @ corpus.T), axis=1)[:, :K]
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {"stock": (corpus, queries)}
    fits: dict[str, dict] = {}
    for name, settings in [
        ("adapter", {}),
        *((f"adapter + bits {weight:g}", {"bits": weight}) for weight in args.bits),
    ]:
        start = time.perf_counter()
        adapter = fit(corpus, seed=args.seed, show_progress_bar=False, **settings)
        fits[name] = {"settings": settings, "seconds": round(time.perf_counter() - start, 1),
                      "final_terms": adapter.info["final_terms"]}  # fmt: skip
        with torch.no_grad():
            sets[name] = tuple(adapter.transform(torch.from_numpy(rows)).numpy() for rows in (corpus, queries))  # type: ignore[assignment]
        print(name, fits[name], flush=True)
    rows = {
        name: {
            f"{precision} {dim}": recalls(documents, held_out, exact, precision, dim) for precision, dim in SHORTLISTS
        }
        for name, (documents, held_out) in sets.items()
    }
    result = {
        "corpus": f"synthetic: {args.n} correlated 384-d unit vectors, {args.clusters} clusters (SciFact corpus "
        "embeddings not in the embedding cache)",
        "queries": f"{args.queries} held-out vectors of the same distribution",
        "reference": "exact full-dim (384) cosine search of the stock vectors",
        "fits": fits,
        "recall_at_10": rows,
        **provenance(command, args.seed),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(result, RESULTS / "binary_codes.json")
    header = " | ".join(f"{key} ({rows['stock'][key]['bytes']} B) alone / k'={SHORTLIST}" for key in rows["stock"])
    lines = [
        "# Binary shortlists: sign bits of a prefix, with and without the adapter's bits term",
        "",
        f"{result['corpus']}; {result['queries']}. recall@10 against {result['reference']}: the prefix index searched "
        f"alone, and as a k'={SHORTLIST} shortlist re-ranked at full dim (float16). FAISS `IndexBinaryFlat` (Hamming) "
        "for binary, `IndexScalarQuantizer` 8-bit for int8; adapters: `mic.adapt.fit` defaults, fitted on the corpus, "
        f"without or with `bits` = {', '.join(f'{weight:g}' for weight in args.bits)}. One thread.",
        f"Command: `{command}`; seed {args.seed}; commit {result['git_commit']}.",
        "",
        f"| vectors | {header} | fit s |",
        "|---|" + "---:|" * (len(SHORTLISTS) + 1),
    ]
    for name, row in rows.items():
        cells = " | ".join(f"{cell['alone']:.3f} / {cell[f'shortlist_{SHORTLIST}']:.3f}" for cell in row.values())
        lines.append(f"| {name} | {cells} | {fits.get(name, {}).get('seconds', '')} |")
    write_atomic(RESULTS / "binary_codes.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
