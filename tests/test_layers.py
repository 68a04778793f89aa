"""The package's layers: a module imports only from its own layer or the layers below it, never from above.

The order is the house style's layout (base modules, encoders, cache, geometry, losses, data, training, adapt,
retrieval, evaluation, cli), bottom first, with two changes the code needs:

- ``data`` sits below ``encoders``: the ``pca:`` baseline of :func:`mic.encoders.load_encoder` reads its fit
  sentences with :func:`mic.data.load_sentences`, and ``data`` (file and hub readers) needs nothing above it.
- ``training`` sits above ``evaluation``: the dev evaluator run during training and ``mic demo`` score with
  evaluation's STS scoring (:func:`mic.evaluation.sts.score_pairs`), and nothing in evaluation needs training.

``models`` (loading a sentence-transformers model), ``onnx`` (its encoder backends) and ``forward`` (one forward with
every layer's token states, which the MIC terms and the token statistics read) share the ``encoders`` layer they
serve. Every import counts,
including those inside function bodies and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "mic"

LAYERS: list[set[str]] = [
    {
        "mic",
        "defaults",
        "lazy",
        "dims",
        "errors",
        "staging",
        "provenance",
        "config",
        "config_errors",
        "progress",
        "distributed",
        "cache_dir",
        "encoder_backends",
    },
    {"data"},
    {"encoders", "models", "onnx", "forward"},
    {"cache"},
    {"geometry"},
    {"losses"},
    {"adapt"},
    {"retrieval"},
    {"evaluation"},
    {"training"},
    {"cli", "__main__"},
]
"""Bottom first: the top-level modules and packages of ``mic`` in each layer."""

RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def top_level(module: str) -> str | None:
    """``mic.retrieval.index`` -> ``retrieval``; ``mic`` -> ``mic``; a module outside ``mic`` -> ``None``."""
    parts = module.split(".")
    if parts[0] != "mic":
        return None
    return parts[1] if len(parts) > 1 else "mic"


def module_name(path: Path) -> str:
    """``src/mic/retrieval/index.py`` -> ``mic.retrieval.index``; a package's ``__init__`` is the package."""
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module ``source`` imports, anywhere in it (relative imports resolved), with its line."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
    return found


def upward_imports(path: Path) -> list[str]:
    """The imports of the module at ``path`` that reach a layer above its own, as ``file:line: a -> b``."""
    module = module_name(path)
    own = top_level(module)
    problems = []
    for line, target in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
        layer = top_level(target)
        if layer is not None and RANK[layer] > RANK[own]:
            problems.append(f"{path.relative_to(SOURCE.parent)}:{line}: {own} imports {target} from a higher layer")
    return problems


MODULES = sorted(path for path in SOURCE.rglob("*.py") if path != SOURCE / "__init__.py")
"""Every module but ``mic/__init__.py``, the public face that lazily re-exports the losses for ``from mic import``."""


def test_every_top_level_module_has_a_layer() -> None:
    names = {top_level(module_name(path)) for path in MODULES}
    assert names - RANK.keys() == set(), "place each new module or package in LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(SOURCE)))
def test_no_module_imports_from_a_higher_layer(path: Path) -> None:
    assert upward_imports(path) == []


def test_imports_inside_functions_and_relative_imports_are_seen() -> None:
    source = "def f():\n    from mic.evaluation import run_eval\n\nfrom .index import build_index\n"
    assert imported_modules(source, "mic.retrieval.search", is_package=False) == [
        (4, "mic.retrieval.index"),
        (2, "mic.evaluation"),
    ]
