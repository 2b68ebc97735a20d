"""BOM downloads in the portal: the forms on the model, deployments and inventory pages, the download
through the same service as the API (inline file, or the job page with its progress and then the file)."""

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from boms import components as build
from boms.validation import validate
from boms.xml import validate_xml
from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel, Deployment
from inventory.services import revisions
from tests import inventory_helpers as inv

pytestmark = [pytest.mark.django_db]


class Forms(HTMLParser):
    """Each BOM download form: its hidden fields and the ids of its labelled selects."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.labels: set[str] = set()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "form" and "bom-download" in (attributes.get("class") or ""):
            form = {"action": attributes["action"], "method": attributes["method"], "hidden": {}, "selects": []}
            self.forms.append(form)
        elif self.forms and tag == "input" and attributes.get("type") == "hidden":
            self.forms[-1]["hidden"][attributes["name"]] = attributes["value"]
        elif self.forms and tag == "select":
            self.forms[-1]["selects"].append((attributes["name"], attributes["id"]))
        elif tag == "label" and attributes.get("for"):
            self.labels.add(attributes["for"] or "")


def bom_forms(response) -> Forms:
    parser = Forms()
    parser.feed(response.content.decode())
    for form in parser.forms:
        assert form["action"] == reverse("portal:bom")
        assert form["method"] == "get"
        assert [name for name, _ in form["selects"]] == ["format", "version"]
        assert {select_id for _, select_id in form["selects"]} <= parser.labels  # every select labelled
    assert len(parser.ids) == len(set(parser.ids)), "ids are unique on the page"
    return parser


@pytest.fixture
def inventory(settings, tmp_path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path
    owner = inv.publisher("Portal BOM Org", "DE")
    base = inv.model("pbo/base", owner)
    tuned = inv.model("pbo/tuned", owner)
    inv.derive_from(tuned, "pbo/base")
    AIModel.objects.filter(pk=tuned.pk).update(team="search")
    pinned, _ = revisions.add_revision(actor=inv.ACTOR, model=tuned, revision="c" * 40)
    now = timezone.now()
    for system, environment in [("bot", "prod"), ("bot", "staging"), ("crawler", "prod")]:
        Deployment.objects.create(
            revision=pinned, system=system, environment=environment, first_seen=now, last_seen=now
        )
    return {"base": base, "tuned": tuned}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_model_page_offers_the_models_and_its_teams_bom(client_as, inventory):
    tuned = inventory["tuned"]

    forms = bom_forms(client_as("viewer").get(reverse("portal:model", args=[tuned.pk]))).forms

    assert [form["hidden"] for form in forms] == [
        {"scope": "model", "name": str(tuned.pk)},
        {"scope": "team", "name": "search"},
    ]


def test_the_deployments_page_offers_a_bom_per_system_and_per_environment(client_as, inventory):
    client = client_as("viewer")

    forms = bom_forms(client.get(reverse("portal:deployments"))).forms

    assert [form["hidden"] for form in forms] == [
        {"scope": "environment", "name": "prod"},
        {"scope": "environment", "name": "staging"},
        {"scope": "system", "name": "bot"},
        {"scope": "system", "name": "crawler"},
    ]


def test_the_deployments_page_runs_as_many_queries_with_the_forms_for_more_systems(client_as, inventory):
    client = client_as("viewer")
    client.get(reverse("portal:deployments"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("portal:deployments"))
    pinned = inventory["tuned"].revisions.get()
    now = timezone.now()
    for index in range(20):
        Deployment.objects.create(
            revision=pinned, system=f"sys-{index}", environment=f"env-{index}", first_seen=now, last_seen=now
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("portal:deployments"))

    assert len(bom_forms(page).forms) > 20
    assert len(many) == len(few)


def test_the_inventory_filtered_by_team_offers_the_teams_bom(client_as, inventory):
    client = client_as("viewer")

    filtered = bom_forms(client.get(reverse("portal:models"), {"team": "search"})).forms
    unfiltered = bom_forms(client.get(reverse("portal:models"))).forms

    assert [form["hidden"] for form in filtered] == [{"scope": "team", "name": "search"}]
    assert unfiltered == []


@pytest.mark.parametrize(("fmt", "version"), [("json", "1.6"), ("json", "1.7"), ("xml", "1.6"), ("xml", "1.7")])
def test_a_small_scope_downloads_at_once_in_the_chosen_format(client_as, inventory, fmt, version):
    response = client_as("viewer").get(
        reverse("portal:bom"), {"scope": "system", "name": "bot", "format": fmt, "version": version}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == f"application/vnd.cyclonedx+{fmt}; version={version}"
    assert response["Content-Disposition"] == f'attachment; filename="bom-system-bot-{version}.cdx.{fmt}"'
    data = body_of(response)
    if fmt == "json":
        document = json.loads(data)
        validate(document, version)
        assert document["metadata"]["component"]["bom-ref"] == "system:bot"
    else:
        validate_xml(data, version)


def test_the_models_form_as_submitted_downloads_its_bom(client_as, inventory):
    tuned = inventory["tuned"]
    response = client_as("viewer").get(
        reverse("portal:bom"), {"scope": "model", "name": str(tuned.pk), "format": "json", "version": "1.6"}
    )

    document = json.loads(body_of(response))
    assert {c["name"] for c in document["components"]} == {"tuned", "base"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"scope": "system"}, "name"),
        ({"scope": "planet", "name": "x"}, "scope"),
        ({"scope": "team", "name": "search", "format": "pdf"}, "format"),
        ({"scope": "team", "name": "search", "version": "1.5"}, "version"),
        ({"scope": "model", "name": "abc"}, "name"),
        ({"scope": "organization", "name": "x"}, "name"),
    ],
)
def test_a_bad_request_is_a_400_page_naming_the_field_and_starts_nothing(client_as, inventory, query, field):
    response = client_as("viewer").get(reverse("portal:bom"), query)

    assert response.status_code == 400
    assert f"<li>{field}: " in response.content.decode()
    assert not Job.objects.filter(kind="bom").exists()


def test_an_unknown_model_is_404(client_as, inventory):
    response = client_as("viewer").get(reverse("portal:bom"), {"scope": "model", "name": "999999"})

    assert response.status_code == 404


def test_a_large_scope_goes_to_the_job_page_which_shows_progress_then_the_download(client_as, inventory, settings):
    settings.BOM_INLINE_MAX_MODELS = 1
    client = client_as("viewer")

    response = client.get(reverse("portal:bom"), {"scope": "organization", "format": "xml", "version": "1.7"})

    job = Job.objects.get(kind="bom")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:job", args=[job.pk])
    waiting = client.get(response["Location"]).content.decode()
    assert "being written as job" in waiting
    assert reverse("portal:job-progress", args=[job.pk]) in waiting  # the live progress fragment
    assert reverse("portal:bom-file", args=[job.pk]) not in waiting
    assert client.get(reverse("portal:bom-file", args=[job.pk])).status_code == 404

    run_job(job_id=job.pk)

    done = client.get(reverse("portal:job", args=[job.pk])).content.decode()
    fragment = client.get(reverse("portal:job-progress", args=[job.pk])).content.decode()
    assert 'value="2" max="2"' in fragment
    assert reverse("portal:bom-file", args=[job.pk]) in done
    assert reverse("portal:bom-file", args=[job.pk]) in fragment
    download = client.get(reverse("portal:bom-file", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.cyclonedx+xml; version=1.7"
    validate_xml(body_of(download), "1.7")


def test_a_document_failing_validation_is_a_500_page_and_no_file(client_as, inventory, monkeypatch):
    real = build.model_component
    monkeypatch.setattr(
        build, "model_component", lambda *a, **k: {**real(*a, **k), "hashes": [{"alg": "SHA-256", "content": "x"}]}
    )

    response = client_as("viewer").get(reverse("portal:bom"), {"scope": "team", "name": "search"})

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "could not write a valid CycloneDX document" in response.content.decode()
