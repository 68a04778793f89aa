"""The names of the encoder backends (:mod:`mic.onnx` implements them), importable without torch.

The search path of an ONNX-backed index (:mod:`mic.retrieval.light_encoder`) needs these names but not torch.
"""

from __future__ import annotations

BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "torch"
