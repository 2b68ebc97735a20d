"""Each source's own rules, for sources refreshed from and not: revisions, and why a model stays pending."""

import pytest
from django.core.exceptions import ValidationError

from core.changelog import Actor
from core.tokens import issue_token
from inventory.models import Source
from inventory.services.ai_models import register_model
from inventory.services.revisions import add_revision, stored_revision
from inventory.sources import REFRESHABLE_SOURCES, not_refreshed_because, registered, rules_for, source_for
from inventory.sources.huggingface import HuggingFaceSource
from tests.inventory_helpers import ACTOR
from tests.support.fake_source import FakeSource

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


def test_every_source_has_rules_and_only_hugging_face_is_refreshed():
    assert {rules_for(source).name for source in Source.values} == set(Source.values)
    assert list(REFRESHABLE_SOURCES) == ["huggingface"]
    assert not_refreshed_because("huggingface") == ""
    assert not_refreshed_because("modelscope") == "refresh from ModelScope is not supported yet"
    assert not_refreshed_because("internal") == "internal models are not refreshed from a hub"
    with pytest.raises(KeyError):
        source_for("modelscope")


def test_hugging_face_revisions_are_lowercased_commit_shas_and_others_are_kept_as_given():
    hub = rules_for("huggingface")

    assert hub.normalize_revision(SHA.upper()) == SHA
    with pytest.raises(ValidationError) as refused:
        hub.normalize_revision("main")
    assert set(refused.value.message_dict) == {"revision"}
    assert rules_for("modelscope").normalize_revision("v1.0-RC") == "v1.0-RC"
    assert rules_for("internal").normalize_revision("2024.06") == "2024.06"


def test_stored_revision_follows_the_models_source():
    hub_model = register_model(actor=ACTOR, source="huggingface", upstream_id="Qwen/Qwen2.5-7B")[0]
    scope_model = register_model(actor=ACTOR, source="modelscope", upstream_id="qwen/Qwen2.5-7B")[0]

    assert stored_revision(hub_model, SHA.upper()) == SHA
    assert stored_revision(scope_model, "Master") == "Master"
    with pytest.raises(ValidationError, match="commit sha"):
        add_revision(actor=ACTOR, model=hub_model, revision="main")


def test_a_registered_source_replaces_the_rules_for_its_name_and_is_removed_after():
    with registered(FakeSource("modelscope")) as fake:
        assert "modelscope" in REFRESHABLE_SOURCES
        assert source_for("modelscope") is fake
        assert not_refreshed_because("modelscope") == ""
    assert list(REFRESHABLE_SOURCES) == ["huggingface"]
    assert not_refreshed_because("modelscope") == "refresh from ModelScope is not supported yet"

    with registered(FakeSource("huggingface")):
        assert source_for("huggingface").normalize_revision(SHA.upper()) == SHA, "the hub's own revision rules"
    assert isinstance(source_for("huggingface"), HuggingFaceSource)


@pytest.mark.parametrize(
    ("reference", "error"),
    [
        ("modelscope:qwen/Qwen2.5-7B-Instruct", "refresh from ModelScope is not supported yet"),
        ("internal:acme/support-bot", "internal models are not refreshed from a hub"),
        ("huggingface:Qwen/Qwen2.5-7B-Instruct", ""),
    ],
)
def test_the_api_says_why_a_model_is_not_refreshed(client, reference, error):
    secret = issue_token(actor=Actor.system("test"), name="pipeline", role="admin").secret
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    response = client.post("/api/v1/models/", {"reference": reference}, content_type="application/json")

    assert response.status_code == 201
    body = response.json()
    assert (body["refresh_state"], body["refresh_error"]) == ("pending", error)
    assert (body["refresh_job"] is None) == bool(error), "a refresh starts only where a hub refreshes"
