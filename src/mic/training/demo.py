"""``mic demo``: train MIC briefly on STS-B train and show STS-B test at every dim, before and after.

A short, honest first run for a new user: the default offline encoder, CoSENT on STS-B train scores with the
MIC regularizers, then Spearman x100 on STS-B test at every Matryoshka dim next to the untrained model's.
About 6 minutes on 2 CPU cores with the default budget.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mic.cache import EmbeddingStore
from mic.data import DataError, load_scored_pairs, resolve_data_dir
from mic.defaults import DEFAULT_MODEL, DEFAULT_SEED, DEMO_BATCH_SIZE, DEMO_STEPS
from mic.encoders import load_encoder
from mic.evaluation.sts import score_pairs
from mic.onnx import DEFAULT_BACKEND, check_backend
from mic.progress import progress_bars
from mic.training.config import TrainConfig, dims_for_model
from mic.training.folders import prepare_output
from mic.training.recipe import train

HUB_STSB = "sentence-transformers/stsb"
_log = logging.getLogger("mic")


@dataclass
class DemoResult:
    """Per-dim STS-B test Spearman of the untrained and the MIC-trained model."""

    dims: list[int]
    untrained: dict[int, float]
    trained: dict[int, float]
    steps: int
    seconds: float
    output_dir: Path
    test_source: str


def demo_sources(data_dir: str | None) -> tuple[str, str, str | None]:
    """STS-B train/test from the data folder when there is one, else from the Hugging Face hub."""
    try:
        folder = str(resolve_data_dir(data_dir))
    except DataError:
        if data_dir is not None:
            raise
        return f"{HUB_STSB}:train", f"{HUB_STSB}:test", None
    return "stsb:train", "stsb:test", folder


def run_demo(
    data_dir: str | None = None,
    steps: int = DEMO_STEPS,
    batch_size: int = DEMO_BATCH_SIZE,
    seed: int = DEFAULT_SEED,
    output_dir: str | None = None,
    model: str = DEFAULT_MODEL,
    overwrite: bool = False,
    notify: Callable[[str], None] = _log.warning,
    backend: str = DEFAULT_BACKEND,
) -> DemoResult:
    """Evaluate ``model``, train it with MIC for ``steps`` steps, evaluate again (STS-B test).

    ``output_dir`` is checked (exists? ``overwrite``?) before anything is evaluated; ``notify`` receives the
    notes :func:`mic.training.recipe.train` gives. Both evaluations encode on ``backend`` (see :mod:`mic.onnx`);
    training runs in torch.

    Raises:
        TrainingError, DataError, ModelError: user errors, before the first evaluation where they can be known.
    """
    check_backend(backend)
    train_source, test_source, folder = demo_sources(data_dir)
    output = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="mic-demo-")) / "model"
    config = TrainConfig.model_validate(
        {
            "model": model,
            "data": {"train": [train_source], "kind": "scored", "dev": None, "data_dir": folder},
            "loss": "mic",
            "base_loss": "cosent",
            "max_steps": steps,
            "batch_size": batch_size,
            "seed": seed,
            "output_dir": str(output),
            "save_steps": max(steps, 1),
        }
    )
    prepare_output(output, resume=False, overwrite=overwrite, option="--out", can_resume=False)
    base = load_encoder(model, backend=backend)
    dims, note = dims_for_model(config, base.dim)
    config.dims = dims
    if note is not None:
        notify(note)
    test = load_scored_pairs(test_source, data_dir=folder)
    untrained = score_pairs(base, test, config.dims, EmbeddingStore(show_progress_bar=progress_bars())).scores
    result = train(config, overwrite=overwrite, command="mic demo", notify=notify)
    trained_encoder = load_encoder(str(result.output_dir), backend=backend)
    trained = score_pairs(trained_encoder, test, config.dims, EmbeddingStore(show_progress_bar=progress_bars())).scores
    return DemoResult(
        dims=config.dims,
        untrained={dim: untrained[dim]["spearman"] for dim in config.dims},
        trained={dim: trained[dim]["spearman"] for dim in config.dims},
        steps=result.global_step,
        seconds=result.seconds,
        output_dir=result.output_dir,
        test_source=test.source,
    )
