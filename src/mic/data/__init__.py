"""Data loading: benchmark files, generic pair/triplet/sentence files and the Hugging Face hub."""

from mic.data.benchmarks import (
    DATA_DIR_ENV,
    DataError,
    ScoredPairs,
    load_sick,
    load_stsb,
    resolve_data_dir,
)

__all__ = ["DATA_DIR_ENV", "DataError", "ScoredPairs", "load_sick", "load_stsb", "resolve_data_dir"]
