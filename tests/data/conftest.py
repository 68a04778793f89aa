"""A tiny data folder in the layout of the real one: STS-B rows with literal quotes and extra fields, SICK."""

from __future__ import annotations

from pathlib import Path

import pytest

STSB_ROWS = [
    "main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is taking off.",
    'main-news\theadlines\t2016\t0012\t4\t"Quoted" words stay.\tDriver backs into a "stroller\tEMM (http://emm)\tEMM',
    "main-forums\tdeft-forum\t2015\t0003\t0.5\tA man plays a flute.\tA plane is taking off.",
]
SICK_ROWS = [
    "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment",
    "1\tA man plays a flute.\tA kid is playing.\t1.0\tNEUTRAL",
    "2\tA dog runs.\tA dog is running.\t5.0\tENTAILMENT",
]


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    """``stsbenchmark/`` and ``sick2014/`` with the same few rows in every split (SICK test with CRLF endings)."""
    root = tmp_path / "data"
    (root / "stsbenchmark").mkdir(parents=True)
    (root / "sick2014").mkdir()
    for name in ("sts-train.csv", "sts-dev.csv", "sts-test.csv"):
        (root / "stsbenchmark" / name).write_text("\n".join(STSB_ROWS) + "\n")
    for name in ("SICK_train.txt", "SICK_trial.txt"):
        (root / "sick2014" / name).write_text("\n".join(SICK_ROWS) + "\n")
    (root / "sick2014" / "SICK_test_annotated.txt").write_bytes(("\r\n".join(SICK_ROWS) + "\r\n").encode())
    return root


@pytest.fixture(autouse=True)
def datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send what ``datasets.load_dataset`` caches to the test's own folder, not the user's cache."""
    import datasets

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache
