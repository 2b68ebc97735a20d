"""A model's card data: the datasets it was trained on, its evaluation results and its architecture family,
their shapes (a bad one is refused naming the field) and how the Hugging Face refresh records them."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import AIModelFactory

pytestmark = [pytest.mark.django_db]

GOOD_RESULT = {
    "task": "text-generation",
    "dataset": "cais/mmlu",
    "dataset_name": "MMLU",
    "metric": "accuracy",
    "value": 68.2,
    "verified": False,
}


@pytest.mark.smoke
def test_the_card_fields_are_empty_by_default_and_accept_their_documented_shape():
    model = AIModelFactory()
    model.refresh_from_db()
    assert (model.datasets, model.evaluation_results, model.architecture_family) == ([], [], "")

    model.datasets = [{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}]
    model.evaluation_results = [GOOD_RESULT, {**GOOD_RESULT, "metric": "f1", "value": "71.5", "verified": None}]
    model.architecture_family = "llama"
    model.full_clean()
    model.save()
    model.refresh_from_db()
    assert model.datasets == [{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}]
    assert model.evaluation_results[1]["verified"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("datasets", "HuggingFaceFW/fineweb"),
        ("datasets", ["HuggingFaceFW/fineweb"]),
        ("datasets", [{"source": "kaggle", "id": "x/y"}]),
        ("datasets", [{"source": "huggingface", "id": ""}]),
        ("datasets", [{"source": "huggingface", "id": "a/b", "extra": 1}]),
        ("evaluation_results", {"task": "x"}),
        ("evaluation_results", [{k: v for k, v in GOOD_RESULT.items() if k != "verified"}]),
        ("evaluation_results", [{**GOOD_RESULT, "value": True}]),
        ("evaluation_results", [{**GOOD_RESULT, "value": None}]),
        ("evaluation_results", [{**GOOD_RESULT, "value": float("nan")}]),
        ("evaluation_results", [{**GOOD_RESULT, "verified": "yes"}]),
        ("evaluation_results", [{**GOOD_RESULT, "metric": ""}]),
        ("evaluation_results", [{**GOOD_RESULT, "task": 3}]),
    ],
)
def test_a_bad_shape_is_refused_naming_the_field(field, value):
    model = AIModelFactory()
    setattr(model, field, value)
    with pytest.raises(ValidationError) as refused:
        model.full_clean()
    assert set(refused.value.message_dict) == {field}
    assert field in " ".join(refused.value.message_dict[field])


def test_an_architecture_family_is_at_most_100_characters():
    model = AIModelFactory()
    model.architecture_family = "x" * 101
    with pytest.raises(ValidationError) as refused:
        model.full_clean()
    assert "architecture_family" in refused.value.message_dict
