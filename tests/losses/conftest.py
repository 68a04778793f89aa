"""Loss tests run tiny tensors on shared CPU cores: one intra-op thread avoids oversubscription (about 3x faster)."""

from __future__ import annotations

from helpers import one_torch_thread  # noqa: F401  (autouse fixture)
