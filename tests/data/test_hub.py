"""Hugging Face datasets, tested offline: folders saved with save_to_disk, a folder of csv files, a hub name."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict

from mic.data import DataError, load_hf_dataset

ROWS = {"anchor": ["a", "b"], "positive": ["c", "d"]}


@pytest.fixture
def saved_dict(tmp_path: Path) -> Path:
    path = tmp_path / "saved-dict"
    DatasetDict(
        {"train": Dataset.from_dict(ROWS), "test": Dataset.from_dict({"anchor": ["x"], "positive": ["y"]})}
    ).save_to_disk(path)
    return path


def test_saved_dataset_dict_gives_the_split_asked_for_or_the_default(saved_dict: Path) -> None:
    assert load_hf_dataset(str(saved_dict), "test", "train")["anchor"] == ["x"]
    assert load_hf_dataset(str(saved_dict), None, "train").to_dict() == ROWS


def test_unknown_split_of_a_saved_dict_lists_the_splits(saved_dict: Path) -> None:
    with pytest.raises(DataError, match=r"saved-dict has no split 'dev'; choose one of \['test', 'train'\]"):
        load_hf_dataset(str(saved_dict), "dev", "train")


def test_saved_single_dataset_takes_no_split(tmp_path: Path) -> None:
    Dataset.from_dict(ROWS).save_to_disk(tmp_path / "single")
    assert load_hf_dataset(str(tmp_path / "single"), None, "train").to_dict() == ROWS
    with pytest.raises(DataError, match=r"single is one dataset saved without splits; drop ':train'"):
        load_hf_dataset(str(tmp_path / "single"), "train", "train")


def test_folder_of_csv_files_goes_through_load_dataset(tmp_path: Path) -> None:
    (tmp_path / "csvs").mkdir()
    (tmp_path / "csvs" / "train.csv").write_text("anchor,positive\na,c\nb,d\n")
    assert load_hf_dataset(str(tmp_path / "csvs"), None, "train").to_dict() == ROWS
    with pytest.raises(DataError, match=r"Could not load split 'test' of the dataset folder '.*csvs': Unknown split"):
        load_hf_dataset(str(tmp_path / "csvs"), "test", "train")


def test_unreachable_hub_name_is_a_data_error() -> None:
    with pytest.raises(DataError, match=r"Could not load split 'train' of the Hugging Face dataset 'no-org/no-set'"):
        load_hf_dataset("no-org/no-set", None, "train")
