"""Retrieval tests build indexes, which fill the embedding cache: they get a private one, never the user's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIC_CACHE_DIR", str(tmp_path_factory.mktemp("embedding-cache")))
        yield
