"""The calibrated funnel: the depth measured at build time keeps its recall on new queries, and is the default.

The calibration (:mod:`mic.retrieval.calibration`) samples indexed documents as queries and measures the funnel's
recall@10 against exact full-dim search per shortlist depth; a search that sets no shortlist uses the smallest
depth that reached the target. An index built before the calibration searches with the old default.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mic.cli import app
from mic.retrieval import exact_search, funnel_search, prefix
from mic.retrieval.calibration import DEPTH_GRID, calibrate, depth_grid
from mic.retrieval.errors import RetrievalError
from mic.retrieval.index import DEFAULT_SHORTLIST, META_FILE, build_index, open_index
from mic.retrieval.search import Hits

FULL_DIM, PREFIX_DIM, DOCUMENTS = 64, 8, 3000
TARGET = 0.9
TOLERANCE = 0.04
"""How far the held-out recall may fall below the target, or differ from the calibration's own measure: 200
calibration queries estimate a recall near 0.9 to a standard error of about 0.01 (per-query recalls vary)."""
runner = CliRunner()


def synthetic(count: int, seed: int) -> np.ndarray:
    """Unit vectors of clustered points with a decaying spectrum: the 8-dim prefix ranks well, not perfectly."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(30, FULL_DIM))
    scales = np.linspace(1.0, 0.3, FULL_DIM)
    points = (centres[rng.integers(0, 30, count)] + rng.normal(size=(count, FULL_DIM)) * 0.8) * scales
    return prefix(points, FULL_DIM)


def recall_at_10(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]))


def test_the_calibrated_depth_keeps_its_recall_on_held_out_queries() -> None:
    documents = synthetic(DOCUMENTS, seed=0)

    def search(queries: np.ndarray, k: int, shortlist: int) -> Hits:
        return funnel_search(queries, documents, PREFIX_DIM, shortlist, k)

    calibration = calibrate(search, lambda start, stop: documents[start:stop], DOCUMENTS, target_recall=TARGET)
    assert calibration is not None and calibration.reached and calibration.queries == 200
    assert list(calibration.recalls) == list(DEPTH_GRID)
    assert calibration.depth == min(depth for depth, recall in calibration.recalls.items() if recall >= TARGET)
    assert calibration.depth > DEPTH_GRID[0]  # the prefix alone is not enough: the test measures something
    queries = synthetic(500, seed=1)  # new points of the same distribution, none of them indexed
    exact = exact_search(queries, documents, FULL_DIM, 10).indices
    held_out = recall_at_10(funnel_search(queries, documents, PREFIX_DIM, calibration.depth, 10).indices, exact)
    assert held_out >= TARGET - TOLERANCE and abs(held_out - calibration.recalls[calibration.depth]) <= TOLERANCE
    smaller = [depth for depth in DEPTH_GRID if depth < calibration.depth][-1]
    assert recall_at_10(funnel_search(queries, documents, PREFIX_DIM, smaller, 10).indices, exact) < held_out


def test_the_query_document_is_left_out_of_both_lists() -> None:
    """Every document is its own nearest neighbour; left in, the depth-10 recall of an exact funnel would be 1 with
    one row of the ten trivially right, and a funnel that only finds the query itself would score 0.1 per query."""
    documents = synthetic(200, seed=2)

    def only_itself(queries: np.ndarray, k: int, shortlist: int) -> Hits:
        own = exact_search(queries, documents, FULL_DIM, 1).indices
        return Hits(
            np.ones((len(queries), k), np.float32), np.concatenate([own, -np.ones((len(queries), k - 1), np.int64)], 1)
        )

    calibration = calibrate(only_itself, lambda start, stop: documents[start:stop], 200, queries=50)
    assert calibration is not None and set(calibration.recalls.values()) == {0.0}
    assert not calibration.reached and calibration.depth == max(calibration.recalls)
    assert "short of the target 0.99" in calibration.summary()


def test_the_grid_is_capped_at_the_other_documents() -> None:
    assert depth_grid(60) == [10, 20, 50, 59]
    assert depth_grid(11) == [10]
    assert calibrate(lambda *args: None, lambda start, stop: np.zeros((0, 2)), 10) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("options", "message"), [
    ({"target_recall": 1.5}, "--target-recall 1.5 is outside (0, 1]."),
    ({"calibration_queries": 0}, "--calibration-queries must be a positive number of documents, got 0."),
])  # fmt: skip
def test_bad_calibration_options_are_refused(options: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(RetrievalError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        build_index("default", "no-such-corpus.jsonl", tmp_path / "idx", dim=8, **options)
    assert not (tmp_path / "idx").exists()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    words = "river bank money loan water fish stone bridge market price boat rain".split()
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    rows = [{"_id": f"doc{row}", "text": " ".join(rng.choice(words, 6))} for row in range(80)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def search_record(index: Path, tmp_path: Path, *options: str) -> dict:
    out = tmp_path / f"hits{len(list(tmp_path.glob('hits*')))}.json"
    result = runner.invoke(
        app, ["search", str(index), "--query", "river bank", "--k", "3", "--json", str(out), *options]
    )
    assert result.exit_code == 0, result.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def test_mic_index_prints_its_phases_and_the_depth_search_uses_unless_told(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(tiny_model_dir), str(corpus), "--dim", "8", "--out", str(index),
                                 "--target-recall", "0.5", "--calibration-queries", "40"])  # fmt: skip
    output = " ".join(result.stdout.split())
    assert result.exit_code == 0, output
    for line in ("Encoded 80 documents", "Built the flat 8-dim float32 index in", "Calibrated the shortlist in"):
        assert line in output
    calibration = open_index(index).meta.calibration
    assert calibration is not None and (calibration.queries, calibration.target_recall) == (40, 0.5)
    assert f"Default shortlist {calibration.depth}: recall@10 {calibration.recalls[calibration.depth]:.3f}" in output
    assert search_record(index, tmp_path)["shortlist"] == calibration.depth
    assert search_record(index, tmp_path, "--shortlist", "33")["shortlist"] == 33  # the user's depth wins
    assert open_index(index).default_shortlist(k=70) == 70  # never fewer candidates than hits


def test_an_index_without_a_calibration_searches_with_the_old_default(
    tmp_path: Path, tiny_model_dir: Path, corpus: Path
) -> None:
    index = tmp_path / "idx"
    build_index(str(tiny_model_dir), str(corpus), index, dim=8)
    meta = json.loads((index / META_FILE).read_text(encoding="utf-8"))
    del meta["calibration"], meta["build_seconds"]  # as an index built before the calibration
    (index / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    assert open_index(index).default_shortlist() == DEFAULT_SHORTLIST
    assert search_record(index, tmp_path)["shortlist"] == DEFAULT_SHORTLIST
