"""``mic demo`` end to end on a tiny model and a tiny STS-B-format data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mic.cli import app

ROWS = [
    (4.2, "A man is playing a guitar.", "A man plays an instrument."),
    (0.6, "A dog runs in the park.", "A cat sleeps on the sofa."),
    (4.5, "Kids are playing football.", "Children play soccer outside."),
    (0.1, "The stock market fell today.", "A bird sings in a tree."),
    (4.8, "A plane is taking off.", "An airplane departs."),
    (2.5, "He is reading a book.", "A man writes a letter."),
]


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "stsbenchmark"
    folder.mkdir(parents=True)
    lines = [f"main-captions\tMSRvid\t2012test\t{i:04d}\t{s}\t{a}\t{b}\n" for i, (s, a, b) in enumerate(ROWS * 4)]
    for name in ("sts-train.csv", "sts-test.csv"):
        (folder / name).write_text("".join(lines))
    return folder.parent


def test_demo_prints_before_and_after_at_every_dim(tmp_path: Path, tiny_data_dir: Path, tiny_st_dir: Path) -> None:
    out = tmp_path / "model"
    args = ["demo", "--data-dir", str(tiny_data_dir), "--steps", "2", "--model", str(tiny_st_dir)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "untrained" in result.output and "MIC, 2 steps" in result.output
    for dim in ("8", "16", "32"):
        assert f"│ {dim:>3} │" in result.output or f"{dim} │" in result.output
    assert (out / "mic_run.json").is_file()
    assert "│  64 │" not in result.output, "the default dims follow the 32-dim model"


def test_demo_with_a_missing_data_dir_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_demo_with_an_unknown_encoder_backend_lists_the_allowed_ones(tiny_data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tiny_data_dir), "--encoder-backend", "onnx8"])
    assert result.exit_code == 2
    assert "Encoder backend 'onnx8' is not one of torch, onnx, onnx-int8." in " ".join(result.output.split())
