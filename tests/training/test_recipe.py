"""The training recipe end to end: output handling, resume after a kill, Ctrl-C, errors, torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sentence_transformers import SentenceTransformer

from helpers import run_cli, wait_for_checkpoint
from mic.data import DataError
from mic.models import ModelError
from mic.training.config import load_config
from mic.training.recipe import RUN_INFO, TrainingError, train, work_dir_for

PAIRS = [
    ("A man is playing a guitar.", "A man plays an instrument.", 4.2),
    ("A woman is slicing an onion.", "Someone cuts a vegetable.", 3.8),
    ("A dog runs in the park.", "A cat sleeps on the sofa.", 0.6),
    ("Kids are playing football.", "Children play soccer outside.", 4.5),
    ("The stock market fell today.", "A bird sings in a tree.", 0.1),
    ("A plane is taking off.", "An airplane departs.", 4.8),
    ("He is reading a book.", "A man reads.", 3.9),
    ("The sun is shining.", "It is raining heavily.", 0.9),
]


@pytest.fixture
def scored_file(tmp_path: Path) -> Path:
    """A SemEval-style ``score<TAB>s1<TAB>s2`` file, repeated to 64 pairs."""
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{score}\t{a}\t{b}\n" for a, b, score in PAIRS * 8))
    return path


def write_config(tmp_path: Path, model_dir: Path, train_file: Path, **fields: object) -> Path:
    data = {
        "model": str(model_dir),
        "max_seq_length": 32,
        "data": {"train": [str(train_file)], "kind": "scored", "dev": str(train_file)},
        "dims": [4, 8, 16, 32],
        "batch_size": 4,
        "max_steps": 6,
        "save_steps": 3,
        "eval_steps": 3,
        "logging_steps": 1,
        "learning_rate": 1e-4,
        "output_dir": str(tmp_path / "out"),
    }
    data.update(fields)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_writes_a_loadable_elastic_model(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file))
    result = train(config)
    assert result.global_step == 6 and not result.interrupted
    out = Path(config.output_dir)
    assert not work_dir_for(out).exists(), "checkpoints are cleaned up after a finished run"
    info = json.loads((out / RUN_INFO).read_text())
    assert info["seed"] == 0 and info["global_step"] == 6 and "torch" in info["versions"]
    assert set(info["dev_scores"]) >= {"dev_spearman_4", "dev_spearman_32", "dev_spearman_mean"}
    assert load_config(out / "mic_config.yaml") == config
    card = (out / "README.md").read_text()
    assert "Dev scores per dimension" in card and "truncate_dim" in card
    vectors = SentenceTransformer(str(out), truncate_dim=8).encode(["a short sentence", "another one"])
    assert vectors.shape == (2, 8)


@pytest.mark.parametrize("loss", ["mrl", "2d", "plain"])
def test_baselines_train_with_the_same_recipe(tmp_path: Path, tiny_st_dir: Path, scored_file: Path, loss: str) -> None:
    config = load_config(
        write_config(
            tmp_path,
            tiny_st_dir,
            scored_file,
            loss=loss,
            max_steps=2,
            data={"train": [str(scored_file)], "kind": "scored", "dev": None},
        )
    )
    assert train(config).global_step == 2


def test_existing_output_is_refused_without_overwrite(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, max_steps=1))
    Path(config.output_dir).mkdir()
    with pytest.raises(TrainingError, match="already exists; pass --overwrite"):
        train(config)
    assert train(config, overwrite=True).global_step == 1


def test_resume_without_checkpoint_is_refused(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file))
    with pytest.raises(TrainingError, match="Nothing to resume"):
        train(config, resume=True)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"dims": [8, 64]}, TrainingError, "larger than the model's embedding size 32"),
        ({"model": "/no/such/model"}, ModelError, "does not exist"),
        ({"base_loss": "mnrl"}, TrainingError, "'mnrl' needs pairs"),
        ({"batch_size": 128}, TrainingError, "fewer than one batch"),
    ],
)
def test_user_errors(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, fields: dict, error: type, message: str
) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, **fields))
    with pytest.raises(error, match=message):
        train(config)


def test_empty_dataset_is_refused(tmp_path: Path, tiny_st_dir: Path) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    config = load_config(write_config(tmp_path, tiny_st_dir, empty))
    with pytest.raises(DataError):
        train(config)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_step(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config_path = write_config(tmp_path, tiny_st_dir, scored_file, max_steps=40, save_steps=5, eval_steps=100)
    out = tmp_path / "out"
    process = run_cli("train", str(config_path), cwd=tmp_path)
    wait_for_checkpoint(process, work_dir_for(out))
    process.kill()
    process.wait()
    assert not out.exists()
    resumed = run_cli("train", str(config_path), "--resume", cwd=tmp_path)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    assert json.loads((out / RUN_INFO).read_text())["global_step"] == 40


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config_path = write_config(tmp_path, tiny_st_dir, scored_file, max_steps=100000, save_steps=5, eval_steps=100000)
    process = run_cli("train", str(config_path), cwd=tmp_path)
    wait_for_checkpoint(process, work_dir_for(tmp_path / "out"))
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "--resume" in output and "Traceback" not in output
    states = sorted(work_dir_for(tmp_path / "out").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert int(states[-1].name.split("-")[1]) > 5, "the interrupt wrote a checkpoint of its own"


def test_cli_user_error_has_no_traceback(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config_path = write_config(tmp_path, tiny_st_dir, scored_file, dims=[8, 64])
    process = run_cli("train", str(config_path), "--set", "batch_size=1", cwd=tmp_path)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 2
    assert "batch_size" in output and "Traceback" not in output


@pytest.mark.slow
@pytest.mark.distributed
def test_torchrun_two_cpu_processes(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config_path = write_config(
        tmp_path,
        tiny_st_dir,
        scored_file,
        max_steps=3,
        save_steps=100,
        data={"train": [str(scored_file)], "kind": "scored", "dev": None},
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "mic",
        "train",
        str(config_path),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((tmp_path / "out" / RUN_INFO).read_text())["global_step"] == 3
