"""The one config loader of ``mic train`` and ``mic adapt``: overrides, command options, errors that say where."""

from __future__ import annotations

import pytest

from mic.config import ConfigError, StrictModel, apply_overrides, load_config, validate


class Section(StrictModel):
    seed: int = 0


class Toy(StrictModel):
    name: str = "default"
    dims: list[int] | None = None
    fit: Section = Section()


def test_override_parses_lists_like_yaml() -> None:
    assert apply_overrides({}, ["dims=[8, 16]", "data.train=[stsb:train, sick:train]"]) == {
        "dims": [8, 16],
        "data": {"train": ["stsb:train", "sick:train"]},
    }


@pytest.mark.parametrize(("raw", "number"), [("1e-5", 1e-5), ("2.5E+3", 2500.0), ("-1e2", -100.0), (".5e1", 5.0)])
def test_exponent_floats_are_numbers_in_overrides_and_files(raw: str, number: float, tmp_path) -> None:
    class Weights(StrictModel):
        gamma: float = 0.1

    assert load_config(None, [f"gamma={raw}"], schema=Weights).gamma == number
    path = tmp_path / "weights.yaml"
    path.write_text(f"gamma: {raw}\n", encoding="utf-8")
    assert load_config(path, schema=Weights).gamma == number


def test_options_go_on_top_of_overrides_and_an_option_not_given_leaves_the_field() -> None:
    options = {"fit.seed": ("--seed", 3), "name": ("MODEL", None)}
    config = load_config(None, ["fit.seed=1", "name=other"], schema=Toy, options=options)
    assert (config.fit.seed, config.name) == (3, "other")


def test_a_bad_option_is_named_by_its_option_and_a_bad_override_by_set() -> None:
    with pytest.raises(ConfigError, match=r"^--seed: field 'fit.seed': must be a whole number \(got 'x'\)$"):
        load_config(None, schema=Toy, options={"fit.seed": ("--seed", "x")})
    with pytest.raises(ConfigError, match=r"^--set: field 'dims': must be a list"):
        load_config(None, ["dims=8"], schema=Toy)


def test_validate_names_the_source_of_values_given_in_python() -> None:
    with pytest.raises(ConfigError, match=r"^fit\(\): field 'sed': unknown field; did you mean 'seed'\? \(got 1\)$"):
        validate(Section, {"sed": 1}, source="fit()")
