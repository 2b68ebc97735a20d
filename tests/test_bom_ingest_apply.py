"""Applying a BOM: the mapping rules (docs/boms.md, "Ingest: mapping rules"), one transaction per
document, the per-system lock, the job's progress, log and result."""

import json
import threading
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections

from boms.ingest import apply as ingest
from boms.ingest.apply import BomApplyError, apply_document
from boms.ingest.uploads import submit_bom
from core.access import system_principal
from core.jobs import run_job
from core.models import ChangeLogEntry, Job
from inventory.models import (
    AIModel,
    AuditStatus,
    Deployment,
    EdgeOrigin,
    LineageEdge,
    Publisher,
    Relation,
    Revision,
    Source,
)
from inventory.services.ai_models import register_model
from inventory.services.lineage import add_lineage_edge
from inventory.services.publishers import add_namespace
from tests import inventory_helpers as inv
from tests.inventory_helpers import ACTOR

pytestmark = pytest.mark.django_db

SHA = "0e9e39f249a16976918f6564b8830bc894c89659"
OTHER_SHA = "4e20de362430cd3b72f300e6b0f18e50e7166e08"


def bom(*components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": list(components), **extra}


def ml(name: str, group: str | None = None, **fields: Any) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "machine-learning-model", "name": name}
    if group:
        component["group"] = group
    component.update(fields)
    return component


def hf(upstream_id: str, revision: str | None = None, **fields: Any) -> dict[str, Any]:
    namespace, name = upstream_id.split("/")
    purl = f"pkg:huggingface/{namespace}/{name}" + (f"@{revision}" if revision else "")
    return ml(name, namespace, purl=purl, **fields)


def model(source: str, upstream_id: str) -> AIModel:
    return AIModel.objects.get(source=source, upstream_id=upstream_id)


def applied(document: dict[str, Any], **kwargs: Any) -> ingest.IngestSummary:
    return apply_document(actor=ACTOR, document=document, **kwargs)


# --- identity -------------------------------------------------------------------------------------


def test_a_purl_gives_source_upstream_id_and_revision() -> None:
    applied(bom(hf("acme-lab/Chat-7B", SHA.upper())))
    found = model(Source.HUGGINGFACE, "acme-lab/Chat-7B")
    assert list(found.revisions.values_list("revision", flat=True)) == [SHA]  # as the hub's rules store it


def test_a_generic_purl_of_a_known_repository_is_that_source(settings: Any) -> None:
    url = settings.INTERNAL_MODEL_REPOSITORY_URL
    applied(bom(ml("bot", "acme", purl=f"pkg:generic/acme/bot@3?repository_url={url}")))
    assert list(model(Source.INTERNAL, "acme/bot").revisions.values_list("revision", flat=True)) == ["3"]


def test_without_a_usable_purl_the_rule_for_components_without_one_applies() -> None:
    summary = applied(
        bom(
            ml("Vision Model", "My Lab", version="2.0"),  # spaces become '-'
            ml("gpt-x", manufacturer={"name": "Open Corp"}),  # no group: the manufacturer's name
            ml("lonely"),  # nothing at all: namespace "bom"
            ml("packaged", "npm-ish", purl="pkg:npm/packaged@1.0.0", version="1.0.0"),  # no model source
            hf("acme-lab/Pinned", "main"),  # a hub purl whose revision is no commit sha
        )
    )
    assert list(model(Source.BOM, "My-Lab/Vision-Model").revisions.values_list("revision", flat=True)) == ["2.0"]
    assert model(Source.BOM, "Open-Corp/gpt-x")
    assert model(Source.BOM, "bom/lonely")
    assert model(Source.BOM, "npm-ish/packaged")
    assert not model(Source.HUGGINGFACE, "acme-lab/Pinned").revisions.exists()
    notes = "\n".join(summary.notes)
    assert "pkg:npm/packaged@1.0.0" in notes
    assert "'main' is not a huggingface revision" in notes


def test_nested_components_are_models_and_the_system_component_is_not() -> None:
    document = bom(
        {"type": "application", "name": "app", "components": [ml("inner", "lab", components=[ml("deeper", "lab")])]},
        metadata={"component": ml("the-system", "lab")},
    )
    summary = applied(document)
    assert sorted(AIModel.objects.values_list("upstream_id", flat=True)) == ["lab/deeper", "lab/inner"]
    assert summary.system == "the-system"


def test_one_model_named_twice_is_one_model_with_both_revisions() -> None:
    summary = applied(bom(hf("acme-lab/Chat-7B", SHA), hf("acme-lab/chat-7b", OTHER_SHA)))
    assert summary.models == 1
    assert set(model(Source.HUGGINGFACE, "acme-lab/Chat-7B").revisions.values_list("revision", flat=True)) == {
        SHA,
        OTHER_SHA,
    }


# --- lineage --------------------------------------------------------------------------------------


def test_pedigree_ancestors_become_edges_to_the_parents_only() -> None:
    base, middle = hf("base-lab/Base"), hf("mid-lab/Middle")
    middle_full = {**middle, "pedigree": {"ancestors": [base]}}
    # As the product exports: the child lists its parent and its grandparent.
    child = {**hf("top-lab/Child"), "pedigree": {"ancestors": [middle, base]}}
    summary = applied(bom(hf("base-lab/Base"), middle_full, child))
    edges = {
        (edge.child.upstream_id, edge.parent_upstream_id, edge.relation, edge.origin)
        for edge in LineageEdge.objects.select_related("child")
    }
    assert edges == {
        ("mid-lab/Middle", "base-lab/Base", Relation.OTHER, EdgeOrigin.BOM),
        ("top-lab/Child", "mid-lab/Middle", Relation.OTHER, EdgeOrigin.BOM),
    }
    assert summary.edges_added == 2
    assert LineageEdge.objects.get(child__upstream_id="top-lab/Child").parent == model(
        Source.HUGGINGFACE, "mid-lab/Middle"
    )


def test_the_dependency_graph_keeps_a_direct_parent_that_is_also_a_grandparent() -> None:
    base, middle = hf("base-lab/Base"), hf("mid-lab/Middle")
    merged = {**hf("top-lab/Merged"), "bom-ref": "merged", "pedigree": {"ancestors": [middle, base]}}
    document = bom(
        {**base, "bom-ref": "base"},
        {**middle, "bom-ref": "middle", "pedigree": {"ancestors": [base]}},
        merged,
        dependencies=[{"ref": "merged", "dependsOn": ["middle", "base"]}, {"ref": "middle", "dependsOn": ["base"]}],
    )
    applied(document)
    parents = LineageEdge.objects.filter(child__upstream_id="top-lab/Merged").values_list(
        "parent_upstream_id", flat=True
    )
    assert sorted(parents) == ["base-lab/Base", "mid-lab/Middle"]


def test_hugging_face_base_model_tags_give_the_relation() -> None:
    child = {
        **hf("top-lab/Child-GGUF"),
        "tags": ["gguf", "base_model:quantized:top-lab/Child"],
        "pedigree": {"ancestors": [hf("top-lab/Child")]},
    }
    applied(bom(child))
    assert LineageEdge.objects.get().relation == Relation.QUANTIZED


def test_an_existing_edge_keeps_its_relation() -> None:
    child, _ = register_model(actor=ACTOR, source=Source.HUGGINGFACE, upstream_id="top-lab/Child")
    add_lineage_edge(
        actor=ACTOR,
        child=child,
        parent_source=Source.HUGGINGFACE,
        parent_upstream_id="base-lab/Base",
        relation=Relation.FINETUNE,
        origin_of_edge=EdgeOrigin.MANUAL,
    )
    summary = applied(bom({**hf("top-lab/Child"), "pedigree": {"ancestors": [hf("base-lab/Base")]}}))
    edge = LineageEdge.objects.get()
    assert (edge.relation, edge.origin) == (Relation.FINETUNE, EdgeOrigin.MANUAL)
    assert summary.edges_added == 0


# --- the product's own properties ----------------------------------------------------------------


def test_mpr_properties_are_ignored() -> None:
    existing, _ = register_model(actor=ACTOR, source=Source.HUGGINGFACE, upstream_id="acme-lab/Chat-7B")
    smuggled = [
        {"name": "mpr:audit:status", "value": "approved"},
        {"name": "mpr:origin:effective", "value": "FR"},
        {"name": "mpr:license:inherited", "value": "MIT"},
        {"name": "mpr:lineage:relation", "value": "finetune"},
    ]
    parent = {**hf("base-lab/Base"), "properties": [{"name": "mpr:lineage:relation", "value": "finetune"}]}
    applied(
        bom(
            {**hf("acme-lab/Chat-7B"), "properties": smuggled, "pedigree": {"ancestors": [parent]}},
            {**hf("acme-lab/Fresh"), "properties": smuggled},
        )
    )
    for found in AIModel.objects.filter(upstream_id__in=["acme-lab/Chat-7B", "acme-lab/Fresh"]):
        assert found.audit_status == AuditStatus.UNAUDITED
        assert found.audit_expires_at is None
        assert "FR" not in set(found.origin_countries.values_list("country", flat=True))
        assert not found.inherited_licenses.exists()
    assert existing.pk == model(Source.HUGGINGFACE, "acme-lab/Chat-7B").pk
    assert LineageEdge.objects.get().relation == Relation.OTHER


# --- publishers' countries ------------------------------------------------------------------------


def test_a_manufacturer_country_sets_an_unknown_publisher_country_only() -> None:
    inv.publisher("curated-lab", country="US")
    add_namespace(
        actor=ACTOR, publisher=Publisher.objects.get(name="curated-lab"), source="huggingface", namespace="curated-lab"
    )
    summary = applied(
        bom(
            hf("new-lab/One", manufacturer={"name": "New Lab", "address": {"country": "France"}}),
            hf("new-lab/Two", manufacturer={"name": "New Lab", "address": {"country": "FR"}}),
            hf("curated-lab/Three", manufacturer={"name": "Curated", "address": {"country": "CN"}}),
            hf("odd-lab/Four", manufacturer={"name": "Odd", "address": {"country": "Atlantis"}}),
        )
    )
    assert model(Source.HUGGINGFACE, "new-lab/One").publisher.country == "FR"
    assert set(model(Source.HUGGINGFACE, "new-lab/Two").origin_countries.values_list("country", flat=True)) == {"FR"}
    assert model(Source.HUGGINGFACE, "curated-lab/Three").publisher.country == "US"
    assert model(Source.HUGGINGFACE, "odd-lab/Four").publisher.country == ""
    assert summary.publisher_countries_set == 1
    assert summary.country_conflicts == 1
    notes = "\n".join(summary.notes)
    assert "conflicts with publisher 'curated-lab'" in notes
    assert "'Atlantis' is no ISO 3166-1 country" in notes


def test_a_document_that_disagrees_with_itself_sets_no_country() -> None:
    summary = applied(
        bom(
            hf("new-lab/One", manufacturer={"name": "New Lab", "address": {"country": "FR"}}),
            hf("new-lab/Two", manufacturer={"name": "New Lab", "address": {"country": "DE"}}),
        )
    )
    assert model(Source.HUGGINGFACE, "new-lab/One").publisher.country == ""
    assert summary.country_conflicts == 1


# --- licenses -------------------------------------------------------------------------------------


def test_licenses_map_through_the_catalogue() -> None:
    summary = applied(
        bom(
            hf("lab/by-id", licenses=[{"license": {"id": "Apache-2.0"}}]),
            hf("lab/by-alias", licenses=[{"license": {"name": "llama3.1"}}]),
            hf("lab/by-name", licenses=[{"license": {"name": "CreativeML Open RAIL-M"}}]),
            hf("lab/by-expression", licenses=[{"expression": "MIT"}]),
            hf("lab/unknown", licenses=[{"license": {"name": "Our Own Terms"}}]),
            ml("own", "lab", licenses=[{"expression": "Apache-2.0 OR MIT"}]),
        )
    )

    def key(upstream_id: str, source: str = Source.HUGGINGFACE) -> str | None:
        found = model(source, upstream_id).declared_license
        return found.key if found else None

    assert key("lab/by-id") == "Apache-2.0"
    assert key("lab/by-alias") == "LicenseRef-llama-3.1-community"
    assert key("lab/by-name") == "LicenseRef-creativeml-openrail-m"
    assert key("lab/by-expression") == "MIT"
    assert key("lab/unknown") is None
    assert key("lab/own", Source.BOM) is None
    assert model(Source.BOM, "lab/own").upstream_license == "Apache-2.0 OR MIT"  # kept visible as unknown
    assert summary.licenses_unknown == 2
    assert "license 'Our Own Terms' is not in the catalogue" in "\n".join(summary.notes)


# --- card data ------------------------------------------------------------------------------------


def test_card_data_and_data_components_are_kept() -> None:
    card = {
        "modelParameters": {
            "task": "text-generation",
            "architectureFamily": "llama",
            "datasets": [{"ref": "hub-data"}, {"ref": "own-data"}, {"type": "dataset", "name": "Inline Set"}],
        },
        "quantitativeAnalysis": {"performanceMetrics": [{"type": "accuracy", "value": "0.91", "slice": "mmlu"}]},
    }
    document = bom(
        hf("lab/Carded", modelCard=card),
        {
            "type": "data",
            "bom-ref": "hub-data",
            "group": "HuggingFaceFW",
            "name": "fineweb",
            "externalReferences": [{"type": "website", "url": "https://huggingface.co/datasets/HuggingFaceFW/fineweb"}],
        },
        {"type": "data", "bom-ref": "own-data", "name": "Support tickets"},
    )
    summary = applied(document)
    found = model(Source.HUGGINGFACE, "lab/Carded")
    assert found.task == "text-generation"
    assert found.architecture_family == "llama"
    assert found.datasets == [
        {"source": "huggingface", "id": "HuggingFaceFW/fineweb"},
        {"source": "bom", "id": "Support tickets"},
        {"source": "bom", "id": "Inline Set"},
    ]
    assert found.evaluation_results == [
        {
            "task": "text-generation",
            "dataset": "",
            "dataset_name": "mmlu",
            "metric": "accuracy",
            "value": 0.91,
            "verified": None,
        }
    ]
    assert found.model_card == card
    assert summary.data_components == 2
    # The card is raw data: the change log does not copy it.
    creation = ChangeLogEntry.objects.get(object_type="inventory.aimodel", object_id=str(found.pk), action="create")
    assert "model_card" not in creation.after


# --- deployments ----------------------------------------------------------------------------------


def test_the_system_and_environment_register_deployments() -> None:
    document = bom(
        hf("lab/Served", SHA),
        hf("lab/Unpinned"),
        metadata={"component": {"type": "application", "name": "support-portal"}},
    )
    summary = applied(document, environment="prod")
    deployment = Deployment.objects.select_related("revision__model").get()
    assert (deployment.system, deployment.environment, deployment.revision.revision) == ("support-portal", "prod", SHA)
    assert summary.deployments_created == 1
    assert "no revision (version) to deploy" in "\n".join(summary.notes)
    again = applied(document, environment="prod")
    assert again.deployments_seen_again == 1
    assert Deployment.objects.count() == 1


def test_without_an_environment_nothing_is_deployed() -> None:
    summary = applied(bom(hf("lab/Served", SHA), metadata={"component": {"type": "application", "name": "portal"}}))
    assert not Deployment.objects.exists()
    assert "no environment given" in "\n".join(summary.notes)


# --- one transaction, one recompute, one ingest per system ---------------------------------------


def test_a_large_bom_is_one_registration_with_one_recompute() -> None:
    document = bom(
        *(hf(f"lab/model-{number}", pedigree={"ancestors": [hf("lab/model-0")]}) for number in range(1, 400))
    )
    with mock.patch("inventory.services.bulk.origin.recompute", wraps=ingest.origin.recompute) as recompute:
        summary = applied(document)
    assert recompute.call_count == 1
    assert summary.models_created == 399
    assert LineageEdge.objects.filter(parent__isnull=True).count() == 399  # lab/model-0 is not registered


def test_a_failure_rolls_the_whole_document_back_and_fails_the_job() -> None:
    content = json.dumps(
        bom(
            hf("lab/Fine", SHA, manufacturer={"name": "Lab", "address": {"country": "FR"}}),
            ml("x" * 250, "lab"),  # an upstream id longer than the inventory stores
        )
    ).encode()
    submitted = submit_bom(principal=system_principal("test"), content=content, media_type="application/json")
    models_before, log_before = AIModel.objects.count(), ChangeLogEntry.objects.count()
    run_job(job_id=submitted.job.pk)
    job = Job.objects.get(pk=submitted.job.pk)
    assert job.state == Job.State.FAILED
    assert "components[1]" in job.error
    assert "rolled back" in job.log
    assert AIModel.objects.count() == models_before == 0
    assert ChangeLogEntry.objects.count() == log_before
    assert not Publisher.objects.filter(name="lab").exists()


def test_a_component_the_inventory_cannot_hold_is_named() -> None:
    with pytest.raises(BomApplyError, match=r"components\[0\]\.components\[0\]"):
        applied(bom({"type": "application", "name": "app", "components": [ml("y" * 199, "lab")]}))
    assert not AIModel.objects.exists()


def test_a_failure_after_registration_leaves_nothing_either() -> None:
    document = bom(hf("lab/Served", SHA), metadata={"component": {"type": "application", "name": "portal"}})
    with (
        mock.patch.object(ingest, "record_deployment", side_effect=RuntimeError("the disk is gone")),
        pytest.raises(RuntimeError),
    ):
        applied(document, environment="prod")
    assert not AIModel.objects.exists()
    assert not Revision.objects.exists()


def test_the_job_reports_progress_a_log_and_a_result() -> None:
    content = json.dumps(
        bom(
            hf("lab/One", SHA, manufacturer={"name": "Lab", "address": {"country": "FR"}}),
            hf("lab/Two", licenses=[{"license": {"name": "Our Own Terms"}}]),
            metadata={"component": {"type": "application", "name": "portal"}},
        )
    ).encode()
    submitted = submit_bom(
        principal=system_principal("test"), content=content, media_type="application/json", environment="staging"
    )
    run_job(job_id=submitted.job.pk)
    job = Job.objects.get(pk=submitted.job.pk)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert "publisher 'lab': country set to FR" in job.log
    assert "license 'Our Own Terms' is not in the catalogue" in job.log
    assert job.result["document_id"] == submitted.upload.pk
    assert job.result["models_created"] == 2
    assert job.result["deployments_created"] == 1
    assert job.result["system"] == "portal"
    assert job.result["environment"] == "staging"
    # Written as the one who sent it (here the system principal), in the upload request's id.
    entry = ChangeLogEntry.objects.filter(object_type="inventory.aimodel").first()
    assert entry.request_id == job.request_id


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer in at a time anyway")
def test_one_ingest_per_system_at_a_time() -> None:
    outcome: dict[str, bool] = {}

    def try_lock(system: str) -> None:
        key = ingest._system_key(system)
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ingest._INGEST_LOCK, key])
                outcome[system] = cursor.fetchone()[0]
        finally:
            connections["default"].close()

    ingest._lock_system("portal")  # held until the test's transaction ends
    for system in ("portal", "another"):
        thread = threading.Thread(target=try_lock, args=(system,))
        thread.start()
        thread.join()
    assert outcome == {"portal": False, "another": True}
