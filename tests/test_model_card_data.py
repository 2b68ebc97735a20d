"""A model's card data: the datasets it was trained on, its evaluation results and its architecture family,
their shapes (a bad one is refused naming the field) and how the Hugging Face refresh records them."""

import pytest
from django.core.exceptions import ValidationError

from core.changelog import Actor
from core.models import ChangeLogEntry, DomainEvent
from core.tokens import issue_token
from inventory.models import AIModel
from inventory.refresh.runner import RefreshRun
from inventory.services.ai_models import register_model
from inventory.services.bulk import ModelEntry, register_many
from inventory.services.upstream import UPSTREAM_CHANGE
from tests.factories import AIModelFactory
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import model_json

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


# --- The Hugging Face refresh records them ----------------------------------------------------------

# A model-index as real cards have it (ibm-granite's, trimmed): name, type, value and verified per
# metric, the hub's misspelt "veriefied" beside it, integer and float values.
GRANITE_INDEX = [
    {
        "name": "granite-34b-code-base-8k",
        "results": [
            {
                "task": {"type": "text-generation"},
                "dataset": {"type": "mbpp", "name": "MBPP"},
                "metrics": [{"name": "pass@1", "type": "pass@1", "value": 47.2, "veriefied": False, "verified": False}],
            },
            {
                "task": {"type": "text-generation"},
                "dataset": {"type": "bigcode/humanevalpack", "name": "HumanEvalSynthesis(C++)"},
                "metrics": [{"name": "pass@1", "type": "pass@1", "value": 50, "veriefied": False, "verified": False}],
            },
        ],
    }
]


def refreshed(hub, upstream_id: str, **card):
    hub.add(model_json(upstream_id, **card))
    model = AIModel.objects.filter(source="huggingface", upstream_id=upstream_id).first()
    if model is None:
        model = register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)[0]
    summary = RefreshRun(actor=ACTOR).run([model.pk])
    assert summary.ok == [str(model)], summary
    return AIModel.objects.get(pk=model.pk)


def test_a_refresh_records_the_cards_datasets_evaluation_results_and_the_configs_model_type(hub):
    model = refreshed(
        hub,
        "ibm-granite/granite-34b-code-base-8k",
        datasets=["codeparrot/github-code-clean", "bigcode/starcoderdata", "codeparrot/github-code-clean"],
        model_index=GRANITE_INDEX,
        config={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
    )

    assert model.datasets == [
        {"source": "huggingface", "id": "codeparrot/github-code-clean"},
        {"source": "huggingface", "id": "bigcode/starcoderdata"},
    ], "each dataset once, in the card's order"
    assert model.evaluation_results == [
        {
            "task": "text-generation",
            "dataset": "mbpp",
            "dataset_name": "MBPP",
            "metric": "pass@1",
            "value": 47.2,
            "verified": False,
        },
        {
            "task": "text-generation",
            "dataset": "bigcode/humanevalpack",
            "dataset_name": "HumanEvalSynthesis(C++)",
            "metric": "pass@1",
            "value": 50,
            "verified": False,
        },
    ]
    assert (model.architecture, model.architecture_family) == ("LlamaForCausalLM", "llama")
    model.full_clean(exclude=["publisher", "declared_license"])


def test_what_the_hub_does_not_say_stays_empty(hub):
    model = refreshed(hub, "acme/bare", config={})

    assert (model.datasets, model.evaluation_results, model.architecture_family) == ([], [], "")
    assert model.architecture == ""


def test_an_index_the_client_would_drop_is_read_metric_by_metric(hub):
    """A result without dataset.name makes huggingface_hub drop the whole index; the registry keeps
    what is there and leaves out only the metrics it cannot read (no type or name, no value)."""
    index = [
        {
            "name": "m",
            "results": [
                {
                    "task": {"type": "text-generation"},
                    "dataset": {"name": "MMLU"},
                    "metrics": [
                        {"name": "acc", "value": 61.2},
                        {"type": "acc_norm", "value": None},
                        {"value": 3},
                        {"type": "em", "value": "55.1%", "verified": True},
                    ],
                },
                {"task": {"type": "summarization"}, "metrics": [{"type": "rouge1", "value": 40.1}]},
            ],
        }
    ]
    model = refreshed(hub, "acme/loose-card", model_index=index)

    assert model.evaluation_results == [
        {
            "task": "text-generation",
            "dataset": "MMLU",
            "dataset_name": "MMLU",
            "metric": "acc",
            "value": 61.2,
            "verified": None,
        },
        {
            "task": "text-generation",
            "dataset": "MMLU",
            "dataset_name": "MMLU",
            "metric": "em",
            "value": "55.1%",
            "verified": True,
        },
        {
            "task": "summarization",
            "dataset": "",
            "dataset_name": "",
            "metric": "rouge1",
            "value": 40.1,
            "verified": None,
        },
    ]


def test_a_change_of_card_data_is_a_change_of_the_models_facts_logged_and_published(hub):
    model = refreshed(hub, "acme/evolving", datasets=["a/one"], model_index=GRANITE_INDEX[:1])
    logged = ChangeLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    DomainEvent.objects.all().delete()

    model = refreshed(
        hub,
        "acme/evolving",
        datasets=["a/one", "b/two"],
        model_index=[{**GRANITE_INDEX[0], "results": GRANITE_INDEX[0]["results"][1:]}],
        config={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
    )

    assert [entry["id"] for entry in model.datasets] == ["a/one", "b/two"]
    assert [result["value"] for result in model.evaluation_results] == [50]
    [entry] = ChangeLogEntry.objects.filter(object_type="inventory.aimodel", object_id=str(model.pk)).exclude(
        pk__lte=logged
    )
    assert entry.action == "update"
    assert {"datasets", "evaluation_results", "architecture_family", "architecture"} <= set(entry.after)
    assert entry.before["architecture_family"] == "qwen2"
    assert not ChangeLogEntry.objects.filter(action=UPSTREAM_CHANGE).exists(), "not a fact governance re-reviews"
    [event] = DomainEvent.objects.filter(kind="inventory.model_facts_changed")
    assert event.payload["model_id"] == model.pk
    assert event.payload["changes"]["datasets"] == {
        "before": [{"source": "huggingface", "id": "a/one"}],
        "after": [{"source": "huggingface", "id": "a/one"}, {"source": "huggingface", "id": "b/two"}],
    }
    assert event.payload["changes"]["architecture_family"] == {"before": "qwen2", "after": "llama"}

    entries = ChangeLogEntry.objects.count()
    refreshed(
        hub,
        "acme/evolving",
        datasets=["a/one", "b/two"],
        model_index=[{**GRANITE_INDEX[0], "results": GRANITE_INDEX[0]["results"][1:]}],
        config={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
    )
    assert ChangeLogEntry.objects.count() == entries, "the same answer again: only the time is stamped"


def test_a_model_refreshed_before_the_fields_existed_gets_them_on_its_next_refresh(hub):
    """The same snapshot as last time, but the model lacks the card data (refreshed before the
    migration, or the values were cleared): the refresh writes them."""
    model = refreshed(hub, "acme/older", datasets=["a/one"], model_index=GRANITE_INDEX)
    AIModel.objects.filter(pk=model.pk).update(datasets=[], evaluation_results=[], architecture_family="")

    model = refreshed(hub, "acme/older", datasets=["a/one"], model_index=GRANITE_INDEX)

    assert model.datasets == [{"source": "huggingface", "id": "a/one"}]
    assert len(model.evaluation_results) == 2
    assert model.architecture_family == "qwen2"


# --- Written in bulk, read through the API -------------------------------------------------------------


def test_the_bulk_path_writes_them_and_names_an_entry_of_the_wrong_shape():
    entry = ModelEntry(
        source="huggingface",
        upstream_id="lab/carded",
        datasets=[{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}],
        evaluation_results=[GOOD_RESULT],
        architecture_family="llama",
    )
    result = register_many(actor=ACTOR, entries=[entry, ModelEntry(source="huggingface", upstream_id="lab/plain")])

    carded = AIModel.objects.get(pk=result.models[("huggingface", "lab/carded")].pk)
    assert carded.datasets == [{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}]
    assert carded.evaluation_results == [GOOD_RESULT]
    assert carded.architecture_family == "llama"
    plain = AIModel.objects.get(upstream_id="lab/plain")
    assert (plain.datasets, plain.evaluation_results, plain.architecture_family) == ([], [], "")
    created = ChangeLogEntry.objects.get(object_type="inventory.aimodel", object_id=str(carded.pk), action="create")
    assert created.after["datasets"] == carded.datasets

    with pytest.raises(ValidationError) as refused:
        register_many(
            actor=ACTOR,
            entries=[
                ModelEntry(source="huggingface", upstream_id="lab/fine"),
                ModelEntry(source="huggingface", upstream_id="lab/wrong", evaluation_results=[{"metric": "acc"}]),
            ],
        )
    assert list(refused.value.message_dict) == ["entries.1.evaluation_results"]
    assert not AIModel.objects.filter(upstream_id__in=["lab/fine", "lab/wrong"]).exists()


@pytest.fixture
def api(client):
    secret = issue_token(actor=Actor.system("test"), name="pipeline", role="admin").secret
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_the_api_shows_them_and_keeps_them_the_refreshs(api):
    entry = ModelEntry(
        source="huggingface",
        upstream_id="lab/shown",
        datasets=[{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}],
        evaluation_results=[GOOD_RESULT, {**GOOD_RESULT, "value": "55.1%", "verified": None}],
        architecture_family="qwen2",
    )
    model = register_many(actor=ACTOR, entries=[entry]).models[("huggingface", "lab/shown")]

    shown = api.get(f"/api/v1/models/{model.pk}/")
    listed = api.get("/api/v1/models/", {"q": "shown"})

    assert shown.status_code == 200
    body = shown.json()
    assert body["datasets"] == [{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}]
    assert body["evaluation_results"][1] == {**GOOD_RESULT, "value": "55.1%", "verified": None}
    assert body["architecture_family"] == "qwen2"
    assert [row["architecture_family"] for row in listed.json()["results"]] == ["qwen2"]
    changed = api.patch(
        f"/api/v1/models/{model.pk}/",
        {"datasets": []},
        content_type="application/json",
        headers={"If-Match": shown["ETag"]},
    )
    assert changed.status_code == 400, "read-only: the refresh keeps them"
    assert AIModel.objects.get(pk=model.pk).datasets == body["datasets"]
