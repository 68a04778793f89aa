"""The config schema: defaults, overrides, and errors that name the file, line and field."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mic.losses import MICLoss
from mic.training.config import (
    ConfigError,
    TrainConfig,
    dims_for_model,
    dump_config,
    load_config,
    method_md_weights,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_documented_recipe() -> None:
    config = load_config(None)
    assert config.model == "default"
    assert config.loss == "mic" and config.base_loss == "cosent"
    assert config.dims is None, "dims follow the model: mic.dims.default_dims of its size"
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


def test_dump_round_trips(tmp_path: Path) -> None:
    config = load_config(None, ["mic.layers=[2, 3]", "seed=7"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_config(config))
    assert load_config(path) == config


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("batch_size=1", r"field 'batch_size': must be a number >= 2 \(got 1\)"),
        ("mic.gamma=-1", r"field 'mic.gamma': must be a number >= 0"),
        ("loss=pca", r"field 'loss': must be one of 'mic', 'mrl', '2d' or 'plain' \(got 'pca'\)"),
        ("dims=[16, 8]", r"field 'dims': dims must be in ascending order"),
        ("dims=[8, 8]", r"repeat"),
        ("dims=[0, 8]", r"positive"),
        (
            "mic.layers=top",
            r"field 'mic.layers': must be one of 'middle', 'last' or 'middle\+last', or a list of whole",
        ),
        ("mic.layers=[a]", r"field 'mic.layers': must be one of .*, or a list of whole numbers \(got \['a'\]\)$"),
        ("epochs=fast", r"field 'epochs': must be a number \(got 'fast'\)"),
        ("data.score_range=[1, 2, 3]", r"field 'data.score_range': must be a list \[low, high\]"),
        ("bogus=1", r"field 'bogus': unknown field; the fields here are model, max_seq_length, data"),
        ("learnin_rate=1e-4", r"field 'learnin_rate': unknown field; did you mean 'learning_rate'\?"),
        ("mic.gama=0.2", r"field 'mic.gama': unknown field; did you mean 'gamma'\?"),
        ("gamma=0.2", r"field 'gamma': unknown field; did you mean 'mic.gamma'\?"),
        ("max_steps=0", r"field 'max_steps': must be a number of steps > 0, or -1 to train for `epochs`"),
        ("max_steps=-5", r"field 'max_steps': must be a number of steps > 0, or -1"),
        ("max_steps=true", r"field 'max_steps': must be a whole number \(got True\)"),
        ("batch_size=16.0", r"field 'batch_size': must be a whole number \(got 16.0\)"),
        ("batch_size='16'", r"field 'batch_size': must be a whole number \(got '16'\)"),
        ("learning_rate='1e-4'", r"field 'learning_rate': must be a number \(got '1e-4'\)"),
        ("mic.gamma=false", r"field 'mic.gamma': must be a number \(got False\)"),
        ("dims=[8, true]", r"field 'dims': must be a list of whole numbers"),
        ("data.score_range=[0, true]", r"field 'data.score_range': must be a list whose entries are a number"),
    ],
)
def test_bad_values_name_the_field_in_plain_words(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_config(None, [override])
    for jargon in ("Value error", "Input should", "literal[", "list[int]", "Extra inputs"):
        assert jargon not in str(error.value)


@pytest.mark.parametrize("max_steps", [-1, 1, 500])
def test_max_steps_is_minus_one_or_positive(max_steps: int) -> None:
    assert load_config(None, [f"max_steps={max_steps}"]).max_steps == max_steps


def test_columns_and_score_range_are_data_fields() -> None:
    config = load_config(None, ["data.columns=[q, d, label]", "data.score_range=[1, 10]"])
    assert config.data.columns == ["q", "d", "label"] and config.data.score_range == (1.0, 10.0)


def test_default_mic_weights_are_the_tuned_form_and_the_loss_shares_them() -> None:
    weights = TrainConfig().mic
    assert weights.sir_weight == 0.0 and weights.gamma == 0.1 and weights.scr_weight == 1.0
    assert weights.distill_weight == 0.1 and weights.distill_teacher == "initial" and weights.distill_objective == "kl"
    loss_defaults = {
        name: parameter.default for name, parameter in inspect.signature(MICLoss.__init__).parameters.items()
    }
    for name, value in weights.model_dump().items():
        assert loss_defaults[name] == value, name


def test_mic_paper_config_is_method_md_untuned_form() -> None:
    config = load_config(CONFIGS / "mic-paper.yaml")
    assert config.loss == "mic" and config.mic == method_md_weights()
    assert config.mic.sir_weight == 1.0 and config.mic.gamma == 0.1 and config.mic.scr_weight == 1.0


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


@pytest.mark.parametrize(
    ("overrides", "size", "dims", "noted"),
    [
        ([], 384, [8, 16, 32, 64, 128, 256, 384], False),
        ([], 768, [8, 16, 32, 64, 128, 256, 512, 768], False),
        ([], 32, [8, 16, 32], False),
        (["dims=[8, 16, 64]"], 128, [8, 16, 64, 128], True),
        (["dims=[8, 16, 64]"], 64, [8, 16, 64], False),
    ],
)
def test_dims_follow_the_model(overrides: list[str], size: int, dims: list[int], noted: bool) -> None:
    resolved, note = dims_for_model(load_config(None, overrides), size)
    assert resolved == dims
    assert (note is not None) == noted
    if noted:
        assert f"has {size} dims" in note and str(dims) in note


def test_dims_set_larger_than_the_model_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"dims \[8, 16, 64\] go up to 64, but the model 'default' has 32 dims"):
        dims_for_model(load_config(None, ["dims=[8, 16, 64]"]), 32)


def test_an_error_from_an_override_names_set_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ConfigError, match=r"^--set: field 'batch_size': must be a number >= 2 \(got 1\)$"):
        load_config(path, ["batch_size=1"])
