"""The defaults of ``mic index`` and ``mic search``, as plain values in a module that imports nothing.

:func:`mic.retrieval.index.build_index`, :func:`mic.retrieval.index.search_texts`, the search service and the
command line all read them here, so the command line shows them in ``--help`` without loading numpy or torch.
"""

DEFAULT_PRECISION = "float32"
"""How the prefixes the shortlist is searched on are stored: ``float32``, ``int8`` or ``binary``."""
DEFAULT_KIND = "auto"
"""The prefix index: ``flat`` (exact), ``hnsw`` (graph) or ``auto`` (by corpus size)."""
DEFAULT_INDEX_BACKEND = "faiss"
"""Where an index keeps its vectors: ``faiss`` (files in the index folder) or ``qdrant``."""
DEFAULT_INDEX_ENCODER_BACKEND = "onnx"
"""The encoder backend an index's documents and queries are encoded on when none is given (``encoder_backend=None``,
the default of :func:`mic.retrieval.index.build_index` and ``mic index``): ``onnx`` (fp32) for a transformer model,
as benchmarks/results/encoder_speed.md measured it: cosine 1.0000 to ``torch``, the same STS-B at 32 and 384 dims,
1.88x faster per query, and its index gets the light query path (``mic search`` without torch). A model with no
transformer to export (``wordllama``) is encoded on ``torch`` instead, with a note. Only indexes default to it;
``load_encoder``, ``mic eval`` and training keep :data:`mic.encoder_backends.DEFAULT_BACKEND`."""
DEFAULT_RERANK_PRECISION = "float16"
"""How the full vectors kept for the re-rank are stored: ``float16`` or ``int8``."""
DEFAULT_CHUNK_SIZE = 10_000
"""Documents encoded and added per step: about 15 MB of float32 vectors at 384 dims."""
DEFAULT_K = 10
"""Hits per query."""
DEFAULT_SHORTLIST = 100
"""Candidates found on the prefix and re-ranked at full dim, for an index without a calibrated depth (built before
calibration existed, or too small to calibrate)."""
DEFAULT_TARGET_RECALL = 0.99
"""The recall@10 against exact full-dim search that an index's calibrated default shortlist must keep."""
DEFAULT_CALIBRATION_QUERIES = 200
"""Documents sampled as queries: recall@10 over 200 queries has a standard error of at most 0.01 near 0.99."""
