"""Lineage across hubs: a ModelScope model fine-tuned from a Hugging Face one is one edge to the
Hugging Face model, and the effective origin follows it (both hubs in memory)."""

import pytest

from core.models import ChangeLogEntry
from inventory.models import AIModel, LineageEdge
from inventory.refresh.runner import RefreshRun
from inventory.selectors import effective_origin, find_model
from inventory.services.ai_models import register_model
from inventory.services.upstream import UPSTREAM_CHANGE
from tests.inventory_helpers import ACTOR, publisher
from tests.support.fake_source import base, fake_source_fixture

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

modelscope = fake_source_fixture("modelscope")
huggingface = fake_source_fixture("huggingface")


def refresh(model: AIModel):
    return RefreshRun(actor=ACTOR).run([model.pk])


def test_a_modelscope_model_based_on_a_hugging_face_one_links_to_it_and_inherits_its_origin(modelscope, huggingface):
    publisher("acme-fr", country="FR")
    modelscope.add("acme-fr/support-bot", base_models=(base("Qwen/Qwen2.5-7B", source="huggingface"),))
    huggingface.add("Qwen/Qwen2.5-7B", revision="a09a35458c702b33eeacc393d103063234e8bc28", license_id="apache-2.0")
    same_name_on_modelscope = register_model(actor=ACTOR, source="modelscope", upstream_id="Qwen/Qwen2.5-7B")[0]
    bot = register_model(actor=ACTOR, source="modelscope", upstream_id="acme-fr/support-bot")[0]

    summary = refresh(bot)

    qwen = find_model(source="huggingface", upstream_id="Qwen/Qwen2.5-7B")
    assert sorted(summary.ok) == ["huggingface:Qwen/Qwen2.5-7B", "modelscope:acme-fr/support-bot"]
    [edge] = LineageEdge.objects.filter(child=bot)
    assert (edge.parent, edge.parent_source, edge.parent_upstream_id) == (qwen, "huggingface", "Qwen/Qwen2.5-7B")
    assert qwen.refresh_state == "ok", "refreshed from its own hub in the same run"
    assert modelscope.fetches("Qwen/Qwen2.5-7B") == 0, "the model of that name on ModelScope is another model"
    assert not LineageEdge.objects.filter(parent=same_name_on_modelscope).exists()
    assert effective_origin(AIModel.objects.get(pk=bot.pk)) == ["CN", "FR"], "acme-fr is FR; Qwen on the hub is CN"
    assert set(AIModel.objects.get(pk=bot.pk).inherited_licenses.values_list("key", flat=True)) == {"Apache-2.0"}


def test_a_base_moving_to_the_models_own_hub_is_an_upstream_change_that_names_each_hub(modelscope, huggingface):
    modelscope.add("acme/bot", base_models=(base("Qwen/Qwen2.5-7B", source="huggingface"),))
    modelscope.add("Qwen/Qwen2.5-7B")
    huggingface.add("Qwen/Qwen2.5-7B", revision="a09a35458c702b33eeacc393d103063234e8bc28")
    bot = register_model(actor=ACTOR, source="modelscope", upstream_id="acme/bot")[0]
    refresh(bot)

    modelscope.add("acme/bot", revision="v2.0", base_models=(base("Qwen/Qwen2.5-7B"),))
    refresh(bot)

    [edge] = LineageEdge.objects.filter(child=bot)
    assert (edge.parent_source, edge.parent) == (
        "modelscope",
        find_model(source="modelscope", upstream_id="Qwen/Qwen2.5-7B"),
    )
    [change] = ChangeLogEntry.objects.filter(action=UPSTREAM_CHANGE, object_id=str(bot.pk))
    assert change.before["base_models"] == ["huggingface:Qwen/Qwen2.5-7B (finetune)"]
    assert change.after["base_models"] == ["Qwen/Qwen2.5-7B (finetune)"]
