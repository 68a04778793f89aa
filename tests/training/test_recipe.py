"""The training recipe end to end: output handling, resume after a kill, Ctrl-C, errors, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn

from helpers import run_cli, wait_for_checkpoint
from mic.data import DataError
from mic.models import ModelError
from mic.staging import OutputError
from mic.training import recipe
from mic.training.config import ConfigError, load_config
from mic.training.evaluator import MatryoshkaSTSEvaluator
from mic.training.folders import ELAPSED
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
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, max_seq_length=16))
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
    trained = SentenceTransformer(str(out), truncate_dim=8)
    assert trained.max_seq_length == SentenceTransformer(str(tiny_st_dir)).max_seq_length == 32, (
        "max_seq_length is the training length: the saved model reads as many tokens as the base model"
    )
    vectors = trained.encode(["a short sentence", "another one"])
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
    config = load_config(
        write_config(tmp_path, tiny_st_dir, scored_file, max_steps=1, data={"train": [str(scored_file)], "dev": None})
    )
    assert train(config).global_step == 1
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        train(config)
    assert train(config, overwrite=True).global_step == 1
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith((".out", "out"))) == ["out"]


def test_overwrite_never_deletes_a_folder_mic_did_not_write(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path
) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, max_steps=1))
    Path(config.output_dir).mkdir()
    (Path(config.output_dir) / "file.txt").write_text("hi")
    with pytest.raises(OutputError, match=r"out was not written by mic \(no mic_output.json naming it a mic model\)"):
        train(config, overwrite=True)
    assert (Path(config.output_dir) / "file.txt").read_text() == "hi"


def stop_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the run stop at ``step`` as if Ctrl-C had been pressed: it saves a checkpoint and returns."""
    original = recipe._GracefulInterrupt.on_step_end

    def on_step_end(self, args, state, control, **kwargs):  # the trainer's callback signature
        self.requested = self.requested or state.global_step == step
        return original(self, args, state, control, **kwargs)

    monkeypatch.setattr(recipe._GracefulInterrupt, "on_step_end", on_step_end)


def damage_mid_write(checkpoint: Path) -> str:
    """What kill -9 during a save leaves: no trainer_state.json, a short file."""
    (checkpoint / "trainer_state.json").unlink()
    (checkpoint / "optimizer.pt").write_bytes((checkpoint / "optimizer.pt").read_bytes()[:100])
    return "no trainer_state.json"


def truncate_in_complete(name: str) -> Callable[[Path], str]:
    """A complete checkpoint (trainer_state.json names its step) with one file cut short, as a full disk leaves."""

    def damage(checkpoint: Path) -> str:
        state = json.loads((checkpoint / "trainer_state.json").read_text())
        (checkpoint / "trainer_state.json").write_text(json.dumps({**state, "global_step": 5}))
        (checkpoint / name).write_bytes((checkpoint / name).read_bytes()[:100])
        return f"{name} is truncated or damaged"

    return damage


@pytest.mark.parametrize(
    "damage",
    [damage_mid_write, truncate_in_complete("model.safetensors"), truncate_in_complete("optimizer.pt")],
    ids=["killed mid-write", "truncated model.safetensors", "truncated optimizer.pt"],
)
def test_resume_falls_back_past_a_checkpoint_that_does_not_load(
    tmp_path: Path,
    tiny_st_dir: Path,
    scored_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Path], str],
) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, save_steps=100, eval_steps=100))
    stop_at_step(monkeypatch, 3)
    assert train(config).interrupted
    monkeypatch.undo()
    work = work_dir_for(Path(config.output_dir))
    newer = work / "checkpoint-5"
    shutil.copytree(work / "checkpoint-3", newer)
    reason = damage(newer)
    notes: list[str] = []
    result = train(config, resume=True, notify=notes.append)
    assert result.global_step == 6 and not result.interrupted
    assert any(note.startswith(f"Skipped {newer}: {reason}") for note in notes), notes
    assert any(note.startswith("Resuming from step 3 ") and "checkpoint-3" in note for note in notes), notes


def test_a_resume_under_other_settings_is_refused_naming_them(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, save_steps=100, eval_steps=100))
    stop_at_step(monkeypatch, 3)
    assert train(config).interrupted
    monkeypatch.undo()
    changed = config.model_copy(update={"learning_rate": 1e-3})
    with pytest.raises(TrainingError, match=r"started with other settings \(learning_rate: 0.0001 then, 0.001 now\)"):
        train(changed, resume=True)
    # where the data is read from is not what the run trains (the train file is named by its full path)
    elsewhere = config.model_copy(update={"data": config.data.model_copy(update={"data_dir": str(tmp_path)})})
    assert train(elsewhere, resume=True).global_step == 6


def test_dev_set_is_scored_once_at_the_end(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[int] = []
    original = MatryoshkaSTSEvaluator.__call__

    def counting(self, model, output_path=None, epoch=-1, steps_=-1, **kwargs):
        steps.append(kwargs.get("steps", steps_))
        return original(self, model, output_path, epoch, kwargs.get("steps", steps_))

    monkeypatch.setattr(MatryoshkaSTSEvaluator, "__call__", counting)
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, max_steps=2, eval_steps=100))
    result = train(config)
    assert steps == [2], "the trainer's final evaluation is the one reported"
    assert json.loads((result.output_dir / RUN_INFO).read_text())["dev_scores"] == result.dev_scores
    assert set(result.dev_scores) >= {"dev_spearman_4", "dev_spearman_mean"}


def test_columns_and_score_range_of_the_config_reach_the_data(tmp_path: Path, tiny_st_dir: Path) -> None:
    table = tmp_path / "pairs.csv"
    rows = [f"{a},{b},{score * 2}" for a, b, score in PAIRS * 4]  # a 0..10 scale in columns named q, d, label
    table.write_text("q,d,label\n" + "\n".join(rows) + "\n")
    data = {"train": [str(table)], "dev": str(table), "columns": ["q", "d", "label"], "score_range": [0, 10]}
    config = load_config(write_config(tmp_path, tiny_st_dir, table, max_steps=1, data=data))
    assert train(config).global_step == 1
    wrong = load_config(write_config(tmp_path, tiny_st_dir, table, max_steps=1, data={**data, "score_range": [0, 5]}))
    with pytest.raises(DataError, match=r"pairs.csv:2: score 8.4 is outside 0.0..5.0"):
        train(wrong, overwrite=True)


def test_default_dims_follow_the_model(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    path = write_config(
        tmp_path, tiny_st_dir, scored_file, max_steps=1, data={"train": [str(scored_file)], "dev": None}
    )
    raw = yaml.safe_load(path.read_text())
    del raw["dims"]
    path.write_text(yaml.safe_dump(raw))
    notes: list[str] = []
    result = train(load_config(path), notify=notes.append)
    assert load_config(result.output_dir / "mic_config.yaml").dims == [8, 16, 32]
    assert notes == [], "the default dims are the model's own: nothing to note"


def test_resume_without_checkpoint_is_refused(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file))
    with pytest.raises(TrainingError, match="Nothing to resume"):
        train(config, resume=True)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"dims": [8, 64]}, ConfigError, r"dims \[8, 64\] go up to 64, but the model .* has 32 dims"),
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


def test_a_run_that_cannot_draw_one_batch_is_refused(tmp_path: Path, tiny_st_dir: Path) -> None:
    repeated = tmp_path / "pairs.csv"
    repeated.write_text("anchor,positive\n" + "A man plays a guitar.,Someone plays music.\n" * 8)
    config = load_config(
        write_config(
            tmp_path,
            tiny_st_dir,
            repeated,
            base_loss="mnrl",
            data={"train": [str(repeated)], "kind": "pairs", "dev": None},
        )
    )
    with pytest.raises(TrainingError, match=r"0 steps on 8 rows at batch_size 4 \(base_loss 'mnrl'"):
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
    assert "Resuming from step " in output
    assert json.loads((out / RUN_INFO).read_text())["global_step"] == 40


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_and_says_how_to_resume(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, stop: signal.Signals
) -> None:
    """SIGTERM is how ``timeout``, Slurm and ``kill`` stop a job: it saves like Ctrl-C does."""
    config_path = write_config(tmp_path, tiny_st_dir, scored_file, max_steps=100000, save_steps=5, eval_steps=100000)
    process = run_cli("train", str(config_path), cwd=tmp_path)
    wait_for_checkpoint(process, work_dir_for(tmp_path / "out"))
    process.send_signal(stop)
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
    assert result.stdout.count("Training mic") == 1 and result.stdout.count("Saved") == 1, "rank 0 alone prints"


def test_a_resumed_run_counts_the_training_time_of_every_session(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, save_steps=100, eval_steps=100))
    stop_at_step(monkeypatch, 3)
    first = train(config)
    monkeypatch.undo()
    elapsed = work_dir_for(Path(config.output_dir)) / "checkpoint-3" / ELAPSED
    recorded = json.loads(elapsed.read_text())["train_seconds"]
    assert 0 < recorded <= first.seconds + 0.1
    elapsed.write_text(json.dumps({"train_seconds": 1000.0}))  # as if the first session had taken 1000 s
    result = train(config, resume=True)
    assert 1000 < result.seconds < 1000 + 600
    assert json.loads((Path(config.output_dir) / RUN_INFO).read_text())["train_seconds"] == round(result.seconds, 1)


def test_a_resumed_run_continues_the_ema_teacher_where_it_stopped(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EMA teacher is training state like the optimizer's: a resume restores it, not the base weights."""
    built: list[nn.Module] = []
    build_loss = recipe.build_loss
    monkeypatch.setattr(
        recipe, "build_loss", lambda config, model: built.append(build_loss(config, model)) or built[-1]
    )
    mic = {"gamma": 0.0, "distill_weight": 1.0, "distill_teacher": "ema", "distill_ema_decay": 0.5}

    def run(name: str, stop_at: int | None = None) -> Tensor:
        folder = tmp_path / name
        folder.mkdir()
        config = load_config(
            write_config(folder, tiny_st_dir, scored_file, mic=mic, learning_rate=1e-2, save_steps=100, eval_steps=100)
        )
        if stop_at is not None:
            with monkeypatch.context() as patch:
                stop_at_step(patch, stop_at)
                assert train(config).interrupted
        assert train(config, resume=stop_at is not None).global_step == 6
        return torch.cat([p.detach().flatten() for p in built[-1].teacher.parameters()])

    straight, resumed = run("straight"), run("resumed", stop_at=3)
    base = torch.cat([p.detach().flatten() for p in SentenceTransformer(str(tiny_st_dir)).parameters()])
    assert not torch.allclose(straight, base), "the EMA teacher moved away from the base weights"
    torch.testing.assert_close(resumed, straight)


def trained_weights(tmp_path: Path, tiny_st_dir: Path, scored_file: Path, seed: int, name: str) -> tuple[dict, dict]:
    """Train the tiny model 4 MIC steps (dropout on) with ``seed``; its final weights and dev scores."""
    from safetensors.torch import load_file

    config = load_config(
        write_config(tmp_path, tiny_st_dir, scored_file, seed=seed, max_steps=4, output_dir=str(tmp_path / name))
    )
    result = train(config)
    return load_file(str(result.output_dir / "model.safetensors")), result.dev_scores


def test_the_same_seed_gives_the_same_weights_and_scores(tmp_path: Path, tiny_st_dir: Path, scored_file: Path) -> None:
    first, first_scores = trained_weights(tmp_path, tiny_st_dir, scored_file, seed=0, name="a")
    again, again_scores = trained_weights(tmp_path, tiny_st_dir, scored_file, seed=0, name="b")
    other, _ = trained_weights(tmp_path, tiny_st_dir, scored_file, seed=1, name="c")
    assert first.keys() == again.keys() and all(torch.equal(first[key], again[key]) for key in first)
    assert first_scores == again_scores
    assert any(not torch.equal(first[key], other[key]) for key in first)


def test_the_thread_count_is_fixed_inside_a_run_and_recorded(
    tmp_path: Path, tiny_st_dir: Path, scored_file: Path
) -> None:
    before = torch.get_num_threads()
    config = load_config(write_config(tmp_path, tiny_st_dir, scored_file, threads=2, max_steps=1))
    out = train(config).output_dir
    assert json.loads((out / RUN_INFO).read_text())["threads"] == 2
    assert torch.get_num_threads() == before and not torch.are_deterministic_algorithms_enabled()


def test_wordllama_trains_with_a_baseline_loss(tmp_path: Path, scored_file: Path, tiny_st_dir: Path) -> None:
    config = load_config(
        write_config(tmp_path, tiny_st_dir, scored_file, model="wordllama", loss="mrl", max_steps=2, dims=[8, 256])
    )
    result = train(config)
    assert result.global_step == 2 and set(result.dev_scores) >= {"dev_spearman_8", "dev_spearman_256"}


def test_wordllama_trains_with_loss_mic_on_its_token_vectors(
    tmp_path: Path, scored_file: Path, tiny_st_dir: Path
) -> None:
    """A static model's token states are its token vectors: SCR and the token-level SD objective read them."""
    config = load_config(
        write_config(tmp_path, tiny_st_dir, scored_file, model="wordllama", dims=[8, 256], max_steps=2,
                     mic={"gamma": 1.0, "distill_weight": 0.1, "distill_objective": "cka"})
    )  # fmt: skip
    result = train(config)
    assert result.global_step == 2 and set(result.dev_scores) >= {"dev_spearman_8", "dev_spearman_256"}


def test_mic_loss_names_the_layers_a_static_model_has(tmp_path: Path, scored_file: Path, tiny_st_dir: Path) -> None:
    config = load_config(
        write_config(tmp_path, tiny_st_dir, scored_file, model="wordllama", dims=[8, 256], mic={"layers": [2]})
    )
    with pytest.raises(TrainingError, match=r"cannot train model 'wordllama': layer 2 .*no layers.*'middle'"):
        train(config)
