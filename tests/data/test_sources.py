"""Source strings to datasets: every kind from benchmarks, files and dataset folders, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import Dataset, DatasetDict

from mic.data import DataError, load_scored_pairs, load_sentences, load_training_dataset, parse_source
from mic.data.sources import Source


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("spec", "target", "split"),
    [("stsb", "stsb", None), ("sick:trial", "sick", "trial"), ("org/set:test", "org/set", "test")],
)
def test_parse_source(spec: str, target: str, split: str | None) -> None:
    assert parse_source(spec) == Source(spec, target, split)


def test_an_existing_path_with_a_colon_is_not_split(tmp_path: Path) -> None:
    path = write(tmp_path, "a:b.tsv", "1\tx\ty\n")
    assert parse_source(path).target == path


@pytest.mark.parametrize(
    ("spec", "message"), [("", "Empty data source"), (":train", "write NAME:SPLIT"), ("stsb:", "NAME:SPLIT")]
)
def test_bad_source_strings(spec: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_source(spec)


def test_scored_pairs_of_benchmarks_default_to_the_test_split(tiny_data_dir: Path) -> None:
    assert load_scored_pairs("stsb", tiny_data_dir).source.endswith("sts-test.csv")
    assert load_scored_pairs("sickr", tiny_data_dir).source.endswith("SICK_test_annotated.txt")
    assert load_scored_pairs("sick:trial", tiny_data_dir).source.endswith("SICK_trial.txt")


def test_scored_pairs_of_a_semeval_file(tmp_path: Path) -> None:
    pairs = load_scored_pairs(write(tmp_path, "sts.tsv", "4.2\tA man sings.\tA man is singing.\n"))
    assert (pairs.sentences1, pairs.sentences2, pairs.scores) == (["A man sings."], ["A man is singing."], [4.2])
    assert pairs.score_range == (0.0, 5.0)


def test_scored_pairs_with_named_columns_and_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "q,d,sim\na,b,10\nc,d,40\n")
    pairs = load_scored_pairs(path, columns=["q", "d", "sim"], score_range=(0, 50))
    assert pairs.normalised_scores() == [0.2, 0.8]
    with pytest.raises(DataError, match=r"p.csv:3: score 40.0 is outside 0..20"):
        load_scored_pairs(path, columns=["q", "d", "sim"], score_range=(0, 20))


def test_scored_pairs_of_a_saved_dataset_split(tmp_path: Path) -> None:
    rows = {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "score": [0.0, 1.0]}
    DatasetDict({"validation": Dataset.from_dict(rows)}).save_to_disk(tmp_path / "hf")
    pairs = load_scored_pairs(f"{tmp_path / 'hf'}:validation")
    assert pairs.sentences2 == ["c", "d"] and pairs.scores == [0.0, 1.0]
    assert pairs.source == f"{tmp_path / 'hf'}:validation"


def test_scored_training_data_is_normalised_per_source(tiny_data_dir: Path, tmp_path: Path) -> None:
    semeval = write(tmp_path, "sts.txt", "2.5\tx\ty\n")
    dataset = load_training_dataset(["stsb:train", "sick", semeval], "scored", tiny_data_dir)
    assert dataset.column_names == ["sentence1", "sentence2", "score"]
    assert dataset["score"] == pytest.approx([1.0, 0.8, 0.1, 0.0, 1.0, 0.5]), "STS-B /5, SICK (s-1)/4, SemEval /5"
    assert dataset["sentence1"][3:] == ["A man plays a flute.", "A dog runs.", "x"], "splits default to train"


def test_pairs_from_jsonl_and_tsv_are_concatenated(tmp_path: Path) -> None:
    jsonl = write(tmp_path, "p.jsonl", '{"anchor": "q1", "positive": "d1", "id": 7}\n')
    tsv = write(tmp_path, "p.tsv", "sentence1\tsentence2\tscore\nq2\td2\t5\n")
    dataset = load_training_dataset([jsonl, tsv], "pairs")
    assert dataset.to_dict() == {"anchor": ["q1", "q2"], "positive": ["d1", "d2"]}


def test_triplets_from_csv_with_named_columns_and_from_a_saved_dataset(tmp_path: Path) -> None:
    csv = write(tmp_path, "t.csv", "q,pos,neg\na,b,c\n")
    Dataset.from_dict({"anchor": ["d"], "positive": ["e"], "negative": ["f"]}).save_to_disk(tmp_path / "hf")
    assert load_training_dataset(csv, "triplets", columns=["q", "pos", "neg"]).to_dict() == {
        "anchor": ["a"],
        "positive": ["b"],
        "negative": ["c"],
    }
    assert load_training_dataset(str(tmp_path / "hf"), "triplets")["negative"] == ["f"]


def test_unlabeled_sentences_are_deduplicated_in_order(tiny_data_dir: Path) -> None:
    dataset = load_training_dataset(["stsb:train", "sick:train"], "unlabeled", tiny_data_dir)
    expected = [
        "A plane is taking off.",
        "An air plane is taking off.",
        '"Quoted" words stay.',
        'Driver backs into a "stroller',
        "A man plays a flute.",
        "A kid is playing.",
        "A dog runs.",
        "A dog is running.",
    ]
    assert dataset.column_names == ["anchor", "positive"]
    assert dataset["anchor"] == dataset["positive"] == expected


def test_unlabeled_sentences_from_text_and_pair_files(tmp_path: Path) -> None:
    text = write(tmp_path, "s.txt", "one\ntwo\none\n")
    pairs = write(tmp_path, "p.csv", "id,sentence1,sentence2\n1,two,three\n")
    assert load_sentences([text, pairs]) == ["one", "two", "three"]
    assert load_sentences(pairs, columns=["sentence2"]) == ["three"]


def test_max_samples_keeps_the_first_rows(tiny_data_dir: Path) -> None:
    dataset = load_training_dataset("stsb:train", "scored", tiny_data_dir, max_samples=2)
    assert dataset["sentence1"] == ["A plane is taking off.", '"Quoted" words stay.']


@pytest.mark.parametrize(
    ("sources", "kind", "options", "message"),
    [
        ("stsb", "nli", {}, r"Unknown data kind 'nli'; choose one of \('scored', 'pairs', 'triplets', 'unlabeled'\)"),
        ("stsb", "scored", {"max_samples": 0}, "max_samples must be a positive number of rows, got 0"),
        ([], "scored", {}, "No data source given"),
        ("stsb:train", "pairs", {}, "stsb:train holds scored pairs, not pairs; use kind 'scored' or 'unlabeled'"),
        ("./missing/train.jsonl", "pairs", {}, r"File missing/train.jsonl not found \(looked for /"),
        ("nope.csv", "unlabeled", {}, r"File nope.csv not found"),
    ],
)
def test_training_data_errors(
    tiny_data_dir: Path, sources: str | list[str], kind: str, options: dict[str, int], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_training_dataset(sources, kind, tiny_data_dir, **options)


def test_a_file_has_no_splits(tmp_path: Path) -> None:
    path = write(tmp_path, "p.tsv", "1\tx\ty\n")
    with pytest.raises(DataError, match=r"p.tsv is a file and has no splits; drop ':train'"):
        load_scored_pairs(f"{path}:train")


def test_triplets_need_a_negative_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t.csv: missing column 'negative'"):
        load_training_dataset(write(tmp_path, "t.csv", "anchor,positive\na,b\n"), "triplets")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty.tsv: the file is empty"):
        load_training_dataset(write(tmp_path, "empty.tsv", ""), "scored")


@pytest.mark.integration
def test_real_benchmarks_as_training_data(data_dir: Path) -> None:
    scored = load_training_dataset(["stsb:train", "sick:train"], "scored", data_dir)
    assert len(scored) == 5749 + 4500
    assert min(scored["score"]) == 0.0 and max(scored["score"]) == 1.0
    unlabeled = load_training_dataset(["stsb:train", "sick:train"], "unlabeled", data_dir)
    assert len(set(unlabeled["anchor"])) == len(unlabeled) < 2 * len(scored), "repeated sentences appear once"
