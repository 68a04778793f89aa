"""Put an adapter on its base model: a sentence-transformers model folder that every ``mic`` command loads.

The adapted model is the base model's modules unchanged, then the adapter's ``Dense`` layers, then
``Normalize``: ``encode`` returns ``norm(A(base.encode(x)))``, and cosines of any prefix are those of
``A(e)[:m]``. The adapter goes after the base model's own ``Normalize`` (when it has one) because it was
fitted on what ``base.encode`` returns; moving it before would feed it unnormalised vectors. All modules are
sentence-transformers' own classes, so ``SentenceTransformer(DIR, truncate_dim=32)`` loads the folder
without ``trust_remote_code``.

The folder also holds ``adapter/`` (the adapter alone, for vectors computed elsewhere) and
``mic_adapt.json`` (the resolved config, the base model and its fingerprint, timings, versions, command).
"""

from __future__ import annotations

import json
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize

from mic.adapt.adapter import Adapter, AdapterError
from mic.models import model_fingerprint
from mic.progress import no_transformers_bars
from mic.staging import OutputKind, staged_output

ADAPT_INFO = "mic_adapt.json"
ADAPTED_MODEL_OUTPUT = OutputKind(
    "adapted model", ADAPT_INFO, lambda info: {"base_fingerprint", "versions", "command"} <= info.keys()
)
"""A model folder of ``mic adapt``; one written before ``mic_output.json`` existed is known by ``mic_adapt.json``."""
ADAPTER_FOLDER = "adapter"


def adapted_model(
    base: SentenceTransformer, adapter: Adapter, base_name: str, fingerprint: str | None = None
) -> SentenceTransformer:
    """``base`` followed by ``adapter`` and ``Normalize``, as one SentenceTransformer.

    ``fingerprint``: ``base``'s :func:`mic.models.model_fingerprint` when the caller already has it.

    Raises:
        AdapterError: when the adapter was fitted on another model (naming both) or on vectors of another width.
    """
    adapter.check_base(base_name, fingerprint or model_fingerprint(base))
    with base.truncate_embeddings(None):
        width = base.get_embedding_dimension()
    if width != adapter.dim:
        raise AdapterError(
            f"The adapter maps {adapter.dim}-dim vectors, but {base_name!r} outputs {width}-dim embeddings."
        )
    modules = [*base, *adapter.st_modules(), Normalize()]
    return SentenceTransformer(modules=modules, device=str(base.device), similarity_fn_name="cosine")


def save_adapted_model(
    model: SentenceTransformer, adapter: Adapter, out: str | Path, info: dict[str, object], *, overwrite: bool = False
) -> Path:
    """Write the model folder atomically (see the module docstring); returns its path.

    Raises:
        OutputError: when ``out`` exists and ``overwrite`` is not set, or it is not (all) a model mic adapt wrote.
    """
    out = Path(out).expanduser()
    with staged_output(out, ADAPTED_MODEL_OUTPUT, overwrite=overwrite, option="--out") as staging:
        with no_transformers_bars():  # no "Writing model shards" bar in a log
            model.save(str(staging))
        adapter.save(staging / ADAPTER_FOLDER)
        (staging / ADAPT_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out
