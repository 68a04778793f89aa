"""``mic demo``: train MIC briefly on STS-B train and show STS-B test at every dim, before and after.

A short, honest first run for a new user: the default offline encoder, CoSENT on STS-B train scores with the
MIC regularizers, then Spearman x100 on STS-B test at every Matryoshka dim next to the untrained model's.
About 6 minutes on 2 CPU cores with the default budget.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mic.data import DataError, load_scored_pairs, resolve_data_dir
from mic.evaluation.encoders import load_encoder
from mic.evaluation.sts import score_pairs
from mic.training.config import TrainConfig
from mic.training.recipe import train

HUB_STSB = "sentence-transformers/stsb"


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
    steps: int = 300,
    batch_size: int = 16,
    seed: int = 0,
    output_dir: str | None = None,
    model: str = "default",
) -> DemoResult:
    """Evaluate ``model``, train it with MIC for ``steps`` steps, evaluate again (STS-B test)."""
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
    base = load_encoder(model)
    config.dims = [dim for dim in config.dims if dim < base.dim] + [base.dim]
    test = load_scored_pairs(test_source, data_dir=folder)
    untrained = score_pairs(base, test, config.dims, show_progress_bar=True).scores
    result = train(config, overwrite=output_dir is None, command="mic demo")
    trained = score_pairs(load_encoder(str(result.output_dir)), test, config.dims, show_progress_bar=True).scores
    return DemoResult(
        dims=config.dims,
        untrained={dim: untrained[dim]["spearman"] for dim in config.dims},
        trained={dim: trained[dim]["spearman"] for dim in config.dims},
        steps=result.global_step,
        seconds=result.seconds,
        output_dir=result.output_dir,
        test_source=test.source,
    )
