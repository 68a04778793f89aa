"""``mic adapt`` on the command line: the three ways in, and a clean one-line error (exit 2) for each mistake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import write_beir
from mic.adapt import Adapter
from mic.cli import app

runner = CliRunner()
FAST = ["--set", "fit.steps=3", "--set", "fit.batch_size=16"]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.stdout.split())


@pytest.fixture
def vectors(tmp_path: Path) -> Path:
    path = tmp_path / "vectors.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 32)).astype(np.float32))
    return path


def test_adapt_a_model_writes_a_folder(tiny_st_dir: Path, sentence_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "adapt.yaml"
    config.write_text(f"cache_dir: {tmp_path / 'cache'}\nfit:\n  topk_k: 5\n")
    code, output = run("adapt", str(tiny_st_dir), "--data", str(sentence_file), "--dims", "4,8", "--config",
                       str(config), "--out", str(tmp_path / "out"), *FAST, "--seed", "2")  # fmt: skip
    assert code == 0, output
    assert "Wrote adapted model" in output and "40 rows" in output
    adapter = Adapter.load(tmp_path / "out" / "adapter")
    assert adapter.dims == (4, 8, 32) and adapter.info["settings"]["seed"] == 2
    assert adapter.info["settings"]["topk_k"] == 5 and adapter.info["settings"]["steps"] == 3


def test_adapt_an_npy_writes_an_adapter(vectors: Path, tmp_path: Path) -> None:
    code, output = run("adapt", "--embeddings", str(vectors), "--dims", "8", "--seed", "3", "--out",
                       str(tmp_path / "a"), *FAST)  # fmt: skip
    assert code == 0, output
    adapter = Adapter.load(tmp_path / "a")
    assert adapter.base_fingerprint is None and adapter.transform(np.load(vectors)).shape == (40, 32)
    assert adapter.dims == (8, 32) and adapter.info["settings"]["seed"] == 3


def test_adapter_put_on_its_model(tiny_st_dir: Path, sentence_file: Path, tmp_path: Path) -> None:
    arrays = tmp_path / "vectors.npy"
    from sentence_transformers import SentenceTransformer

    np.save(
        arrays, SentenceTransformer(str(tiny_st_dir)).encode([line for line in sentence_file.read_text().splitlines()])
    )
    code, output = run("adapt", str(tiny_st_dir), "--embeddings", str(arrays), "--out", str(tmp_path / "a"), *FAST)
    assert code == 0, output
    code, output = run("adapt", str(tiny_st_dir), "--adapter", str(tmp_path / "a"), "--out", str(tmp_path / "m"))
    assert code == 0, output
    assert (tmp_path / "m" / "modules.json").is_file()


def test_the_supervised_example_of_the_help_runs_as_shown(
    tiny_st_dir: Path, sentence_file: Path, scored_file: Path, tmp_path: Path
) -> None:
    texts = sentence_file.read_text(encoding="utf-8").splitlines()[:12]
    documents = {f"d{row}": text for row, text in enumerate(texts)}
    queries = {f"q{row}": text for row, text in enumerate(texts[:6])}
    beir = write_beir(tmp_path / "beir", documents, queries, [f"q{row}\td{row}\t1" for row in range(6)], "train")
    supervision = f"supervision=[{scored_file},{beir}:train]"  # the help's --set "supervision=[stsb:train,...]"
    cache = f"cache_dir={tmp_path}"
    code, output = run("adapt", str(tiny_st_dir), "--data", f"{sentence_file},{beir}", "--supervised", "--set",
                       supervision, "--out", str(tmp_path / "out"), *FAST, "--set", cache)  # fmt: skip
    assert code == 0, output
    assert Adapter.load(tmp_path / "out" / "adapter").info["supervision"] == {str(scored_file): 30, f"{beir}:train": 6}


def bad_npy(tmp_path: Path, rows: int = 40, width: int = 32, nan: bool = False, zero: bool = False) -> Path:
    array = np.random.default_rng(0).normal(size=(rows, width)).astype(np.float32) * (not zero)
    if nan:
        array[3, 1] = np.nan
    np.save(tmp_path / "bad.npy", array)
    return tmp_path / "bad.npy"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("nan", "row 3 (and 0 more) holds NaN or inf"),
        ("few-rows", "got 10 embeddings, batch_size is 16"),
        ("dims", "dim 64 is larger than the 32-dim embeddings of the input; allowed: 1..32"),
        ("width", "holds 24-dim vectors, but"),
        ("missing", "does-not-exist.npy does not exist"),
        ("not-npy", "modules.json is not a readable .npy array (not in .npy format); save it with numpy.save"),
        ("both", "give at most one of --embeddings"),
        ("set", "field 'fit.stepz'"),
        ("foreign-out", "already exists; pass --overwrite to replace it, or choose another --out"),
        ("foreign-overwrite", "was not written by mic (no mic_output.json naming it a mic adapter)"),
        ("out-below-file", "is a file, not a folder; choose another --out"),
        ("zeros", "bad.npy: every value is 0; these are not embeddings"),
        ("one-row", "bad.npy: an adapter is fitted on how rows relate, so it needs at least 2 rows, got 1; give more"),
        ("empty-data", "--data '' names no source; give comma-separated sources, e.g. --data stsb:train,scifact"),
        ("blank-data", "--data ' , ' names no source"),
        ("empty-dims", "--dims '' names no dim; give comma-separated dims, e.g. --dims 8,64,384, or leave --dims"),
        ("bool-steps", "field 'fit.steps': must be a whole number (got True)"),
        ("backend", "'onnx-fp8' is not one of torch, onnx, onnx-int8"),
    ],
)
def test_user_errors_are_one_clean_line(case: str, message: str, tiny_st_dir: Path, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "out")]
    builders = {
        "nan": lambda: ["--embeddings", str(bad_npy(tmp_path, nan=True)), *out, *FAST],
        "few-rows": lambda: ["--embeddings", str(bad_npy(tmp_path, rows=10)), *out, *FAST],
        "dims": lambda: ["--embeddings", str(bad_npy(tmp_path)), "--dims", "8,64", *out, *FAST],
        "width": lambda: [str(tiny_st_dir), "--embeddings", str(bad_npy(tmp_path, width=24)), *out, *FAST],
        "missing": lambda: ["--embeddings", str(tmp_path / "does-not-exist.npy"), *out],
        "not-npy": lambda: ["--embeddings", str(tiny_st_dir / "modules.json"), *out],
        "both": lambda: ["--embeddings", "x.npy", "--adapter", "a", *out],
        "set": lambda: ["--embeddings", str(bad_npy(tmp_path)), *out, "--set", "fit.stepz=3"],
        "foreign-out": lambda: ["--embeddings", str(bad_npy(tmp_path)), "--out", str(tiny_st_dir), *FAST],
        "foreign-overwrite": lambda: ["--embeddings", str(bad_npy(tmp_path)), "--out", str(tiny_st_dir), "--overwrite"],
        "out-below-file": lambda: [
            str(tiny_st_dir),
            "--data",
            "x.txt",
            "--out",
            str(tiny_st_dir / "modules.json" / "m"),
        ],
        "zeros": lambda: ["--embeddings", str(bad_npy(tmp_path, zero=True)), *out, *FAST],
        "one-row": lambda: ["--embeddings", str(bad_npy(tmp_path, rows=1)), *out, *FAST],
        "empty-data": lambda: [str(tiny_st_dir), "--data", "", *out, *FAST],
        "blank-data": lambda: [str(tiny_st_dir), "--data", " , ", *out, *FAST],
        "empty-dims": lambda: ["--embeddings", str(bad_npy(tmp_path)), "--dims", "", *out, *FAST],
        "bool-steps": lambda: ["--embeddings", str(bad_npy(tmp_path)), *out, "--set", "fit.steps=true"],
        "backend": lambda: [str(tiny_st_dir), "--data", "x.txt", *out, "--encoder-backend", "onnx-fp8"],
    }
    args = builders[case]()
    code, output = run("adapt", *args)
    assert code == 2, output
    assert output.startswith("error:") and message in output, output
    assert "Traceback" not in output


EMBEDDINGS_WHY = "(the adapter is fitted, unsupervised, on the vectors of x.npy: no texts are read or encoded)"
ADAPTER_WHY = "(the saved adapter a is put on the model as it is: nothing is encoded or fitted)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--embeddings", "x.npy", "--data", "stsb:train"], f"--data has no effect with --embeddings {EMBEDDINGS_WHY}"),
        (["--embeddings", "x.npy", "--supervised"], "--supervised has no effect with --embeddings"),
        (
            ["--embeddings", "x.npy", "--data-dir", "data", "--encoder-backend", "torch"],
            f"--data-dir and --encoder-backend have no effect with --embeddings {EMBEDDINGS_WHY}; leave --data-dir and "
            "--encoder-backend out.",
        ),
        (["--adapter", "a", "--dims", "8"], f"--dims has no effect with --adapter {ADAPTER_WHY}; leave --dims out."),
        (["--adapter", "a", "--seed", "1"], "--seed has no effect with --adapter"),
        (
            ["--adapter", "a", "--data", "x.txt", "--supervised", "--data-dir", "data", "--encoder-backend", "onnx"],
            "--data, --supervised, --data-dir and --encoder-backend have no effect with --adapter",
        ),
    ],
)
def test_an_option_the_way_in_never_reads_is_refused_before_any_work(
    options: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("worked before refusing the options")

    for name in ("run_adapt", "run_adapt_array", "run_apply", "load_model", "load_array"):
        monkeypatch.setattr(f"mic.adapt.run.{name}", no_work)
    code, output = run("adapt", "default", *options, "--out", str(tmp_path / "out"))
    assert code == 2 and output.startswith("error:") and message in output, output
    assert not (tmp_path / "out").exists()


def test_an_adapter_on_another_model_is_refused_on_the_command_line(
    tiny_st_dir: Path, vectors: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_st_dir))
    np.save(vectors, model.encode([f"sentence {row}" for row in range(40)]))
    assert run("adapt", str(tiny_st_dir), "--embeddings", str(vectors), "--out", str(tmp_path / "a"), *FAST)[0] == 0
    import torch

    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.save(str(tmp_path / "other"))
    code, output = run("adapt", str(tmp_path / "other"), "--adapter", str(tmp_path / "a"), "--out", str(tmp_path / "m"))
    assert (
        code == 2
        and f"fitted on embeddings of '{tiny_st_dir}'" in output
        and f"not of '{tmp_path / 'other'}'" in output
    )


def test_the_scr_form_is_reported(tiny_st_dir: Path, sentence_file: Path, vectors: Path, tmp_path: Path) -> None:
    scr = ["--set", "fit.scr=1.0", "--set", f"cache_dir={tmp_path / 'cache'}"]
    code, output = run("adapt", str(tiny_st_dir), "--data", str(sentence_file), "--dims", "4,8",
                       "--out", str(tmp_path / "m"), *FAST, *scr)  # fmt: skip
    assert code == 0 and "SCR used its token-level form." in output, output
    code, output = run("adapt", "--embeddings", str(vectors), "--dims", "8", "--out", str(tmp_path / "a"), *FAST, *scr)
    assert code == 0 and "SCR used its sentence-level form (no token states" in output, output


@pytest.mark.parametrize("way", ["texts", "npy", "adapter"])
def test_out_is_checked_before_any_fit_and_a_users_file_survives(
    way: str, tiny_st_dir: Path, vectors: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "adapter.json").write_text('{"schema": "my-own"}')
    (out / "mic_adapt.json").write_text("{}")

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("fitted before checking --out")

    monkeypatch.setattr("mic.adapt.run.fit", no_fit)
    monkeypatch.setattr("mic.adapt.run.load_model", no_fit)
    monkeypatch.setattr("mic.adapt.run.load_array", no_fit)
    source = {"texts": ["--data", "x.txt"], "npy": ["--embeddings", str(vectors)], "adapter": ["--adapter", "a"]}
    code, output = run("adapt", str(tiny_st_dir), *source[way], "--out", str(out), "--overwrite")
    assert code == 2 and output.startswith("error:") and "was not written by mic" in output, output
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_an_adapter_but_never_a_users_file_in_it(vectors: Path, tmp_path: Path) -> None:
    out = tmp_path / "a"
    assert run("adapt", "--embeddings", str(vectors), "--dims", "8", "--out", str(out), *FAST)[0] == 0
    assert run("adapt", "--embeddings", str(vectors), "--dims", "16", "--out", str(out), *FAST, "--overwrite")[0] == 0
    assert Adapter.load(out).dims == (16, 32)
    (out / "notes.txt").write_text("mine")
    code, output = run("adapt", "--embeddings", str(vectors), "--dims", "8", "--out", str(out), *FAST, "--overwrite")
    assert code == 2 and "is a mic adapter, but mic did not write notes.txt in it" in output, output
    assert (out / "notes.txt").read_text() == "mine" and Adapter.load(out).dims == (16, 32)


def test_help_says_to_fit_on_the_corpus_you_search() -> None:
    output = runner.invoke(app, ["adapt", "--help"], env={"COLUMNS": "400"}).output
    assert "fit on the documents of the corpus you will search (--data YOUR_CORPUS; no queries or labels)" in output
    assert "fit-on-the-corpus numbers come from adapters fitted on the documents of the corpus they search" in output
    results = "benchmarks/results/adapter-protocols.md"
    assert results in output and (Path(__file__).resolve().parents[2] / results).is_file()
