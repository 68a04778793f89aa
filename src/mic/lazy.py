"""Lazy re-exports for a package's ``__init__`` (PEP 562 module ``__getattr__`` and ``__dir__``).

A package lists where each public name lives; the name is imported from there on first use, so importing one
light submodule (e.g. :mod:`mic.retrieval.defaults`) does not load what the package's other modules need.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, homes: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` that resolve each name of ``homes`` from its module.

    Args:
        package: the package's ``__name__``.
        homes: public name -> the module it is imported from on first use.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"build_index": "mic.retrieval.index"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> object:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(homes[name]), name)

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
