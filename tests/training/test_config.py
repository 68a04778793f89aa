"""The config schema: defaults, overrides, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mic.training.config import DEFAULT_DIMS, ConfigError, TrainConfig, apply_overrides, dump_config, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_documented_recipe() -> None:
    config = load_config(None)
    assert config.model == "default"
    assert config.loss == "mic" and config.base_loss == "cosent"
    assert config.dims == DEFAULT_DIMS
    assert config.batch_size == 16


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path: Path) -> None:
    config = load_config(path)
    assert config.output_dir.startswith("output/")


def test_overrides_reach_top_level_and_nested_fields(tmp_path: Path) -> None:
    config = load_config(
        CONFIGS / "mic-stsb.yaml",
        ["output_dir=out/x", "max_steps=20", "batch_size=8", "epochs=2", "seed=3", "loss=mrl", "mic.gamma=0.25"],
    )
    assert (config.output_dir, config.max_steps, config.batch_size, config.epochs, config.seed, config.loss) == (
        "out/x",
        20,
        8,
        2.0,
        3,
        "mrl",
    )
    assert config.mic.gamma == 0.25


def test_override_parses_lists_like_yaml() -> None:
    assert apply_overrides({}, ["dims=[8, 16]", "data.train=[stsb:train, sick:train]"]) == {
        "dims": [8, 16],
        "data": {"train": ["stsb:train", "sick:train"]},
    }


def test_dump_round_trips(tmp_path: Path) -> None:
    config = load_config(None, ["mic.layers=[2, 3]", "seed=7"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(config))
    assert load_config(path) == config


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("batch_size=1", r"field 'batch_size'.*greater than or equal to 2"),
        ("mic.gamma=-1", r"field 'mic.gamma'"),
        ("loss=pca", r"field 'loss'.*'mic', 'mrl', '2d' or 'plain'"),
        ("dims=[16, 8]", r"ascending"),
        ("dims=[8, 8]", r"repeat"),
        ("dims=[0, 8]", r"positive"),
        ("bogus=1", r"field 'bogus'.*Extra inputs"),
    ],
)
def test_bad_values_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: default\nbatch_size: 16\nlearning_rate: fast\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: field 'learning_rate'"):
        load_config(path)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("model: default\ndims: [8, 16\nseed: 1\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+ is not valid YAML"):
        load_config(path)


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_override_without_equals() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["seed"])


def test_schema_rejects_assignment_of_bad_value() -> None:
    config = TrainConfig()
    with pytest.raises(ValueError):
        config.batch_size = 0
