"""The adapter at initialisation, its geometry, its folder format and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mic.adapt import Adapter, AdapterError
from mic.encoders import fit_pca
from mic.geometry import pairwise_cosine
from mic.staging import OutputError

DIMS = [4, 8, 16, 32]


def test_identity_init_reproduces_truncation_exactly(unit_rows: torch.Tensor) -> None:
    adapter = Adapter(32, DIMS)
    assert torch.equal(adapter.transform(unit_rows), unit_rows)


def test_residual_layer_starts_as_the_identity(unit_rows: torch.Tensor) -> None:
    assert torch.equal(Adapter(32, DIMS, residual_layer=True).transform(unit_rows), unit_rows)


def test_pca_init_reproduces_pca(unit_rows: torch.Tensor) -> None:
    adapter = Adapter(32, DIMS)
    adapter.initialise_pca(unit_rows)
    expected = fit_pca(unit_rows).apply(unit_rows)
    torch.testing.assert_close(adapter.transform(unit_rows), expected, atol=1e-5, rtol=0)
    assert adapter.init == "pca"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_an_orthogonal_adapter_keeps_full_dim_cosines(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randn(20, 16, generator=generator)
    rotation, _ = torch.linalg.qr(torch.randn(16, 16, generator=generator))
    adapter = Adapter(16, [4, 16])
    with torch.no_grad():
        adapter.layers[0].linear.weight.copy_(rotation)
    torch.testing.assert_close(pairwise_cosine(adapter.transform(rows)), pairwise_cosine(rows), atol=1e-5, rtol=0)
    assert not torch.allclose(adapter.transform(rows)[:, :4], rows[:, :4], atol=1e-3)  # it did move the prefixes


def test_save_and_load_round_trip(tmp_path: Path, unit_rows: torch.Tensor) -> None:
    adapter = Adapter(32, DIMS, residual_layer=True, base_model="tiny", base_fingerprint="abc", info={"rows": 3})
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    adapter.save(tmp_path / "adapter")
    loaded = Adapter.load(tmp_path / "adapter")
    torch.testing.assert_close(loaded.transform(unit_rows), adapter.transform(unit_rows), atol=0, rtol=0)
    assert (loaded.dims, loaded.base_model, loaded.base_fingerprint, loaded.info) == (
        tuple(DIMS),
        "tiny",
        "abc",
        {"rows": 3},
    )
    assert not list(tmp_path.glob(".*")), "no staging folder left behind"


def test_save_replaces_its_own_folder_but_never_a_foreign_one(tmp_path: Path) -> None:
    Adapter(32, DIMS).save(tmp_path / "adapter")
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        Adapter(32, DIMS, residual_layer=True).save(tmp_path / "adapter")
    Adapter(32, DIMS, residual_layer=True).save(tmp_path / "adapter", overwrite=True)
    assert Adapter.load(tmp_path / "adapter").residual_layer
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    (tmp_path / "mine" / "adapter.json").write_text('{"name": "my own adapter settings"}')
    with pytest.raises(OutputError, match="mine was not written by mic .no mic_output.json naming it a mic adapter"):
        Adapter(32, DIMS).save(tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_transform_accepts_numpy_and_refuses_a_wrong_width() -> None:
    adapter = Adapter(32, DIMS)
    assert adapter.transform(np.ones((2, 32), dtype=np.float32)).shape == (2, 32)
    with pytest.raises(AdapterError, match="the embeddings are 24-dim, but 32-dim vectors are expected"):
        adapter.transform(np.ones((2, 24), dtype=np.float32))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_transform_refuses_nan_and_inf_naming_the_row(bad: float) -> None:
    rows = torch.ones(4, 32)
    rows[2, 5] = bad
    with pytest.raises(AdapterError, match="row 2 .* holds NaN or inf"):
        Adapter(32, DIMS).transform(rows)


def test_check_base_refuses_another_model_naming_both() -> None:
    adapter = Adapter(32, DIMS, base_model="model-a", base_fingerprint="1111")
    adapter.check_base("model-a", "1111")
    with pytest.raises(AdapterError, match=r"'model-a' \(fingerprint 1111\), not of 'model-b' \(fingerprint 2222\)"):
        adapter.check_base("model-b", "2222")


def test_load_refuses_what_is_not_an_adapter(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="is not an adapter folder"):
        Adapter.load(tmp_path)
    Adapter(32, DIMS).save(tmp_path / "adapter")
    config = tmp_path / "adapter" / "adapter.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "schema": "other/9"}))
    with pytest.raises(AdapterError, match="schema 'other/9' is not 'mic-adapter/1'"):
        Adapter.load(tmp_path / "adapter")
    config.write_text(json.dumps({**json.loads(config.read_text()), "schema": "mic-adapter/1", "dim": 16}))
    with pytest.raises(AdapterError, match="does not match adapter.json"):
        Adapter.load(tmp_path / "adapter")
