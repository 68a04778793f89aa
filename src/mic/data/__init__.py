"""Data loading: benchmark files, generic pair/triplet/sentence files, BEIR folders and Hugging Face datasets.

Training reads :func:`load_training_dataset`, evaluation :func:`load_task`; both take the source strings
(``stsb:train``, ``sick:test``, a file path, a dataset name) described in :mod:`mic.data.sources`; evaluation
task specs (STS and retrieval kinds) are described in :mod:`mic.data.tasks`.
"""

from mic.data.beir import RetrievalData, load_beir
from mic.data.benchmarks import DATA_DIR_ENV, load_sick, load_stsb, resolve_data_dir
from mic.data.errors import DataError
from mic.data.files import read_sentence_lines, read_table
from mic.data.hub import load_hf_dataset
from mic.data.scored import ScoredPairs, infer_score_range
from mic.data.sources import KINDS, load_scored_pairs, load_sentences, load_training_dataset, parse_source
from mic.data.table import Table
from mic.data.tasks import Task, load_pairs_task, load_task, parse_tasks
from mic.defaults import DEFAULT_TASKS

__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_TASKS",
    "KINDS",
    "RetrievalData",
    "DataError",
    "ScoredPairs",
    "Table",
    "Task",
    "infer_score_range",
    "load_beir",
    "load_hf_dataset",
    "load_pairs_task",
    "load_scored_pairs",
    "load_sentences",
    "load_sick",
    "load_stsb",
    "load_task",
    "load_training_dataset",
    "parse_source",
    "parse_tasks",
    "read_sentence_lines",
    "read_table",
    "resolve_data_dir",
]
