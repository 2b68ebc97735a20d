"""Round trip: export the demo inventory, ingest it into an empty inventory, export again: the same
models (source, upstream id, revisions), lineage, licenses and publisher countries."""

import json
from typing import Any
from unittest import mock

import pytest

from boms import xml as bomxml
from boms.documents import Scope, build_bom
from boms.ingest.uploads import submit_bom
from core.access import system_principal
from core.jobs import run_job
from core.models import Job
from inventory import demo
from inventory.models import AIModel, Deployment, LineageEdge, Publisher, PublisherNamespace, Revision
from tests.inventory_helpers import ACTOR

pytestmark = pytest.mark.django_db


def seed_demo(**kwargs: Any) -> None:
    """The demo inventory without what other apps add to it (governance's audit reviews hold on to
    the models the test empties out)."""
    with mock.patch.object(demo.demo_seeded, "send", return_value=[]):
        demo.seed_demo(**kwargs)


ORIGIN = "mpr:origin:effective"
INHERITED = "mpr:license:inherited"


def _without_version(purl: str) -> str:
    head, _, qualifiers = purl.partition("?")
    return head.split("@", 1)[0] + (f"?{qualifiers}" if qualifiers else "")


def exported_facts(document: dict[str, Any]) -> dict[str, Any]:
    """What the round trip keeps, by model purl: licenses, manufacturer country, ancestors (without
    the product's relation property), effective origin and inherited licenses; and the dataset
    components. Properties of audits, violations and deployments are governance's and not compared."""
    facts = {}
    for component in document["components"]:
        if component["type"] != "machine-learning-model":
            continue
        properties = component.get("properties", [])
        facts[component["purl"]] = {
            "licenses": json.dumps(component.get("licenses"), sort_keys=True),
            "country": component.get("manufacturer", {}).get("address", {}).get("country"),
            "ancestors": sorted(
                _without_version(entry["purl"]) if "purl" in entry else entry["name"]
                for entry in component.get("pedigree", {}).get("ancestors", [])
            ),
            "origin": sorted(p["value"] for p in properties if p["name"] == ORIGIN),
            "inherited": sorted(p["value"] for p in properties if p["name"] == INHERITED),
            "card": json.dumps(component.get("modelCard"), sort_keys=True),
        }
    facts["datasets"] = sorted(c["bom-ref"] for c in document["components"] if c["type"] == "data")
    return facts


def inventory_facts() -> dict[str, Any]:
    models = {
        (model.source, model.upstream_id): (
            sorted(model.revisions.values_list("revision", flat=True)),
            model.declared_license.key if model.declared_license else None,
            model.publisher.country if model.publisher else None,
        )
        for model in AIModel.objects.select_related("declared_license", "publisher")
    }
    edges = {
        (edge.child.source, edge.child.upstream_id, edge.parent_source, edge.parent_upstream_id, edge.parent_id is None,
         edge.relation)
        for edge in LineageEdge.objects.select_related("child")
    }  # fmt: skip
    return {"models": models, "edges": edges}


def empty_the_inventory() -> None:
    """No models, revisions, edges, deployments, publishers or namespaces left (licenses are the
    catalogue and stay)."""
    Deployment.objects.all().delete()
    AIModel.objects.all().delete()
    PublisherNamespace.objects.all().delete()
    Publisher.objects.update(parent=None)
    Publisher.objects.all().delete()
    assert not Revision.objects.exists()
    assert not LineageEdge.objects.exists()


def ingest(content: bytes, media_type: str) -> Job:
    submitted = submit_bom(principal=system_principal("test"), content=content, media_type=media_type)
    run_job(job_id=submitted.job.pk)
    job = Job.objects.get(pk=submitted.job.pk)
    assert job.state == Job.State.SUCCEEDED, (job.error, job.log)
    return job


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_demo_inventory_survives_export_ingest_export(fmt: str) -> None:
    seed_demo(actor=ACTOR)
    before = inventory_facts()
    first = build_bom(Scope.organization())
    empty_the_inventory()

    if fmt == "json":
        job = ingest(json.dumps(first).encode(), "application/vnd.cyclonedx+json")
    else:
        job = ingest(bomxml.to_xml(first), "application/vnd.cyclonedx+xml")

    after = inventory_facts()
    assert after["models"] == before["models"]
    assert after["edges"] == before["edges"]  # relations too: from the components' base_model tags
    assert len(set(LineageEdge.objects.values_list("relation", flat=True))) > 1
    second = build_bom(Scope.organization())
    assert exported_facts(second) == exported_facts(first)
    assert job.result["models_created"] == len(before["models"])
    assert job.result["edges_added"] == len(before["edges"])
    assert job.result["publisher_countries_set"] > 0
    assert job.progress_done == job.progress_total == len(before["models"])


def test_ingesting_the_export_into_its_own_inventory_changes_nothing() -> None:
    seed_demo(actor=ACTOR)
    before = inventory_facts()
    relations = sorted(LineageEdge.objects.values_list("relation", flat=True))
    job = ingest(json.dumps(build_bom(Scope.organization())).encode(), "application/json")
    assert inventory_facts() == before
    assert sorted(LineageEdge.objects.values_list("relation", flat=True)) == relations  # curated relations stay
    assert job.result["models_created"] == 0
    assert job.result["edges_added"] == 0
    assert job.result["revisions_added"] == 0
    assert job.result["country_conflicts"] == 0


def test_a_system_bom_comes_back_with_its_deployments() -> None:
    seed_demo(actor=ACTOR)
    system, environment = Deployment.objects.values_list("system", "environment").order_by("system").first()
    deployed = {
        (row.revision.model.source, row.revision.model.upstream_id, row.revision.revision)
        for row in Deployment.objects.filter(system=system, active=True).select_related("revision__model")
    }
    document = build_bom(Scope("system", system))
    empty_the_inventory()
    submitted = submit_bom(
        principal=system_principal("test"),
        content=json.dumps(document).encode(),
        media_type="application/json",
        environment=environment,
    )
    run_job(job_id=submitted.job.pk)
    job = Job.objects.get(pk=submitted.job.pk)
    assert job.state == Job.State.SUCCEEDED, job.error
    recorded = {
        (row.revision.model.source, row.revision.model.upstream_id, row.revision.revision)
        for row in Deployment.objects.filter(system=system, environment=environment).select_related("revision__model")
    }
    assert recorded == deployed
    assert job.result["deployments_created"] == len(deployed)
