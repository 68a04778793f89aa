"""Data loading: benchmark files, generic pair/triplet/sentence files and Hugging Face datasets.

Training reads :func:`load_training_dataset`, evaluation :func:`load_scored_pairs`; both take the same source
strings (``stsb:train``, ``sick:test``, a file path, a dataset name) described in :mod:`mic.data.sources`.
"""

from mic.data.benchmarks import DATA_DIR_ENV, load_sick, load_stsb, resolve_data_dir
from mic.data.errors import DataError
from mic.data.files import read_sentence_lines, read_table
from mic.data.hub import load_hf_dataset
from mic.data.scored import ScoredPairs, infer_score_range
from mic.data.sources import KINDS, load_scored_pairs, load_sentences, load_training_dataset, parse_source
from mic.data.table import Table

__all__ = [
    "DATA_DIR_ENV",
    "KINDS",
    "DataError",
    "ScoredPairs",
    "Table",
    "infer_score_range",
    "load_hf_dataset",
    "load_scored_pairs",
    "load_sentences",
    "load_sick",
    "load_stsb",
    "load_training_dataset",
    "parse_source",
    "read_sentence_lines",
    "read_table",
    "resolve_data_dir",
]
