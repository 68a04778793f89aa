"""``mic.adapt.fit`` on arrays: it makes low-dim prefixes agree better, is seeded, and refuses bad input."""

from __future__ import annotations

import pytest
import torch

from mic.adapt import AdapterError, PairSupervision, fit, prefix_cosines, prefix_similarity_error
from mic.config import ConfigError
from mic.geometry import bit_balance, pairwise_cosine

FAST = {"steps": 40, "batch_size": 64, "show_progress_bar": False}


def agreement(adapter, rows: torch.Tensor, dim: int) -> float:
    return prefix_similarity_error(prefix_cosines(adapter.transform(rows), [dim]), pairwise_cosine(rows)).item()


def test_fit_improves_the_low_dim_prefixes(unit_rows: torch.Tensor) -> None:
    rows = unit_rows.flip(1)  # most variance in the last coordinates: truncation keeps the weakest ones
    adapter = fit(rows, [4, 8, 16], learning_rate=1e-2, distill=0.0, **FAST)
    before = prefix_similarity_error(prefix_cosines(rows, [4]), pairwise_cosine(rows)).item()
    assert agreement(adapter, rows, 4) < 0.6 * before
    assert adapter.dims == (4, 8, 16, 32)  # the full size is always kept
    assert adapter.info["rows"] == 300 and adapter.info["fit_seconds"] >= 0
    assert set(adapter.info["final_terms"]) == {"pairwise", "topk"}


def test_fit_is_reproducible_for_a_seed(unit_rows: torch.Tensor) -> None:
    adapter = fit(unit_rows, [8], seed=3, **FAST)
    first = adapter.transform(unit_rows)
    assert set(adapter.info["final_terms"]) == {"pairwise", "topk", "distill"}  # the defaults
    again = fit(unit_rows, [8], seed=3, **FAST).transform(unit_rows)
    other = fit(unit_rows, [8], seed=4, **FAST).transform(unit_rows)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)


def test_fit_with_mic_terms_and_supervision_logs_every_term(unit_rows: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(0)
    scored = PairSupervision("scored", unit_rows[:50], unit_rows[50:100], torch.rand(50, generator=generator))
    positives = PairSupervision("qrels", unit_rows[100:150], unit_rows[150:200])
    adapter = fit(unit_rows, [8], [scored, positives], distill=1.0, sir=0.1, scr=1.0, init="pca", **FAST)
    assert set(adapter.info["final_terms"]) == {"pairwise", "topk", "distill", "sir", "scr", "task"}
    assert adapter.info["supervision"] == {"scored": 50, "qrels": 50}
    assert adapter.init == "pca"


def test_fit_takes_token_level_scr_when_token_states_are_given(unit_rows: torch.Tensor) -> None:
    from mic.adapt.tokens import TokenStates

    tokens = TokenStates(torch.randn(6, 5, 32, generator=torch.Generator().manual_seed(1)), torch.ones(6, 5))
    assert fit(unit_rows, [8], scr=1.0, tokens=tokens, **FAST).info["scr_form"] == "token"
    assert fit(unit_rows, [8], scr=1.0, **FAST).info["scr_form"] == "sentence"
    assert fit(unit_rows, [8], **FAST).info["scr_form"] is None
    with pytest.raises(AdapterError, match=r"token states must be \(S >= 2, T, 32\).*got \(6, 5, 16\)"):
        fit(unit_rows, [8], scr=1.0, tokens=TokenStates(torch.randn(6, 5, 16), torch.ones(6, 5)), **FAST)


def test_an_adapted_teacher_needs_supervision(unit_rows: torch.Tensor) -> None:
    with pytest.raises(AdapterError, match="teacher 'adapted' .* needs supervision"):
        fit(unit_rows, [8], teacher="adapted", **FAST)
    scored = PairSupervision("scored", unit_rows[:50], unit_rows[50:100], torch.rand(50))
    assert fit(unit_rows, [8], [scored], teacher="adapted", **FAST).info["settings"]["teacher"] == "adapted"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_fit_refuses_nan_and_inf(unit_rows: torch.Tensor, bad: float) -> None:
    rows = unit_rows.clone()
    rows[7, 0] = bad
    with pytest.raises(AdapterError, match="fit embeddings: row 7 .* holds NaN or inf"):
        fit(rows, [8], **FAST)


def test_fit_refuses_fewer_rows_than_one_batch_with_advice_that_works(unit_rows: torch.Tensor) -> None:
    with pytest.raises(AdapterError, match=r"got 300 embeddings, batch_size is 512.*fit.batch_size=300"):
        fit(unit_rows, [8], steps=1, show_progress_bar=False)
    with pytest.raises(AdapterError, match=r"got 2 embeddings, batch_size is 512.*--set fit.batch_size=2\)\.$"):
        fit(unit_rows[:2], [8], steps=1, show_progress_bar=False)
    assert fit(unit_rows[:2], [8], steps=1, batch_size=2, show_progress_bar=False).info["rows"] == 2


def degenerate(case: str, rows: torch.Tensor) -> torch.Tensor:
    """``rows`` made into a matrix an adapter cannot learn from."""
    if case == "one row":
        return rows[:1]
    if case == "all zero":
        return torch.zeros_like(rows)
    if case == "zero rows":
        return torch.cat([rows[:5], torch.zeros(3, rows.shape[1]), rows[5:]])
    return rows[:1].expand(len(rows), -1).clone()  # every row the same vector


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "one row",
            r"fit embeddings: an adapter is fitted on how rows relate, so it needs at least 2 rows, got 1; "
            r"give more texts or vectors\.$",
        ),  # fmt: skip
        ("all zero", r"fit embeddings: every value is 0; these are not embeddings"),
        ("zero rows", r"fit embeddings: row 5 \(and 2 more\) is all zeros and has no direction; remove those rows"),
        ("constant", r"fit embeddings: all 300 rows are the same vector, so there is nothing to fit"),
    ],
)
def test_fit_refuses_a_degenerate_matrix_with_the_reason(unit_rows: torch.Tensor, case: str, message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        fit(degenerate(case, unit_rows), [8], steps=1, batch_size=2, show_progress_bar=False)


def test_fit_refuses_dims_larger_than_the_embeddings(unit_rows: torch.Tensor) -> None:
    with pytest.raises(AdapterError, match="dim 64 is larger than the 32-dim embeddings of the input; allowed: 1..32"):
        fit(unit_rows, [8, 64], **FAST)


def test_fit_refuses_pca_init_with_fewer_rows_than_dims() -> None:
    rows = torch.nn.functional.normalize(torch.randn(20, 32), dim=-1)
    with pytest.raises(AdapterError, match="init 'pca' needs at least D = 32 rows, got 20"):
        fit(rows, [8], init="pca", steps=1, batch_size=16, show_progress_bar=False)


def test_fit_refuses_an_unknown_or_invalid_setting(unit_rows: torch.Tensor) -> None:
    with pytest.raises(ConfigError, match=r"^fit\(\): field 'sirr': unknown field; did you mean 'sir'\? \(got 1.0\)$"):
        fit(unit_rows, [8], sirr=1.0, **FAST)
    with pytest.raises(ConfigError, match=r"^fit\(\): field 'init': must be one of 'identity' or 'pca'"):
        fit(unit_rows, [8], init="random", **FAST)


def test_fit_refuses_supervision_of_another_width(unit_rows: torch.Tensor) -> None:
    pairs = PairSupervision("pairs.tsv", torch.ones(4, 16), torch.ones(4, 16), torch.rand(4))
    with pytest.raises(AdapterError, match="supervision pairs.tsv: the embeddings are 16-dim, but 32-dim"):
        fit(unit_rows, [8], [pairs], **FAST)


def test_teacher_embeddings_are_the_similarities_the_prefixes_keep(unit_rows: torch.Tensor) -> None:
    """Inputs that are a linear distortion of the teacher (as an int8 encoder's are of the fp32 one's, roughly):
    fitted with the teacher, the adapter's full output recovers the teacher's similarities; without, the inputs'."""
    distortion = torch.eye(32) + 0.5 * torch.randn(32, 32, generator=torch.Generator().manual_seed(1))
    inputs = unit_rows @ distortion
    settings = {**FAST, "steps": 150, "learning_rate": 1e-2}
    taught = fit(inputs, [8], teacher_embeddings=unit_rows, **settings)
    plain = fit(inputs, [8], **settings)

    def error(adapter) -> float:  # full-dim agreement with the teacher
        cosines = prefix_cosines(adapter.transform(inputs), [32])
        return prefix_similarity_error(cosines, pairwise_cosine(unit_rows)).item()

    assert error(taught) < 0.5 * error(plain)
    assert taught.info["teacher_embeddings"] and not plain.info["teacher_embeddings"]
    same = fit(unit_rows, [8], teacher_embeddings=unit_rows, **FAST).transform(unit_rows)
    torch.testing.assert_close(same, fit(unit_rows, [8], **FAST).transform(unit_rows))


def test_teacher_embeddings_need_one_row_per_fit_row_and_a_frozen_teacher(unit_rows: torch.Tensor) -> None:
    with pytest.raises(AdapterError, match="teacher embeddings: 299 rows for 300 fit embeddings"):
        fit(unit_rows, [8], teacher_embeddings=unit_rows[1:], **FAST)
    scored = PairSupervision("scored", unit_rows[:50], unit_rows[50:100], torch.rand(50))
    with pytest.raises(AdapterError, match="do not combine with teacher 'adapted'"):
        fit(unit_rows, [8], [scored], teacher_embeddings=unit_rows, teacher="adapted", **FAST)


def test_fit_with_the_bits_term_makes_the_prefix_sign_bits_balanced(unit_rows: torch.Tensor) -> None:
    def balance(adapter) -> float:  # of the hard sign bits of the 8-dim prefix; the rows' offset skews them
        return bit_balance(torch.sign(adapter.transform(unit_rows)[:, :8])).item()

    plain = fit(unit_rows, [8, 16], learning_rate=1e-2, **FAST)
    bits = fit(unit_rows, [8, 16], bits=10.0, learning_rate=1e-2, **FAST)
    assert {"bits", "bits_balance", "bits_decorrelation"} <= set(bits.info["final_terms"])
    assert balance(bits) < 0.1 * balance(plain)  # measured: 0.0009 vs 0.0206
