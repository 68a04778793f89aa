"""What the adapter's fit saw: ``mic adapt`` fitted on other texts versus on the evaluated corpus, on two encoders.

For each encoder (``default``: all-MiniLM-L6-v2, 384-d transformer; ``wordllama``: WordLlama, 256-d static
embeddings) and each retrieval corpus (SciFact, Cranfield), at every dim, nDCG@10 x100 on the test queries of:

- ``truncate``: the stock model's prefixes (nothing fitted);
- ``pca[sts+sick]``: PCA fitted on the STS-B train + SICK train sentences (other texts);
- ``pca[corpus]``: PCA fitted on the evaluated corpus's documents;
- ``adapter[sts+sick]``: ``mic.adapt.fit`` (default settings, seed 0) on STS-B train + SICK train — protocol
  *inductive*: the fit saw no text of the evaluated corpus;
- ``adapter[corpus]``: the same fit on the evaluated corpus's documents — protocol *transductive* (fit on the
  corpus you index): it saw the documents, never a query or a label.

Every row is also scored on STS-B test and SICK-R test (Spearman x100), to show what each fit costs elsewhere.
Scores are ``mic eval``'s runner on the stock model's encodings mapped by the fit (:func:`common.adapters.
score_mapped`); each fit's scores are cached in ``results/adapter-protocols-runs/KEY.json`` under the one run key.

    OMP_NUM_THREADS=1 python benchmarks/adapter_protocols.py --data-dir ../shared/data

writes ``results/adapter-protocols.{json,md}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from common.adapters import CORPORA, Base, score_mapped, source_spec
from common.protocols import CORPUS_DOCUMENTS, INDUCTIVE, NONE, STOCK_PREFIXES, TRANSDUCTIVE
from common.provenance import command_line, run_provenance
from common.report import pca_name, write_json_and_markdown
from common.runs import cached, new_record, run_key, write_record
from common.scoring import Scores, load_named
from common.settings import RESULTS
from mic.adapt import FitSettings, fit
from mic.adapt.data import fit_embeddings
from mic.data import DataError
from mic.data.benchmarks import resolve_data_dir
from mic.encoders import fit_pca

RUNS = RESULTS / "adapter-protocols-runs"
ENCODERS = ["default", "wordllama"]
OTHER_TEXTS = ["stsb:train", "sick:train"]
STS_TASKS = {"stsb": "stsb:test", "sickr": "sick:test"}
SEED = 0
OTHER_TEXTS_SAW = "STS-B train + SICK train sentences"
PROTOCOLS = {
    "truncate": (NONE, STOCK_PREFIXES),
    "pca[sts+sick]": (INDUCTIVE, OTHER_TEXTS_SAW),
    "pca[corpus]": (TRANSDUCTIVE, CORPUS_DOCUMENTS),
    "adapter[sts+sick]": (INDUCTIVE, OTHER_TEXTS_SAW),
    "adapter[corpus]": (TRANSDUCTIVE, CORPUS_DOCUMENTS),
}
"""Each method's protocol (:mod:`common.protocols`) and what its fit saw; ``[sts+sick]`` and ``[corpus]`` stand for
the fit texts, which the report names (:func:`shown_name`)."""


def shown_name(record: dict) -> str:
    """A run's name in the report, by what it was fitted on: ``pca[stsb:train+sick:train]``, ``adapter[scifact]``."""
    if record["method"].startswith("pca"):
        return pca_name(record["fit_texts"])
    if record["method"].startswith("adapter"):
        return f"adapter[{'+'.join(record['fit_texts'])}]"
    return record["method"]


def run(base: Base, method: str, corpus: str | None, data_dir: Path, command: str) -> dict:
    """One run of ``method`` on ``base``; ``corpus``: the corpus a ``[corpus]`` method is fitted on and scored on
    (None: a method that does not depend on it, scored on every corpus). Read from the run cache when this code
    already ran it."""
    name = base.encoder.name
    sources = [] if method == "truncate" else [corpus] if corpus else OTHER_TEXTS
    config = {"encoder": name, "base_fingerprint": base.fingerprint, "method": method, "fit_texts": sources,
              "fit": FitSettings().model_dump(mode="json", exclude={"seed"})}  # fmt: skip
    key = run_key(config, SEED)
    path = RUNS / f"{key}.json"
    record = cached(path, key)
    if record is not None:
        return record
    embeddings = fit_embeddings([source_spec(s, data_dir) for s in sources], base.embed, data_dir) if sources else None
    apply, fit_seconds = None, 0.0
    if method.startswith("pca"):
        apply = fit_pca(embeddings).apply
    elif method.startswith("adapter"):
        adapter = fit(embeddings, base.dims, base_model=name, base_fingerprint=base.fingerprint,
                      show_progress_bar=False, **FitSettings(seed=SEED).model_dump())  # fmt: skip
        apply, fit_seconds = adapter.transform, adapter.info["fit_seconds"]
    retrieval = {c: f"{source_spec(c, data_dir)}:test" for c in ([corpus] if corpus else CORPORA)}
    tasks = load_named({**retrieval, **STS_TASKS}, str(data_dir))
    scores: Scores = score_mapped(base.encoder, apply, tasks, base.store, base.dims)
    protocol, saw = PROTOCOLS[method]
    fields = {"encoder": name, "method": method, "protocol": protocol, "fit_saw": saw, "fit_texts": sources,
              "fit_rows": 0 if embeddings is None else len(embeddings), "seed": SEED, "fit_seconds": fit_seconds,
              "scores": scores}  # fmt: skip
    record = new_record(key, command, fields)
    write_record(path, record)
    print(f"{name} {method} {corpus or ''}: {scores}", flush=True)
    return record


def write_report(records: list[dict], command: str) -> None:
    """``results/adapter-protocols.{json,md}``: per encoder and corpus, one row per method at every dim."""
    lines = [
        "# What the adapter's fit saw: inductive versus transductive (fit on the evaluated corpus)",
        "",
        f"Command: `{command}`. Seed {SEED}; adapters: `mic.adapt.fit` with the default settings "
        f"(`mic.adapt.FitSettings()`). Protocol **inductive**: fitted on other texts (STS-B train + SICK train); "
        "**transductive**: fitted on the evaluated corpus's documents (no queries, no labels) — what `mic adapt "
        "MODEL --data YOUR_CORPUS` does. Retrieval: nDCG@10 x100 on the test qrels; STS-B / SICK-R: Spearman x100 "
        "on their test splits.",
    ]
    for name in ENCODERS:
        for corpus in CORPORA:
            rows = [r for r in records if r["encoder"] == name and corpus in r["scores"]]
            if not rows:
                continue
            dims = list(rows[0]["scores"][corpus])
            lines += ["", f"## {name} on {corpus}", ""]
            lines += ["| method | protocol | fit saw | task | " + " | ".join(dims) + " |"]
            lines += ["|---|---|---|---|" + "---|" * len(dims)]
            for record in rows:
                for task in (corpus, *STS_TASKS):
                    cells = " | ".join(f"{record['scores'][task][d]:.2f}" for d in dims)
                    lines.append(
                        f"| {shown_name(record)} | {record['protocol']} | {record['fit_saw']} | {task} | {cells} |"
                    )
    data = {"seed": SEED, "encoders": ENCODERS, "corpora": CORPORA, "protocols": PROTOCOLS, "runs": records,
            "provenance": run_provenance(command)}  # fmt: skip
    write_json_and_markdown(RESULTS / "adapter-protocols.json", data, "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", default=",".join(ENCODERS), help="comma-separated subset of the encoders")
    parser.add_argument("--methods", default=",".join(PROTOCOLS), help="comma-separated subset of the methods")
    parser.add_argument("--data-dir", default=None, help="folder with stsbenchmark/, sick2014/, scifact/ and cranfield/"
                        " (else $MIC_DATA_DIR)")  # fmt: skip
    args = parser.parse_args()
    try:
        data_dir = resolve_data_dir(args.data_dir)
    except DataError as error:
        parser.error(str(error))
    torch.manual_seed(SEED)
    command = command_line()
    methods = args.methods.split(",")
    records = []
    for name in args.encoders.split(","):
        base = Base.load(name)
        for method in methods:
            for corpus in CORPORA if method.endswith("[corpus]") else [None]:
                records.append(run(base, method, corpus, data_dir, command))
    write_report(records, command)


if __name__ == "__main__":
    main()
