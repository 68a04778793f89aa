"""Hugging Face datasets by name or local folder: the way online users reach any hub dataset.

A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk`` is read with ``load_from_disk``;
any other folder (of csv/json/parquet files) and any hub name (e.g. ``sentence-transformers/stsb``) with
``datasets.load_dataset``. Loading failures become a :class:`DataError` that carries the library's reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mic.data.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

SAVED_MARKERS = ("state.json", "dataset_dict.json")
"""Files ``save_to_disk`` writes at the top of a single dataset / a dataset dict."""


def load_hf_dataset(name: str, split: str | None, default_split: str) -> Dataset:
    """One split of the dataset ``name`` (a hub id or a local folder).

    Args:
        name: hub dataset id or local folder.
        split: the split asked for, or ``None`` for ``default_split``; a dataset saved without splits takes none.
        default_split: the split used when ``split`` is ``None``.

    Raises:
        DataError: when the dataset or split cannot be loaded, with the reason and the splits that exist.
    """
    from datasets import Dataset, load_dataset, load_from_disk  # seconds to import: only when a dataset is read

    folder = Path(name).expanduser()
    chosen = split or default_split
    if any((folder / marker).is_file() for marker in SAVED_MARKERS):
        saved = load_from_disk(str(folder))
        if isinstance(saved, Dataset):
            if split is not None:
                raise DataError(f"{name} is one dataset saved without splits; drop ':{split}'.")
            return saved
        if chosen not in saved:
            raise DataError(f"{name} has no split {chosen!r}; choose one of {sorted(saved)} as {name}:SPLIT.")
        return saved[chosen]
    try:
        return load_dataset(str(folder) if folder.is_dir() else name, split=chosen)
    except (OSError, ValueError) as error:
        what = "the dataset folder" if folder.is_dir() else "the Hugging Face dataset"
        raise DataError(f"Could not load split {chosen!r} of {what} {name!r}: {error}") from None
