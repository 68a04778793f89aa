"""What a result was produced with: the command, seed, package versions and git commit, recorded beside every output."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = [
    "mic-embeddings",
    "torch",
    "sentence-transformers",
    "transformers",
    "datasets",
    "numpy",
    "scipy",
    "onnxruntime",
]


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str | None:
    """The commit of the checkout this code runs from, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def provenance(command: str | None, seed: int) -> dict[str, object]:
    """The ``command``, ``seed``, package ``versions`` and ``git_commit`` fields of every result file."""
    return {"command": command, "seed": seed, "versions": package_versions(), "git_commit": git_commit()}
