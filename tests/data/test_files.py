"""Local files: format by extension, CSV quoting vs literal TSV quotes, SemEval detection, sentence lines, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mic.data import DataError, read_sentence_lines, read_table
from mic.data.files import is_sentence_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_uses_standard_quoting(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "p.csv", 'sentence1,sentence2,score\n"Hi, there","She said ""no""",1\n'))
    assert table.rows == [{"sentence1": "Hi, there", "sentence2": 'She said "no"', "score": "1"}]
    assert table.columns == ["sentence1", "sentence2", "score"] and table.line_numbers == [2]


@pytest.mark.parametrize("suffix", [".tsv", ".txt"])
def test_tab_files_keep_quotes_literally(tmp_path: Path, suffix: str) -> None:
    table = read_table(write(tmp_path, f"p{suffix}", 'anchor\tpositive\n"Hi\tthere" she said\n'))
    assert table.rows == [{"anchor": '"Hi', "positive": 'there" she said'}]


def test_jsonl_rows_keep_their_types(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "p.jsonl", '{"anchor": "a", "score": 0.5}\n\n{"anchor": "b", "score": 1}\n'))
    assert table.rows == [{"anchor": "a", "score": 0.5}, {"anchor": "b", "score": 1}]
    assert table.columns == ["anchor", "score"] and table.line_numbers == [1, 3], "blank lines skipped, lines counted"


def test_headerless_score_tab_file_is_semeval_on_the_sts_scale(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "sts.tsv", "4.2\tA man sings.\tA man is singing.\n0\tA cat.\tA car.\n"))
    assert table.columns == ["score", "sentence1", "sentence2"] and table.score_range == (0.0, 5.0)
    assert table.rows[1] == {"score": "0", "sentence1": "A cat.", "sentence2": "A car."}
    assert read_table(write(tmp_path, "h.tsv", "score\ts1\ts2\n1\ta\tb\n")).score_range is None, "a header wins"


def test_byte_order_mark_and_crlf_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_bytes("\ufeffanchor\tpositive\r\na\tb\r\n".encode())
    assert read_table(path).rows == [{"anchor": "a", "positive": "b"}]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.tsv", "a\tb\tscore\nx\ty\n", r"p.tsv:2: expected 3 fields like the header, found 2"),
        ("p.tsv", "1\tx\ty\n2\tx\n", r"p.tsv:2: expected 3 fields like score<TAB>sentence1<TAB>sentence2, found 2"),
        ("p.csv", 'a,b\n"x,y\n', r"p.csv:2: unexpected end of data"),
        ("p.csv", 'a,b\n"x"y,z\n', r"p.csv:2: ',' expected after '\"'"),
        ("p.jsonl", '{"a": "x"}\n{"a": "y"\n', r"p.jsonl:2: bad JSON \(Expecting ',' delimiter at column 10\)"),
        ("p.jsonl", '{"a": "x"}\n{"a": "y\n', r"p.jsonl:2: bad JSON \(Unterminated string starting at column 7\)\.$"),
        ("p.jsonl", '{"a": "x"}\n["y"]\n', r"p.jsonl:2: expected a JSON object per line, found list"),
        ("p.json", "{}", r"p.json: unknown file type '.json'; use one of \['.csv', '.jsonl', '.tsv', '.txt'\]"),
        ("p", "a", r"p: unknown file type '\(none\)'"),
        ("p.csv", "", r"p.csv: the file is empty"),
        ("p.csv", "a,b\n\n", r"p.csv: no rows found; the data is empty"),
        ("p.jsonl", "\n", r"p.jsonl: no rows found"),
    ],
)
def test_malformed_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path, name, text))


def test_missing_file_names_the_path_tried(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"File .*nope.tsv not found \(looked for /.*nope.tsv\); check the path"):
        read_table(tmp_path / "nope.tsv")


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_bytes(b"a\tb\n\xff\xfe\tx\n")
    with pytest.raises(DataError, match=r"p.tsv: not UTF-8 text \(invalid start byte at byte \d+\)"):
        read_table(path)


def test_sentence_lines_skip_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", 'First "quoted" one.\r\n\n  \nSecond one.\n')
    assert is_sentence_file(path)
    assert read_sentence_lines(path) == ['First "quoted" one.', "Second one."]


def test_only_txt_without_a_tab_on_its_first_line_is_a_sentence_file(tmp_path: Path) -> None:
    assert not is_sentence_file(write(tmp_path, "p.txt", "\na\tb\nc\n"))
    assert not is_sentence_file(write(tmp_path, "s.tsv", "a sentence\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [("one\ntwo\tthree\n", r"s.txt:2: a tab in a file of one sentence per line"), ("\n \n", r"s.txt: no sentences")],
)
def test_malformed_sentence_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_sentence_lines(write(tmp_path, "s.txt", text))
