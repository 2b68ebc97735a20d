"""The demo inventory: real models and lineage that cross countries, seeded idempotently."""

import io
import re
import tomllib

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

from core.changelog import Actor
from core.models import ChangeLogEntry
from inventory.catalogue import shipped_catalogue
from inventory.demo import DEMO_FILE, seed_demo
from inventory.models import AIModel, Deployment, LineageEdge, OriginCountry, Publisher, Revision
from inventory.services import ai_models, revisions
from tests.inventory_helpers import origin_of

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

DEMO = tomllib.loads(DEMO_FILE.read_text())
ACTOR = Actor.system("demo")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Seeding adds the demo's audit reviews, with an evidence file: to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


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


HUB_MODELS = [entry for entry in DEMO["model"] if entry.get("hub", "huggingface") == "huggingface"]


def test_the_demo_publishers_have_the_countries_their_notes_give():
    seed_demo(actor=ACTOR)

    assert Publisher.objects.get(name="Gensyn").country == "GB", "London"
    assert Publisher.objects.get(name="katanemo").country == "US"
    assert origin_of(AIModel.objects.get(upstream_id="Gensyn/Qwen2.5-0.5B-Instruct")) == {"GB", "CN"}
    assert origin_of(AIModel.objects.get(upstream_id="katanemo/Arch-Router-1.5B.gguf")) == {"US", "CN"}


def test_a_relation_the_card_does_not_declare_is_other_not_a_guessed_finetune():
    undeclared = [
        entry
        for entry in DEMO["model"]
        if re.search(r"relation (is )?not declared|no base_model_relation declared", entry.get("note", ""), re.I)
    ]
    assert undeclared
    for entry in undeclared:
        assert all(base["relation"] != "finetune" for base in entry["bases"]), entry["upstream_id"]
    seed_demo(actor=ACTOR)
    assert LineageEdge.objects.get(child__upstream_id="katanemo/Arch-Router-1.5B.gguf").relation == "other"


def test_every_publisher_shows_a_display_name():
    assert all(entry.display_name for entry in shipped_catalogue().publishers)
    assert dict(
        Publisher.objects.filter(name__in=["meta-llama", "deepseek-ai", "mistralai"]).values_list(
            "name", "display_name"
        )
    ) == {
        "meta-llama": "Meta",
        "deepseek-ai": "DeepSeek",
        "mistralai": "Mistral AI",
    }
    seed_demo(actor=ACTOR)
    unnamed = Publisher.objects.filter(models__source="huggingface", display_name="").distinct()
    assert not unnamed.exists(), "every publisher of a demo hub model is in the catalogue"


def test_parameter_counts_are_the_hubs_safetensors_totals_with_their_source():
    counted = [entry for entry in HUB_MODELS if "parameter_count" in entry]
    assert len(counted) >= 40
    for entry in counted:
        read_in_hub_json = entry["facts_source"].split(" ")[0].endswith("/model.json")
        assert entry.get("parameter_count_source") or read_in_hub_json, entry["upstream_id"]
        assert entry["parameter_count"] > 0
    gguf_only = [entry for entry in HUB_MODELS if entry["upstream_id"].lower().endswith(("-gguf", ".gguf"))]
    assert gguf_only
    assert not any("parameter_count" in entry for entry in gguf_only), "a GGUF repo has no safetensors total"
    seed_demo(actor=ACTOR)
    assert AIModel.objects.get(upstream_id="deepseek-ai/DeepSeek-R1").parameter_count == 684_531_386_000
    assert AIModel.objects.get(upstream_id="mistralai/Mistral-7B-v0.1").parameter_count == 7_241_732_096


def test_every_hub_model_keeps_the_hubs_license_value():
    for entry in HUB_MODELS:
        assert "license" in entry, entry["upstream_id"]
        if not entry["license"]:
            assert "declares NO license" in entry.get("note", ""), entry["upstream_id"]
        if entry["license"] == "other":
            assert entry.get("license_name"), f"{entry['upstream_id']}: 'other' needs the card's license_name"
    seed_demo(actor=ACTOR)
    hub_values = dict(AIModel.objects.filter(source="huggingface").values_list("upstream_id", "upstream_license"))
    unlicensed = {entry["upstream_id"] for entry in HUB_MODELS if not entry["license"]}
    assert {upstream_id for upstream_id, value in hub_values.items() if not value} == unlicensed
    assert hub_values["meta-llama/Llama-3.3-70B-Instruct"] == "llama3.3"
    assert hub_values["moonshotai/Kimi-K2-Instruct"] == "modified-mit", "'other' gives way to its license_name"
