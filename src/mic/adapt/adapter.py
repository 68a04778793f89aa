"""The adapter ``A: R^D -> R^D`` applied to frozen embeddings, built from stock sentence-transformers modules.

``A(e) = W e + b`` (a ``Dense`` layer with identity activation), optionally followed by one residual
non-linear layer ``y + tanh(U y + c)`` (a ``Dense`` with ``use_residual``; ``U = 0, c = 0`` at
initialisation, so it starts as the identity). Initialisation is orthogonal: the identity (the adapter starts
as plain truncation) or the PCA rotation of the fit embeddings, ``W = V``, ``b = -V μ`` (it starts as the PCA
baseline of :mod:`mic.encoders`). The modules are sentence-transformers' own ``Dense`` class, so a
model folder that contains them loads with ``SentenceTransformer(DIR)`` without ``trust_remote_code``.

Saved as a folder: ``adapter.json`` (what it is: schema, size, dims, the base model and its
``model_fingerprint``, the fit settings) and ``adapter.safetensors`` (the weights).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from safetensors.torch import load_file, save_file
from sentence_transformers.base.modules import Dense
from torch import Tensor, nn

from mic.encoders import fit_pca
from mic.errors import MICError
from mic.staging import OutputKind, staged_output

SCHEMA = "mic-adapter/1"
CONFIG_FILE = "adapter.json"
WEIGHTS_FILE = "adapter.safetensors"
ADAPTER_OUTPUT = OutputKind("adapter", CONFIG_FILE, lambda config: config.get("schema") == SCHEMA)
"""An adapter folder; one saved before ``mic_output.json`` existed is known by its ``adapter.json`` schema."""
Init = Literal["identity", "pca"]
INITS: tuple[str, ...] = ("identity", "pca")


class AdapterError(MICError):
    """A user-fixable adapter problem: bad embeddings, a width or base-model mismatch, a missing adapter."""


def check_embeddings(embeddings: npt.ArrayLike | Tensor, what: str, width: int | None = None) -> Tensor:
    """``embeddings`` as a ``(N, D)`` float32 tensor, refusing what would silently give garbage.

    Raises:
        AdapterError: when it is not 2-D, is empty, has the wrong width, or holds NaN/inf (naming the first row).
    """
    tensor = torch.as_tensor(np.asarray(embeddings) if not isinstance(embeddings, Tensor) else embeddings)
    if tensor.ndim != 2 or tensor.shape[0] == 0:
        raise AdapterError(
            f"{what}: expected a non-empty (N, D) matrix of embeddings, got shape {tuple(tensor.shape)}."
        )
    if not tensor.is_floating_point():
        raise AdapterError(f"{what}: expected floating-point embeddings, got dtype {tensor.dtype}.")
    if width is not None and tensor.shape[1] != width:
        raise AdapterError(f"{what}: the embeddings are {tensor.shape[1]}-dim, but {width}-dim vectors are expected.")
    finite = torch.isfinite(tensor).all(dim=1)
    if not finite.all():
        row = int((~finite).nonzero()[0])
        raise AdapterError(
            f"{what}: row {row} (and {int((~finite).sum()) - 1} more) holds NaN or inf; remove or re-encode those rows."
        )
    return tensor.float()


MIN_FIT_ROWS = 2
"""The adapter learns from how rows relate to one another: fewer than two leave nothing to fit."""


def check_fit_embeddings(embeddings: npt.ArrayLike | Tensor, what: str) -> Tensor:
    """:func:`check_embeddings`, then refuse matrices an adapter cannot learn from, with the reason.

    Raises:
        AdapterError: for what :func:`check_embeddings` refuses, fewer than :data:`MIN_FIT_ROWS` rows, all-zero
            rows (they have no direction), or rows that are all the same vector (a constant matrix).
    """
    tensor = check_embeddings(embeddings, what)
    count = tensor.shape[0]
    if count < MIN_FIT_ROWS:
        raise AdapterError(
            f"{what}: an adapter is fitted on how rows relate, so it needs at least {MIN_FIT_ROWS} rows, got {count}; "
            "give more texts or vectors."
        )
    zero = tensor.abs().amax(dim=1) == 0
    if zero.all():
        raise AdapterError(f"{what}: every value is 0; these are not embeddings (check how they were saved).")
    if zero.any():
        row = int(zero.nonzero()[0])
        raise AdapterError(
            f"{what}: row {row} (and {int(zero.sum()) - 1} more) is all zeros and has no direction; remove those rows."
        )
    if (tensor == tensor[0]).all():
        raise AdapterError(
            f"{what}: all {count} rows are the same vector, so there is nothing to fit; check how they were made."
        )
    return tensor


class Adapter(nn.Module):
    """A fitted (or freshly initialised) map of frozen ``D``-dim embeddings whose prefixes are strong.

    Attributes:
        dim: ``D``, input and output size.
        dims: the prefix dims it was fitted for (ascending, the last one ``D``).
        init: ``"identity"`` or ``"pca"``.
        base_model: the name of the model whose embeddings it maps (``None`` for vectors of unknown origin).
        base_fingerprint: that model's :func:`mic.models.model_fingerprint` (``None`` when unknown).
        info: fit settings and timings, saved in ``adapter.json``.
        layers: the sentence-transformers ``Dense`` modules, applied in order.
    """

    def __init__(
        self,
        dim: int,
        dims: Sequence[int],
        *,
        init: Init = "identity",
        residual_layer: bool = False,
        base_model: str | None = None,
        base_fingerprint: str | None = None,
        info: dict[str, object] | None = None,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.dims = tuple(dims)
        self.init = init
        self.base_model = base_model
        self.base_fingerprint = base_fingerprint
        self.info: dict[str, object] = dict(info or {})
        linear = Dense(dim, dim, bias=True, activation_function=nn.Identity())
        layers: list[Dense] = [linear]
        if residual_layer:
            residual = Dense(dim, dim, bias=True, activation_function=nn.Tanh(), use_residual=True)
            nn.init.zeros_(residual.linear.weight)
            nn.init.zeros_(residual.linear.bias)
            layers.append(residual)
        self.layers = nn.ModuleList(layers)
        with torch.no_grad():
            linear.linear.weight.copy_(torch.eye(dim))
            linear.linear.bias.zero_()

    @property
    def residual_layer(self) -> bool:
        return len(self.layers) > 1

    def initialise_pca(self, embeddings: Tensor) -> None:
        """Set ``W = V`` and ``b = -V μ`` from the principal axes of ``embeddings (N, D)`` (needs ``N >= D``)."""
        projection = fit_pca(embeddings)
        with torch.no_grad():
            self.layers[0].linear.weight.copy_(projection.components)
            self.layers[0].linear.bias.copy_(-(projection.components @ projection.mean))
        self.init = "pca"

    def forward(self, embeddings: Tensor) -> Tensor:
        """``(B, D) -> (B, D)``, differentiable (used while fitting)."""
        features = {"sentence_embedding": embeddings}
        for layer in self.layers:
            features = layer(features)
        return features["sentence_embedding"]

    def transform(self, embeddings: npt.ArrayLike | Tensor, batch_size: int = 8192) -> Tensor:
        """Map frozen embeddings of the base model: ``(N, D) -> (N, D)`` float32; truncate the result to any dim.

        Raises:
            AdapterError: for a width other than ``D`` or rows with NaN/inf.
        """
        checked = check_embeddings(embeddings, "Adapter.transform", width=self.dim)
        with torch.inference_mode():
            return torch.cat(
                [self(checked[start : start + batch_size]) for start in range(0, len(checked), batch_size)]
            )

    def st_modules(self) -> list[Dense]:
        """Copies of the layers, to append to a SentenceTransformer (see :func:`mic.adapt.model.adapted_model`)."""
        return [copy.deepcopy(layer) for layer in self.layers]

    def check_base(self, name: str, fingerprint: str) -> None:
        """Refuse to run on embeddings of another model than the one it was fitted on.

        Raises:
            AdapterError: naming both models when the fingerprints differ.
        """
        if self.base_fingerprint is not None and self.base_fingerprint != fingerprint:
            raise AdapterError(
                f"This adapter was fitted on embeddings of {self.base_model!r} (fingerprint {self.base_fingerprint}), "
                f"not of {name!r} (fingerprint {fingerprint}); fit a new one with mic adapt {name}."
            )

    def config_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "dim": self.dim,
            "dims": list(self.dims),
            "init": self.init,
            "residual_layer": self.residual_layer,
            "base_model": self.base_model,
            "base_fingerprint": self.base_fingerprint,
            "info": self.info,
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``adapter.json`` and ``adapter.safetensors`` to the folder ``path`` atomically; returns it.

        Raises:
            OutputError: when ``path`` exists and ``overwrite`` is not set, or it is not (all) an adapter mic saved.
        """
        path = Path(path).expanduser()
        with staged_output(path, ADAPTER_OUTPUT, overwrite=overwrite, option="--out") as staging:
            save_file({name: tensor.contiguous() for name, tensor in self.state_dict().items()}, staging / WEIGHTS_FILE)
            (staging / CONFIG_FILE).write_text(json.dumps(self.config_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Adapter:
        """Read an adapter folder written by :meth:`save`.

        Raises:
            AdapterError: for a missing folder or file, another schema, or weights that do not fit the config.
        """
        path = Path(path).expanduser()
        config_path = path / CONFIG_FILE
        if not config_path.is_file() or not (path / WEIGHTS_FILE).is_file():
            raise AdapterError(f"{path} is not an adapter folder: it needs {CONFIG_FILE} and {WEIGHTS_FILE}.")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise AdapterError(f"{config_path} is not readable JSON: {error}.") from None
        if not isinstance(config, dict) or config.get("schema") != SCHEMA:
            found = config.get("schema") if isinstance(config, dict) else type(config).__name__
            raise AdapterError(f"{config_path}: schema {found!r} is not {SCHEMA!r}.")
        adapter = cls(
            int(config["dim"]),
            config["dims"],
            init=config["init"],
            residual_layer=bool(config["residual_layer"]),
            base_model=config.get("base_model"),
            base_fingerprint=config.get("base_fingerprint"),
            info=config.get("info"),
        )
        try:
            adapter.load_state_dict(load_file(path / WEIGHTS_FILE))
        except (RuntimeError, OSError) as error:
            raise AdapterError(f"{path / WEIGHTS_FILE} does not match {CONFIG_FILE}: {error}".strip()) from None
        return adapter.eval()
