"""The demo inventory: real models and lineage that cross countries, seeded idempotently."""

import io
import re
import tomllib

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

from core.changelog import Actor
from core.models import ChangeLogEntry
from inventory.demo import DEMO_FILE, seed_demo
from inventory.models import AIModel, Deployment, LineageEdge, OriginCountry, Publisher, Revision
from inventory.services import ai_models, revisions
from tests.inventory_helpers import origin_of

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

DEMO = tomllib.loads(DEMO_FILE.read_text())
ACTOR = Actor.system("demo")


def inventory_rows() -> dict[str, list]:
    """Every inventory row the demo writes, without ids and times, in a stable order."""

    def rows(queryset, *exclude: str) -> list:
        fields = [f.name for f in queryset.model._meta.concrete_fields if f.name not in {"id", *exclude}]
        return sorted(repr(sorted(model_to_dict(row, fields=fields).items())) for row in queryset)

    def model_rows(model) -> list:
        return [(row.upstream_id, row.publisher.name, row.declared_license_id, sorted(origin_of(row))) for row in model]

    return {
        "models": sorted(model_rows(AIModel.objects.select_related("publisher"))),
        "publishers": rows(Publisher.objects.all(), "created_at", "updated_at"),
        "edges": sorted(
            (edge.child.upstream_id, edge.parent_upstream_id, edge.relation, edge.parent is not None)
            for edge in LineageEdge.objects.select_related("child")
        ),
        "revisions": sorted(Revision.objects.values_list("model__upstream_id", "revision")),
        "deployments": sorted(
            Deployment.objects.values_list("revision__model__upstream_id", "system", "environment", "team", "active")
        ),
        "origins": OriginCountry.objects.count(),
    }


def test_the_demo_is_large_and_cites_its_facts():
    hub_models = [entry for entry in DEMO["model"] if entry.get("hub", "huggingface") == "huggingface"]
    assert len(DEMO["model"]) >= 40
    for entry in hub_models:  # a web page, or repository@commit:path in a public repository
        source = entry["facts_source"]
        assert source.startswith("https://") or re.match(r"[\w.-]+/[\w.-]+@[0-9a-f]{7,40}:\S+", source), source
    pinned = [entry for entry in hub_models if entry.get("revision")]
    assert pinned, "some revisions were found in public sources"
    for entry in pinned:
        assert len(entry["revision"]) == 40
        assert entry["revision_source"], f"{entry['upstream_id']}: a sha needs the place it was found"


def test_the_demo_has_the_chains_that_cross_countries():
    output = io.StringIO()
    call_command("seed_demo", stdout=output)

    def get(upstream_id: str) -> AIModel:
        return AIModel.objects.get(upstream_id=upstream_id)

    assert "Demo inventory:" in output.getvalue()
    assert origin_of(get("perplexity-ai/r1-1776")) == {"US", "CN"}, "a US post-training of a Chinese base"
    distilled = get("deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    assert origin_of(distilled) == {"CN", "US"}, "a Chinese distillation of a US base"
    assert distilled.license_mismatch, "declared MIT on a Llama 3.1 base"
    assert set(distilled.inherited_licenses.values_list("key", flat=True)) == {"LicenseRef-llama-3.1-community"}
    assert origin_of(get("unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF")) == {"US", "CN"}, "a quantization of it"
    assert origin_of(get("unsloth/r1-1776-distill-llama-70b-GGUF")) == {"US", "CN"}
    merged = get("sayakpaul/FLUX.1-merged")
    assert LineageEdge.objects.filter(child=merged, relation="merge").count() == 2, "a merge of two bases"
    assert get("THUDM/glm-4-9b-chat").publisher.name == "zai-org", "a renamed namespace resolves"
    assert origin_of(get("acme/support-bot-7b")) == {"CN", "unknown"}
    environments = set(Deployment.objects.values_list("environment", flat=True))
    assert environments == {"dev", "staging", "prod"}
    assert len(set(Deployment.objects.values_list("system", flat=True))) >= 3


def test_seeding_twice_gives_the_same_rows_and_writes_nothing():
    seed_demo(actor=ACTOR)
    first = inventory_rows()
    logged = ChangeLogEntry.objects.count()

    seed_demo(actor=ACTOR)

    assert inventory_rows() == first
    assert ChangeLogEntry.objects.count() == logged


def test_seeding_again_deploys_the_pinned_revision_not_the_newest():
    seed_demo(actor=ACTOR)
    qwen = AIModel.objects.get(upstream_id="Qwen/Qwen2.5-7B-Instruct")
    revisions.add_revision(actor=ACTOR, model=qwen, revision="f" * 40)
    deployed = Deployment.objects.count()

    seed_demo(actor=ACTOR)

    assert Deployment.objects.count() == deployed


def test_a_deleted_demo_model_comes_back_with_its_lineage():
    seed_demo(actor=ACTOR)
    before = inventory_rows()
    child = "perplexity-ai/r1-1776-distill-llama-70b"
    ai_models.delete_model(
        actor=ACTOR, model=AIModel.objects.get(upstream_id="deepseek-ai/DeepSeek-R1-Distill-Llama-70B")
    )
    assert origin_of(AIModel.objects.get(upstream_id=child)) == {"US", "unknown"}

    seed_demo(actor=ACTOR)

    assert inventory_rows() == before
    assert origin_of(AIModel.objects.get(upstream_id=child)) == {"US", "CN"}


def test_a_country_changed_in_the_admin_reaches_the_descendants_of_its_models(admin_client):
    seed_demo(actor=ACTOR)
    meta = Publisher.objects.get(name="meta-llama")

    response = admin_client.post(
        f"/admin/inventory/publisher/{meta.pk}/change/",
        {
            "display_name": meta.display_name,
            "country": "CA",
            "country_source": "https://example.org/hypothetical-move",
            "parent": "",
            "website": meta.website,
        },
    )

    assert response.status_code == 302
    assert origin_of(AIModel.objects.get(upstream_id="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")) == {"CN", "CA"}
    assert origin_of(AIModel.objects.get(upstream_id="acme/code-review-8b")) == {"CN", "CA", "unknown"}
