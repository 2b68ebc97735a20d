"""``manage.py refresh_model`` and ``refresh_all``: the same work in the foreground, with a progress bar."""

import io

import pytest
from django.core.management import CommandError, call_command

from inventory.models import AIModel
from inventory.services.ai_models import register_model
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import Reply, model_json

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_refresh_model_registers_an_unknown_model_and_refreshes_it_with_its_bases(hub):
    hub.add(model_json("acme/new-bot", bases=[("deepseek-ai/DeepSeek-R1", "finetune")]))
    hub.add(model_json("deepseek-ai/DeepSeek-R1", license="mit"))

    out, err = run("refresh_model", "huggingface:acme/new-bot")

    assert "registered huggingface:acme/new-bot" in out
    assert "2 refreshed (0 changed upstream), 0 gone, 0 failed" in out
    assert "100%" in err
    assert "2/2" in err
    assert AIModel.objects.get(upstream_id="acme/new-bot").refresh_state == "ok"
    assert AIModel.objects.get(upstream_id="deepseek-ai/DeepSeek-R1").declared_license.key == "MIT"


def test_refresh_model_takes_a_purl_and_says_when_it_failed(hub, settings):
    settings.REFRESH_MAX_ATTEMPTS = 1
    register_model(actor=ACTOR, source="huggingface", upstream_id="acme/down")
    hub.add(model_json("acme/down"))
    hub.script("acme/down", Reply(status=503))

    with pytest.raises(CommandError, match="1 of the models could not be refreshed"):
        run("refresh_model", "pkg:huggingface/acme/down")


@pytest.mark.parametrize(
    ("reference", "message"),
    [("huggingface:not-a-model-id", "reference"), ("internal:acme/tool", "not refreshed from a hub")],
)
def test_refresh_model_refuses_what_it_cannot_refresh(hub, reference, message):
    with pytest.raises(CommandError, match=message):
        run("refresh_model", reference)
    assert hub.requests == []


def test_refresh_all_refreshes_the_stale_models_and_their_bases(hub):
    hub.add(model_json("acme/a", bases=[("Qwen/Qwen3-8B", "finetune")]))
    hub.add(model_json("acme/b"))
    hub.add(model_json("Qwen/Qwen3-8B"))
    for upstream_id in ("acme/a", "acme/b"):
        register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)

    out, err = run("refresh_all")

    assert "2 stale models" in out
    assert "3 refreshed" in out
    assert "3/3" in err
    out, _ = run("refresh_all")
    assert "0 stale models" in out, "everything is fresh now"
