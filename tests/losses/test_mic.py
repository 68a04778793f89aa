"""Specification of ``MICLoss``: exact MRL when the regularisers are off, term wiring, layers, errors, training."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    CoSENTLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
from torch import Tensor, nn

from mic.geometry import masked_mean_pool
from mic.losses import (
    MICLoss,
    PrefixSelfDistillation,
    SoftCollapseRegularizer,
    SpectralIsotropyRegularizer,
    resolve_layers,
)

# Distinct lengths, so the sentences differ even for a tokenizer that maps most words to one id.
ANCHORS = [
    "A man plays a guitar.",
    "A dog runs.",
    "The sun is shining brightly over the quiet little town today.",
    "Kids play football in the park after school.",
    "A plane takes off from the busy airport",
    "He reads",
]
POSITIVES = [
    "Someone is playing an instrument on a stage.",
    "An animal is running across the wide green field right now.",
    "It is sunny.",
    "Children play soccer.",
    "An airplane departs",
    "A man is reading a long book in the library",
]
SCORES = torch.tensor([0.9, 0.2, 0.7, 0.8, 0.95, 0.4])
DIMS = [8, 16, 32]
BASE_LOSSES: dict[str, Callable[[SentenceTransformer], nn.Module]] = {
    "mnrl": MultipleNegativesRankingLoss,
    "cosent": CoSENTLoss,
}


def batch(model: SentenceTransformer) -> list[dict[str, Tensor]]:
    """Freshly tokenised (anchor, positive) columns: a forward may add keys to the feature dicts."""
    return [model.preprocess(ANCHORS), model.preprocess(POSITIVES)]


def value_and_gradients(model: SentenceTransformer, loss: Callable[[], Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    model.zero_grad(set_to_none=True)
    value = loss()
    value.backward()
    gradients = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return value.detach(), gradients


# --- MRL when the regularisers are off ------------------------------------------------------------------------


@pytest.mark.parametrize("base", sorted(BASE_LOSSES))
@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_task_term_equals_sentence_transformers_matryoshka_loss(
    tiny_model: SentenceTransformer, base: str, gamma: float
) -> None:
    tiny_model.eval()  # no dropout: both runs see the same forward
    weights = [1.0, 0.5, 2.0]
    labels = SCORES if base == "cosent" else None
    reference = MatryoshkaLoss(tiny_model, BASE_LOSSES[base](tiny_model), DIMS, weights)
    expected, expected_gradients = value_and_gradients(tiny_model, lambda: reference(batch(tiny_model), labels))

    mic = MICLoss(tiny_model, BASE_LOSSES[base](tiny_model), DIMS, weights=weights, gamma=gamma, distill_weight=0.0)
    terms: dict[str, Tensor] = {}

    def task() -> Tensor:
        terms.update(mic(batch(tiny_model), labels))
        return terms["task"]

    value, gradients = value_and_gradients(tiny_model, task)
    assert (set(terms) == {"task"}) == (gamma == 0.0)
    torch.testing.assert_close(value, expected, atol=1e-6, rtol=0)
    assert gradients.keys() == expected_gradients.keys() and len(gradients) > 0
    for name, gradient in gradients.items():
        torch.testing.assert_close(gradient, expected_gradients[name], atol=1e-6, rtol=0, msg=name)


# --- the terms it returns -------------------------------------------------------------------------------------

ALL_REGULARIZER_KEYS = {"scr_correlation", "scr_variance_floor", "sir_variance_cv", "sir_uniformity"}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"task", "scr_correlation", "scr_variance_floor", "distill"}),  # the defaults: SCR and SD
        ({"distill_weight": 0.0}, {"task", "scr_correlation", "scr_variance_floor"}),
        ({"sir_weight": 1.0, "distill_weight": 0.0}, {"task"} | ALL_REGULARIZER_KEYS),
        ({"sir_weight": 1.0, "distill_weight": 0.5}, {"task", "distill"} | ALL_REGULARIZER_KEYS),
        ({"gamma": 0.0, "sir_weight": 1.0, "distill_weight": 0.0}, {"task"}),
        ({"gamma": 0.0, "distill_weight": 0.5}, {"task", "distill"}),
        ({"scr_weight": 0.0, "sir_weight": 1.0, "distill_weight": 0.0}, {"task", "sir_variance_cv", "sir_uniformity"}),
        (
            {"variance_floor_weight": 0.0, "sir_weight": 1.0, "distill_weight": 0.0},
            {"task", "scr_correlation", "sir_variance_cv", "sir_uniformity"},
        ),
        ({"scr_weight": 0.0, "sir_weight": 0.0, "distill_weight": 0.0}, {"task"}),
    ],
)
def test_forward_returns_exactly_the_active_terms(
    tiny_model: SentenceTransformer, kwargs: dict, expected: set[str]
) -> None:
    terms = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, **kwargs)(batch(tiny_model), None)
    assert set(terms) == expected
    for name, value in terms.items():
        assert value.shape == () and torch.isfinite(value) and value.requires_grad, name
    sum(terms.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in tiny_model.parameters() if p.grad is not None)


def reference_encoder_outputs(model: SentenceTransformer) -> list[tuple[tuple[Tensor, ...], Tensor, Tensor]]:
    """(hidden states of every layer, mask, sentence embedding) per column, from the Hugging Face model directly."""
    outputs = []
    for features in batch(model):
        encoder_inputs = {key: features[key] for key in ("input_ids", "attention_mask", "token_type_ids")}
        hidden_states = model[0].auto_model(**encoder_inputs, output_hidden_states=True).hidden_states
        mask = features["attention_mask"]
        outputs.append((hidden_states, mask, F.normalize(masked_mean_pool(hidden_states[-1], mask), dim=-1)))
    return outputs


def test_terms_are_the_weighted_regularizers_of_the_chosen_layers(tiny_model: SentenceTransformer) -> None:
    tiny_model.eval()
    gamma, scr_weight, sir_weight, floor_weight, distill_weight = 0.3, 2.0, 0.5, 0.8, 0.7
    mic = MICLoss(
        tiny_model,
        MultipleNegativesRankingLoss(tiny_model),
        DIMS,
        layers="middle+last",
        gamma=gamma,
        tolerance=0.05,
        variance_floor_weight=floor_weight,
        scr_weight=scr_weight,
        sir_weight=sir_weight,
        distill_weight=distill_weight,
    )
    assert mic.layers == (2, 3) and mic.regularizer_dims == (8, 16)
    terms = mic(batch(tiny_model), None)
    assert tiny_model[0].auto_model.config.output_hidden_states is False  # restored after the forward

    outputs = reference_encoder_outputs(tiny_model)
    scr = SoftCollapseRegularizer([8, 16], tolerance=0.05)
    sir = SpectralIsotropyRegularizer([8, 16])
    expected: dict[str, list[Tensor]] = {key: [] for key in ALL_REGULARIZER_KEYS}
    for layer in (2, 3):
        # SCR sees both columns together, padded to the longer one; SIR sees each column (forward) separately.
        longest = max(hidden[layer].shape[1] for hidden, _, _ in outputs)
        hidden = torch.cat([F.pad(h[layer], (0, 0, 0, longest - h[layer].shape[1])) for h, _, _ in outputs])
        mask = torch.cat([F.pad(m, (0, longest - m.shape[1])) for _, m, _ in outputs])
        parts = scr.terms(hidden, mask)
        expected["scr_correlation"].append(scr_weight * parts["correlation"])
        expected["scr_variance_floor"].append(scr_weight * floor_weight * parts["variance_floor"])
        for hidden_states, column_mask, _ in outputs:
            parts = sir.terms(masked_mean_pool(hidden_states[layer], column_mask))
            expected["sir_variance_cv"].append(0.5 * sir_weight * parts["variance_cv"])
            expected["sir_uniformity"].append(0.5 * sir_weight * parts["uniformity"])
    for key, values in expected.items():
        torch.testing.assert_close(terms[key], gamma * torch.stack(values).mean(), atol=1e-5, rtol=1e-4, msg=key)
    distill = torch.stack([PrefixSelfDistillation([8, 16])(embedding) for _, _, embedding in outputs]).mean()
    torch.testing.assert_close(terms["distill"], distill_weight * distill, atol=1e-5, rtol=1e-4)


def test_regularizers_reach_only_the_layers_up_to_the_regularized_one(tiny_model: SentenceTransformer) -> None:
    mic = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, layers=[1], gamma=1.0, sir_weight=1.0)
    terms = mic(batch(tiny_model), None)
    (terms["scr_correlation"] + terms["sir_variance_cv"]).backward()
    encoder = tiny_model[0].auto_model.encoder

    def gradient_norm(module: nn.Module) -> float:
        return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)

    assert gradient_norm(encoder.layer[0]) > 0
    assert gradient_norm(encoder.layer[1]) == 0 and gradient_norm(encoder.layer[2]) == 0


def test_config_dict_lists_weights_in_dim_order(tiny_model: SentenceTransformer) -> None:
    mic = MICLoss(tiny_model, CoSENTLoss(tiny_model), DIMS, weights=[1.0, 0.5, 2.0], layers="last", gamma=0.2)
    config = mic.get_config_dict()
    assert config["loss"] == "CoSENTLoss" and config["dims"] == DIMS and config["weights"] == [1.0, 0.5, 2.0]
    assert config["layers"] == [3] and config["regularizer_dims"] == [8, 16] and config["gamma"] == 0.2
    assert "2605.29987" in mic.citation


# --- layers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "num_layers", "expected"),
    [
        ("middle", 12, (5, 6, 7, 8)),
        ("middle", 6, (3, 4)),
        ("middle", 3, (2,)),
        ("middle", 1, (1,)),
        ("last", 12, (12,)),
        ("last", 3, (3,)),
        ("middle+last", 12, (5, 6, 7, 8, 12)),
        ("middle+last", 3, (2, 3)),
        ("middle+last", 1, (1,)),
        ([3, 1, 3], 4, (1, 3)),
        ((2,), 2, (2,)),
    ],
)
def test_resolve_layers(layers: str | list[int], num_layers: int, expected: tuple[int, ...]) -> None:
    assert resolve_layers(layers, num_layers) == expected


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        ("first", "layers must be one of"),
        ("Middle", "layers must be one of"),
        ([], "non-empty list of layer numbers"),
        ([1.5], "non-empty list of layer numbers"),
        ([True], "non-empty list of layer numbers"),
        ([0], r"layer 0 does not exist: this encoder has layers 1\.\.3"),
        ([1, 4], r"layer 4 does not exist: this encoder has layers 1\.\.3"),
    ],
)
def test_resolve_layers_rejects_bad_specs(layers: str | list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve_layers(layers, 3)


# --- bad arguments --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": [8, 64]}, "dims contains 64, larger than the embedding size 32"),
        ({"dims": []}, "dims must list at least one dimension"),
        ({"dims": [16, 8, 32]}, "dims must be in ascending order"),
        ({"dims": [8, 8, 32]}, "dims must not repeat"),
        ({"dims": [0, 32]}, "dims must be positive integers"),
        ({"dims": [32]}, "no prefix smaller than the embedding size 32"),
        ({"weights": [1.0, -1.0, 1.0]}, "each entry of weights must be a finite number >= 0"),
        ({"weights": [1.0, 1.0]}, r"weights must have one entry per dim \(3\), got 2"),
        ({"gamma": -0.1}, "gamma must be a finite number >= 0"),
        ({"gamma": math.inf}, "gamma must be a finite number >= 0"),
        ({"variance_floor_weight": -1.0}, "variance_floor_weight must be a finite number >= 0"),
        ({"tolerance": -0.5}, "tolerance must be a finite number >= 0"),
        ({"scr_weight": -1.0}, "scr_weight must be a finite number >= 0"),
        ({"sir_weight": -1.0}, "sir_weight must be a finite number >= 0"),
        ({"distill_weight": -0.2}, "distill_weight must be a finite number >= 0"),
        ({"distill_temperature": 0.0}, "temperature must be a finite number > 0"),
        ({"uniformity_temperature": -2.0}, "temperature must be a finite number > 0"),
        ({"regularizer_dims": [8, 32]}, "regularizer_dims must be smaller than the embedding size 32"),
        ({"regularizer_dims": [16, 8]}, "regularizer_dims must be in ascending order"),
        ({"layers": "first"}, "layers must be one of"),
        ({"layers": [4]}, "layer 4 does not exist"),
    ],
)
def test_invalid_arguments_raise(tiny_model: SentenceTransformer, kwargs: dict, match: str) -> None:
    arguments = {"dims": DIMS, **kwargs}
    with pytest.raises(ValueError, match=match):
        MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), **arguments)


def test_a_model_without_a_transformer_is_rejected() -> None:
    model = SentenceTransformer(modules=[Pooling(8), Normalize()])
    with pytest.raises(ValueError, match="a Hugging Face Transformer or a StaticEmbedding, got Pooling"):
        MICLoss(model, MultipleNegativesRankingLoss(model), dims=[4, 8])


def test_gradient_cached_losses_are_rejected_when_regularizing(tiny_model: SentenceTransformer) -> None:
    cached = CachedMultipleNegativesRankingLoss(tiny_model)
    with pytest.raises(ValueError, match="gradient-cached CachedMultipleNegativesRankingLoss"):
        MICLoss(tiny_model, cached, DIMS, gamma=0.1)
    plain = CachedMultipleNegativesRankingLoss(tiny_model)
    MICLoss(tiny_model, plain, DIMS, gamma=0.0, distill_weight=0.0)  # plain MRL is fine


# --- end to end -----------------------------------------------------------------------------------------------


def test_tiny_bert_trains_with_every_term_logged(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu".split()
    train = Dataset.from_dict(
        {
            "anchor": [" ".join(words[: 1 + i % 12]) for i in range(16)],
            "positive": [" ".join(words[i % 5 : i % 5 + 2 + (7 * i) % 8]) for i in range(16)],
        }
    )
    loss = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, sir_weight=1.0, distill_weight=0.5)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        max_steps=4,
        per_device_train_batch_size=4,
        logging_steps=1,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        seed=0,
    )
    before = tiny_model[0].auto_model.encoder.layer[1].output.dense.weight.detach().clone()
    trainer = SentenceTransformerTrainer(model=tiny_model, args=args, train_dataset=train, loss=loss)
    trainer.train()

    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logs) == 4
    for entry in logs:
        for key in {"loss", "task", "distill"} | ALL_REGULARIZER_KEYS:
            assert key in entry and math.isfinite(entry[key]), (key, entry)
    assert not torch.equal(tiny_model[0].auto_model.encoder.layer[1].output.dense.weight, before)


# --- self-distillation teachers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["kl", "cosine", "cka"])
@pytest.mark.parametrize("teacher", ["full", "initial", "ema"])
def test_every_distillation_teacher_and_objective_gives_a_finite_term(
    tiny_model: SentenceTransformer, teacher: str, objective: str
) -> None:
    mic = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, gamma=0.0, distill_weight=1.0,
                  distill_teacher=teacher, distill_objective=objective)  # fmt: skip
    terms = mic(batch(tiny_model), None)
    assert set(terms) == {"task", "distill"} and terms["distill"] > 0
    sum(terms.values()).backward()
    assert (mic.teacher is None) == (teacher == "full")
    if mic.teacher is not None:
        assert all(p.grad is None and not p.requires_grad for p in mic.teacher.parameters())


def test_the_initial_teacher_stays_frozen_and_the_ema_teacher_follows_the_student(
    tiny_model: SentenceTransformer,
) -> None:
    frozen = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, gamma=0.0, distill_weight=1.0,
                     distill_teacher="initial")  # fmt: skip
    ema = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, gamma=0.0, distill_weight=1.0,
                  distill_teacher="ema", distill_ema_decay=0.75)  # fmt: skip
    weight = tiny_model[0].auto_model.encoder.layer[0].output.dense.weight
    initial = weight.detach().clone()
    with torch.no_grad():
        weight.add_(1.0)  # an "optimizer step" on the student
    tiny_model.train()
    frozen(batch(tiny_model), None)
    ema(batch(tiny_model), None)
    teacher_weight = ema.teacher.model[0].auto_model.encoder.layer[0].output.dense.weight
    frozen_weight = frozen.teacher.model[0].auto_model.encoder.layer[0].output.dense.weight
    torch.testing.assert_close(frozen_weight, initial)
    torch.testing.assert_close(teacher_weight, initial + 0.25)
    assert not ema.teacher.training and not frozen.teacher.training, "teachers run without dropout"
    ema.train()
    assert not ema.teacher.training


def test_the_frozen_teachers_memo_gives_the_teachers_own_term_with_one_forward_per_text(
    tiny_model: SentenceTransformer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mic = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, gamma=0.0, distill_weight=1.0,
                  distill_teacher="initial")  # fmt: skip
    columns = [tiny_model.preprocess(ANCHORS), tiny_model.preprocess(ANCHORS)]  # a SimCSE pair: one text twice
    assert mic.teacher is not None and mic.teacher.memo is not None
    rows: list[int] = []
    forward = mic.teacher.model.forward
    monkeypatch.setattr(mic.teacher.model, "forward", lambda features: rows.append(len(features["input_ids"])) or
                        forward(features))  # fmt: skip
    tiny_model.eval()
    memoised = mic(columns, None)["distill"]
    mic(columns, None)
    assert rows == [len(ANCHORS)], "each text goes through the teacher once"
    mic.teacher.memo = None
    torch.testing.assert_close(mic(columns, None)["distill"], memoised)


def test_a_non_finite_term_is_caught_by_the_fused_check_and_named(
    tiny_model: SentenceTransformer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mic = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, gamma=0.1)
    monkeypatch.setattr(mic.scr, "terms", lambda hidden, mask: {"correlation": torch.tensor(float("nan")),
                                                                "variance_floor": torch.tensor(0.0)})  # fmt: skip
    with pytest.raises(ValueError, match="MICLoss term 'scr_correlation' evaluated to nan on finite input"):
        mic(batch(tiny_model), None)


def test_bad_distillation_choices_are_refused(tiny_model: SentenceTransformer) -> None:
    with pytest.raises(ValueError, match=r"distill_teacher must be one of \['full', 'ema', 'initial'\]"):
        MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, distill_teacher="moving")
    with pytest.raises(ValueError, match=r"distill_ema_decay must be in \[0, 1\)"):
        MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, distill_ema_decay=1.0)


def test_a_teacher_adds_nothing_to_the_optimizer(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    train = Dataset.from_dict({"anchor": ["a b", "c d", "e f", "g h"], "positive": ["a", "c", "e", "g"]})
    loss = MICLoss(tiny_model, MultipleNegativesRankingLoss(tiny_model), DIMS, distill_weight=1.0,
                   distill_teacher="ema")  # fmt: skip
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to=[], use_cpu=True)
    optimizer = SentenceTransformerTrainer(
        model=tiny_model, args=args, train_dataset=train, loss=loss
    ).create_optimizer()
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in tiny_model.parameters()}
    assert not in_optimizer & {id(p) for p in loss.teacher.parameters()}


def test_a_base_loss_without_compute_loss_from_embeddings_is_refused(tiny_model: SentenceTransformer) -> None:
    from sentence_transformers.sentence_transformer.losses import MSELoss, SoftmaxLoss

    for loss in (SoftmaxLoss(tiny_model, sentence_embedding_dimension=32, num_labels=3), MSELoss(tiny_model)):
        with pytest.raises(ValueError, match=f"which {type(loss).__name__} does not have; use a loss that has it"):
            MICLoss(tiny_model, loss, DIMS)
