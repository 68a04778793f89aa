"""End to end on real STS-B pairs: training lowers the loss, the model reloads truncated, a killed run resumes."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer

from helpers import run_cli, wait_for_checkpoint
from mic.training.config import load_config
from mic.training.recipe import RUN_INFO, train, work_dir_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def real_config(tmp_path: Path, data_dir: Path, model: str, **fields: object) -> list[str]:
    settings = {
        "model": model,
        "data.train": "[stsb:train]",
        "data.dev": "null",
        "data.max_train_samples": 200,
        "data.data_dir": str(data_dir),
        "max_steps": 20,
        "batch_size": 16,
        "learning_rate": 1e-4,
        "logging_steps": 1,
        "save_steps": 10,
        "output_dir": str(tmp_path / "out"),
        **fields,
    }
    return [f"{key}={value}" for key, value in settings.items()]


def test_twenty_steps_on_real_pairs_lower_the_loss(tmp_path: Path, data_dir: Path) -> None:
    from mic.training import recipe

    history: list[dict] = []
    original = recipe.SentenceTransformerTrainer.train

    def train_and_keep_history(self, *args, **kwargs):  # the trainer's log history is the loss curve
        output = original(self, *args, **kwargs)
        history.extend(self.state.log_history)
        return output

    recipe.SentenceTransformerTrainer.train = train_and_keep_history
    try:
        result = train(load_config(None, real_config(tmp_path, data_dir, "default")))
    finally:
        recipe.SentenceTransformerTrainer.train = original
    task = [entry["task"] for entry in history if "task" in entry]
    assert len(task) == 20 and all(map(lambda x: x == x, task))
    assert statistics.mean(task[-5:]) < statistics.mean(task[:5]), task
    vectors = SentenceTransformer(str(result.output_dir), truncate_dim=32).encode(["A man plays a guitar."])
    assert vectors.shape == (1, 32)


def test_killed_real_data_run_resumes(tmp_path: Path, data_dir: Path, tiny_st_dir: Path) -> None:
    overrides = real_config(tmp_path, data_dir, str(tiny_st_dir), dims="[4,8,16,32]", save_steps=5)
    args = [item for override in overrides for item in ("--set", override)]
    process = run_cli("train", *args, cwd=tmp_path)
    wait_for_checkpoint(process, work_dir_for(tmp_path / "out"))
    process.kill()
    process.wait()
    resumed = run_cli("train", *args, "--resume", cwd=tmp_path)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    assert json.loads((tmp_path / "out" / RUN_INFO).read_text())["global_step"] == 20
