"""The install the README gives is the one the tests ran with: every requirement pinned in constraints.txt."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [line for lines in project["optional-dependencies"].values() for line in lines]
    return [Requirement(line) for line in [*project["dependencies"], *extras]]


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(pair) == 2 for pair in pairs), "every line of constraints.txt is NAME==VERSION"
    return {canonicalize_name(name): version for name, version in pairs}


def test_every_requirement_is_pinned_within_its_declared_range() -> None:
    pinned = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {requirement}"


def test_pins_carry_no_local_build_label() -> None:
    assert not [version for version in pins().values() if "+" in version], "torch==2.13.0 fits CPU and CUDA builds"


def test_the_readme_installs_with_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -c constraints.txt -e ".[dev]"' in readme
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme


@pytest.mark.slow
def test_the_wheel_holds_the_package_its_type_marker_and_the_mic_script(tmp_path: Path) -> None:
    """Built from a copy of what pyproject.toml reads (setuptools writes build/ into the source folder);
    ``.ci/wheel`` installs it in a fresh venv and runs it."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", "dist"]
    subprocess.run([*command, str(source)], cwd=tmp_path, check=True)
    (wheel,) = (tmp_path / "dist").glob("mic_embeddings-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("mic_embeddings-")} == {"mic"}
    assert "mic/py.typed" in names and "mic/__main__.py" in names
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "mic = mic.cli:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
