"""STS Benchmark and SICK readers: columns by position, literal quotes, scales, data folder and row errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mic.data import DATA_DIR_ENV, DataError, load_sick, load_stsb, resolve_data_dir


def test_stsb_reads_columns_5_to_7_with_literal_quotes_and_extra_fields(tiny_data_dir: Path) -> None:
    pairs = load_stsb("train", tiny_data_dir)
    assert pairs.sentences1 == ["A plane is taking off.", '"Quoted" words stay.', "A man plays a flute."]
    assert pairs.sentences2[1] == 'Driver backs into a "stroller', "the unbalanced quote and extra fields are kept out"
    assert pairs.scores == [5.0, 4.0, 0.5]
    assert pairs.score_range == (0.0, 5.0)
    assert pairs.source.endswith("sts-train.csv")


def test_sick_reads_relatedness_on_its_1_to_5_scale(tiny_data_dir: Path) -> None:
    pairs = load_sick("test", tiny_data_dir)
    assert pairs.sentences1 == ["A man plays a flute.", "A dog runs."]
    assert pairs.sentences2 == ["A kid is playing.", "A dog is running."], "CRLF line endings are dropped"
    assert pairs.scores == [1.0, 5.0] and pairs.score_range == (1.0, 5.0)
    assert len(load_sick("trial", tiny_data_dir)) == len(load_sick("dev", tiny_data_dir)) == 2


def test_data_dir_comes_from_the_environment(tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tiny_data_dir))
    assert resolve_data_dir(None) == tiny_data_dir
    assert len(load_stsb("dev")) == 3


def test_missing_data_dir_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError, match=f"pass --data-dir DIR or set {DATA_DIR_ENV}=DIR"):
        load_stsb("train")
    with pytest.raises(DataError, match=r"nowhere \(from --data-dir\) does not exist"):
        resolve_data_dir(tmp_path / "nowhere")


def test_missing_file_names_the_path_tried(tiny_data_dir: Path) -> None:
    (tiny_data_dir / "sick2014" / "SICK_train.txt").unlink()
    with pytest.raises(DataError, match=r"sick2014/SICK_train.txt not found: .*set MIC_DATA_DIR=DIR"):
        load_sick("train", tiny_data_dir)


def test_unknown_split_lists_the_splits(tiny_data_dir: Path) -> None:
    with pytest.raises(DataError, match=r"Unknown split 'val' for stsbenchmark; choose one of \['dev', 'test'"):
        load_stsb("val", tiny_data_dir)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "g\tf\t2012\t1\t4.0\tonly one sentence",
            r"sts-train.csv:2: expected at least 7 tab-separated fields, found 6",
        ),
        ("g\tf\t2012\t1\thigh\ta\tb", r"sts-train.csv:2: score 'high' is not a number"),
        ("g\tf\t2012\t1\t5.5\ta\tb", r"sts-train.csv:2: score 5.5 is outside 0.0..5.0"),
        ("g\tf\t2012\t1\t2\t \tb", r"sts-train.csv:2: empty sentence in column 'sentence1'"),
    ],
)
def test_malformed_stsb_row_names_file_and_line(tiny_data_dir: Path, row: str, message: str) -> None:
    (tiny_data_dir / "stsbenchmark" / "sts-train.csv").write_text(f"g\tf\t2012\t0\t1\ta\tb\n{row}\n")
    with pytest.raises(DataError, match=message):
        load_stsb("train", tiny_data_dir)


def test_sick_without_its_header_columns_is_an_error(tiny_data_dir: Path) -> None:
    (tiny_data_dir / "sick2014" / "SICK_train.txt").write_text("id\ta\tb\tscore\n1\tx\ty\t3\n")
    with pytest.raises(DataError, match=r"SICK_train.txt: no column named 'sentence_A'; the columns are \['id'"):
        load_sick("train", tiny_data_dir)


@pytest.mark.integration
def test_real_files_have_the_published_sizes(data_dir: Path) -> None:
    sizes = {split: len(load_stsb(split, data_dir)) for split in ("train", "dev", "test")}
    assert sizes == {"train": 5749, "dev": 1500, "test": 1379}
    sizes = {split: len(load_sick(split, data_dir)) for split in ("train", "trial", "test")}
    assert sizes == {"train": 4500, "trial": 500, "test": 4927}


@pytest.mark.integration
def test_real_stsb_keeps_quotes_and_drops_trailing_sources(data_dir: Path) -> None:
    pairs = load_stsb("train", data_dir)
    assert any('"' in sentence for sentence in pairs.sentences1 + pairs.sentences2)
    assert not any("Europe Media Monitor" in sentence for sentence in pairs.sentences2)
    assert min(pairs.scores) == 0.0 and max(pairs.scores) == 5.0
