"""The names of the encoder backends (:mod:`mic.onnx` implements them), importable without torch.

The search path of an ONNX-backed index (:mod:`mic.retrieval.light_encoder`) needs these names but not torch.
"""

from __future__ import annotations

BACKENDS = ("torch", "onnx", "onnx-int8")
DEFAULT_BACKEND = "torch"
FULL_PRECISION = {"onnx-int8": "onnx"}
"""The backend that computes a quantized backend's model in fp32 (exact to ``torch``, and faster): the teacher of an
adapter fitted on the quantized backend's vectors, so that it also corrects the quantization error."""
