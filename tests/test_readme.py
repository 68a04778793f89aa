"""The README's Python snippets run as written, offline (HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def snippet(section: str) -> str:
    """The first ```python block under the ``## {section}`` heading of the README."""
    text = README.read_text(encoding="utf-8").split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match, f"no Python block under '## {section}'"
    return match.group(1)


@pytest.mark.slow
def test_the_loss_snippet_trains_offline(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", snippet("Use the loss in your own training")],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'train_loss'" in result.stdout + result.stderr
