"""The inventory's pages: the filtered list and its CSV, a model's page (lineage picture, audits,
violations, deployments, change log, refresh), the deployments; each in a bounded number of queries."""

import csv
import hashlib
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.access import principal_for_user, system_principal
from core.models import Job
from governance.models import GateDecision, Policy, Violation
from governance.services import request_review
from inventory.models import AIModel
from inventory.refresh.jobs import REFRESH_MODEL, refresh_as
from inventory.services.deployments import record_deployment, retire_deployment
from inventory.services.revisions import add_revision
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR, derive_from, license_, model, publisher

pytestmark = [pytest.mark.django_db]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def list_inventory(size: int) -> dict[str, AIModel]:
    """``size`` models of each kind: CN-derived (a US publisher's finetunes of a CN base), US-only, unknown."""
    cn, us = publisher("qwen", "CN"), publisher("meta", "US")
    apache = license_("apache-2.0")
    built = {"cn-base": model("qwen/base", cn, apache)}
    for number in range(size):
        derived = model(f"meta/cn-derived-{number}", us, apache)
        derive_from(derived, "qwen/base")
        built[f"derived-{number}"] = derived
        built[f"us-{number}"] = model(f"meta/us-only-{number}", us)
        built[f"unknown-{number}"] = model(f"nobody/unknown-{number}", None)
    return built


def rows_of(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""


def test_list_shows_the_columns_for_a_viewer(client_as) -> None:
    list_inventory(1)
    response = client_as("viewer").get(reverse("portal:models"))
    assert response.status_code == 200
    body = response.content.decode()
    rows = rows_of(body)
    assert 'href="/models/' in rows
    assert "meta/cn-derived-0" in rows
    assert "CN, US" in rows, "effective origin of the derived model"
    assert "apache-2.0" in rows
    assert "(permissive)" in rows
    assert "unaudited" in rows
    for label in ("Effective origin", "Publisher country", "Audit status", "Deployed in", "License category"):
        assert f">{label}</label>" in body
    assert '<option value="CN">CN</option>' in body, "the countries present are offered"


def test_origin_filter_shows_only_cn_derived_models(client_as) -> None:
    list_inventory(2)
    response = client_as("viewer").get(reverse("portal:models"), {"origin": "CN"})
    rows = rows_of(response.content.decode())
    assert "meta/cn-derived-0" in rows
    assert "meta/cn-derived-1" in rows
    assert "qwen/base" in rows
    assert "us-only" not in rows
    assert "unknown-" not in rows
    assert '<option value="CN" selected>' in response.content.decode(), "the form shows the filter used"


def test_the_form_submitted_with_nothing_chosen_lists_everything(client_as) -> None:
    list_inventory(1)
    empty = {name: "" for name in ("q", "origin", "publisher_country", "license", "license_category", "commercial_use",
                                   "audit_status", "environment", "source", "task", "team")}  # fmt: skip
    response = client_as("viewer").get(reverse("portal:models"), {**empty, "ordering": "upstream_id"})
    assert response.status_code == 200
    assert "4 models match" in response.content.decode()


def test_other_filters_and_ordering(client_as) -> None:
    list_inventory(2)
    viewer = client_as("viewer")
    rows = rows_of(viewer.get(reverse("portal:models"), {"publisher_country": "unknown"}).content.decode())
    assert "nobody/unknown-0" in rows
    assert "meta/" not in rows
    rows = rows_of(viewer.get(reverse("portal:models"), {"q": "us-only", "ordering": "-upstream_id"}).content.decode())
    assert rows.index("us-only-1") < rows.index("us-only-0")
    assert "cn-derived" not in rows


@pytest.mark.parametrize(
    ("name", "value"), [("audit_status", "bogus"), ("license_category", "nope"), ("ordering", "x")]
)
def test_an_invalid_filter_is_a_400_naming_it(client_as, name: str, value: str) -> None:
    list_inventory(1)
    response = client_as("viewer").get(reverse("portal:models"), {name: value})
    assert response.status_code == 400
    body = response.content.decode()
    assert f"<strong>{name}</strong>" in body
    assert "<tbody>" not in body
    csv_response = client_as("viewer", "other").get(reverse("portal:models-csv"), {name: value})
    assert csv_response.status_code == 400
    assert name in csv_response.content.decode()


def test_pagination_keeps_the_filters(client_as, monkeypatch) -> None:
    monkeypatch.setattr("portal.views.inventory.PAGE_SIZE", 2)
    list_inventory(3)
    viewer = client_as("viewer")
    first = viewer.get(reverse("portal:models"), {"origin": "CN"}).content.decode()
    assert "Page 1 of 2" in first
    assert 'href="?origin=CN&amp;page=2"' in first
    second = viewer.get(reverse("portal:models"), {"origin": "CN", "page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert len([line for line in rows_of(second).splitlines() if '<th scope="row">' in line]) == 2
    assert set(rows_of(first).split()) & {"meta/cn-derived-2"} == set()


def test_csv_is_every_matching_row_with_formulas_neutralised(client_as, monkeypatch) -> None:
    monkeypatch.setattr("portal.views.inventory.PAGE_SIZE", 1)
    built = list_inventory(2)
    AIModel.objects.filter(pk=built["derived-0"].pk).update(team="=HYPERLINK(1)")
    response = client_as("viewer").get(reverse("portal:models-csv"), {"origin": "CN"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["upstream_id"] for row in rows) == ["meta/cn-derived-0", "meta/cn-derived-1", "qwen/base"]
    derived = next(row for row in rows if row["upstream_id"] == "meta/cn-derived-0")
    assert derived["team"] == "'=HYPERLINK(1)"
    assert derived["effective_origin"] == "CN US"
    assert derived["publisher_country"] == "US"
    assert derived["purl"].startswith("pkg:huggingface/")
    page = client_as("viewer", "again").get(reverse("portal:models"), {"origin": "CN"}).content.decode()
    assert 'href="/models/export.csv?origin=CN"' in page


def model_inventory(size: int, prefix: str = "") -> AIModel:
    """A model with ``size`` parents (depth 2: each above one root), children, revisions of two files,
    reviews, violations, deployments and gate decisions; ``prefix`` keeps the names of a second one apart."""
    cn, us = publisher(f"{prefix}qwen", "CN"), publisher(f"{prefix}meta", "US")
    model(f"{prefix}qwen/root", cn)
    target = model(f"{prefix}acme/target", us, license_(f"{prefix}apache-2.0"))
    for number in range(size):
        parent = model(f"{prefix}qwen/parent-{number}", cn if number % 2 else us)
        derive_from(parent, f"{prefix}qwen/root", "quantized")
        derive_from(target, f"{prefix}qwen/parent-{number}", "merge")
        derive_from(model(f"{prefix}meta/child-{number}", us), f"{prefix}acme/target", "adapter")
    derive_from(target, f"{prefix}ghost/not-registered")
    requester = principal_for_user(_person(f"{prefix}requester"))
    now = timezone.now()
    for number in range(size):
        revision, _ = add_revision(
            actor=ACTOR,
            model=target,
            revision=f"{number:040x}",
            artifacts=[
                FileRecord(f"weights-{number}.bin", 1000 + number, digest(f"{prefix}b{number}")),
                FileRecord(f"model-{number}.safetensors", 2000, digest(f"{prefix}s{number}")),
            ],
            scan_done=True,
            scan_issues=[{"path": f"weights-{number}.bin", "issue": "pickle imports"}] if number == 0 else [],
        )
        request_review(principal=requester, model=target, kind="security", revision=revision.revision)
        record_deployment(actor=ACTOR, revision=revision, system=f"system-{number}", environment="prod")
        policy = Policy.objects.create(name=f"{prefix}policy-{number}", action="fail", conditions=[], enabled=True)
        waived = {"state": "waived", "waived_until": now + timedelta(days=1)} if number % 2 else {}
        Violation.objects.create(
            policy=policy, model=target, message=f"flagged by {number}", policy_version=1, first_seen=now,
            changed_at=now, **waived,
        )  # fmt: skip
        GateDecision.objects.create(
            actor_name="ci", reference=str(target), model=target, environment="prod", decision="deny"
        )
    return AIModel.objects.get(pk=target.pk)


def _person(name: str):
    from django.contrib.auth import get_user_model

    from core.access import set_user_access

    user = get_user_model().objects.create_user(username=name, password="a-long-test-password")
    set_user_access(actor=ACTOR, user=user, role="viewer", team="")
    return user


def test_model_page_shows_everything_for_a_viewer(client_as) -> None:
    target = model_inventory(2)
    response = client_as("viewer").get(reverse("portal:model", args=[target.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "pkg:huggingface/acme/target@" in body
    svg = body.split("<svg", 1)[1].split("</svg>", 1)[0]
    for name, country in (("qwen/parent-0", "US"), ("qwen/parent-1", "CN"), ("qwen/root", "CN")):
        assert name in svg
        assert f"country: {country}" in svg
    assert "meta/child-1" in svg
    assert "walk cut: parent not in the inventory" in svg
    root = AIModel.objects.get(upstream_id="qwen/root")
    assert f'href="/models/{root.pk}/"' in svg
    assert "weights-0.bin" in body
    assert "pickle-based</span>" in body
    assert "1 issue" in body
    assert "pickle imports" in body
    assert body.count(">security</td>") == 2
    assert reverse("portal:audit-request", args=[target.pk]) in body
    assert "flagged by 1" in body
    assert "system-1" in body
    assert f"{reverse('portal:decisions')}?model={target.pk}" in body
    assert "decision-deny" in body
    assert "Change log" in body
    assert "system:test" in body, "the change log's actor"
    assert "Effective origin" in body
    assert "CN, US" in body
    assert reverse("portal:violation-waive", args=[Violation.objects.first().pk]) not in body, "viewers may not waive"
    assert reverse("portal:model-refresh", args=[target.pk]) not in body, "viewers may not refresh"


def test_model_page_offers_waiving_to_auditors_and_refresh_to_editors(client_as) -> None:
    target = model_inventory(1)
    violation = Violation.objects.get()
    auditor = client_as("auditor").get(reverse("portal:model", args=[target.pk])).content.decode()
    assert reverse("portal:violation-waive", args=[violation.pk]) in auditor
    assert reverse("portal:model-refresh", args=[target.pk]) not in auditor
    editor = client_as("editor").get(reverse("portal:model", args=[target.pk])).content.decode()
    assert reverse("portal:model-refresh", args=[target.pk]) in editor
    assert reverse("portal:violation-waive", args=[violation.pk]) not in editor


def test_refresh_as_a_viewer_is_refused(client_as) -> None:
    target = model_inventory(1)
    response = client_as("viewer").post(reverse("portal:model-refresh", args=[target.pk]))
    assert response.status_code == 403
    assert not Job.objects.filter(kind=REFRESH_MODEL).exists()


def test_refresh_as_an_editor_starts_the_job_and_the_page_shows_its_progress(client_as) -> None:
    target = model_inventory(1)
    editor = client_as("editor")
    response = editor.post(reverse("portal:model-refresh", args=[target.pk]))
    job = Job.objects.get(kind=REFRESH_MODEL)
    assert job.params["model_id"] == target.pk
    assert job.requested_by.username == "editor-person"
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:model', args=[target.pk])}?job={job.pk}"
    page = editor.get(response["Location"]).content.decode()
    assert f'hx-get="{reverse("portal:job-progress", args=[job.pk])}"' in page
    assert 'hx-trigger="load"' in page
    assert "Refresh of" in page, "the success message"
    again = editor.post(reverse("portal:model-refresh", args=[target.pk]))
    assert again["Location"].endswith(f"?job={job.pk}"), "a waiting refresh is joined, not started twice"
    assert Job.objects.filter(kind=REFRESH_MODEL).count() == 1


def test_an_editor_with_a_team_refreshes_only_that_teams_models(client_as, make_person) -> None:
    target = model_inventory(1)
    AIModel.objects.filter(pk=target.pk).update(team="ml")
    outsider = Client()
    outsider.force_login(make_person("editor-of-search", "editor", team="search"))

    refused = outsider.post(reverse("portal:model-refresh", args=[target.pk]))

    assert refused.status_code == 403
    assert not Job.objects.filter(kind=REFRESH_MODEL).exists()
    member = Client()
    member.force_login(make_person("editor-of-ml", "editor", team="ml"))
    assert member.post(reverse("portal:model-refresh", args=[target.pk])).status_code == 302
    assert Job.objects.filter(kind=REFRESH_MODEL).count() == 1


@pytest.mark.parametrize(
    ("role", "team", "allowed"),
    [("viewer", "", False), ("deployer", "", False), ("auditor", "", False), ("editor", "search", False),
     ("editor", "ml", True), ("editor", "", True), ("admin", "search", True)],
)  # fmt: skip
def test_refresh_as_needs_edit_and_the_models_team(make_person, role, team, allowed) -> None:
    """The rule lives below the interfaces (``inventory.refresh.jobs.refresh_as``), not in a view."""
    target = model_inventory(1)
    AIModel.objects.filter(pk=target.pk).update(team="ml")
    target.refresh_from_db()
    principal = principal_for_user(make_person(f"{role}-{team or 'none'}", role, team=team))

    if allowed:
        assert refresh_as(principal, target) is not None
        assert Job.objects.filter(kind=REFRESH_MODEL).count() == 1
    else:
        with pytest.raises(PermissionDenied):
            refresh_as(principal, target)
        assert not Job.objects.filter(kind=REFRESH_MODEL).exists()


def test_an_unknown_model_is_a_404(client_as) -> None:
    assert client_as("viewer").get(reverse("portal:model", args=[999999])).status_code == 404


def deployments_inventory(size: int) -> None:
    us = publisher("meta", "US")
    for number in range(size):
        target = model(f"meta/deployed-{number}", us)
        revision, _ = add_revision(actor=ACTOR, model=target, revision=f"{number:040x}")
        record_deployment(actor=ACTOR, revision=revision, system=f"system-{number % 2}", environment="prod")
        record_deployment(actor=ACTOR, revision=revision, system="batch", environment="staging")
    retired = model("meta/retired", us)
    revision, _ = add_revision(actor=ACTOR, model=retired, revision="f" * 40)
    deployment, _ = record_deployment(actor=ACTOR, revision=revision, system="old", environment="prod")
    retire_deployment(principal=system_principal("test"), deployment=deployment)


def test_deployments_grouped_and_filtered(client_as) -> None:
    deployments_inventory(2)
    viewer = client_as("viewer")
    body = viewer.get(reverse("portal:deployments")).content.decode()
    assert body.index(">batch</h2>") < body.index(">system-0</h2>") < body.index(">system-1</h2>")
    assert ">staging <span" in body
    assert "meta/deployed-1" in body
    assert "meta/retired" not in body, "active deployments only"
    target = AIModel.objects.get(upstream_id="meta/deployed-0")
    assert f'href="/models/{target.pk}/"' in body
    filtered = viewer.get(reverse("portal:deployments"), {"environment": "staging"}).content.decode()
    assert ">batch</h2>" in filtered
    assert ">system-0</h2>" not in filtered
    assert '<option value="staging" selected>' in filtered
    system = viewer.get(reverse("portal:deployments"), {"system": "system-1"}).content.decode()
    assert "meta/deployed-1" in system
    assert "meta/deployed-0" not in system


def queries(client, url: str, params: dict | None = None) -> int:
    client.get(url, params)  # warm up: the session and the viewer's access
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_list_runs_the_same_number_of_queries_for_more_models(client_as) -> None:
    list_inventory(2)
    viewer = client_as("viewer")
    small = queries(viewer, reverse("portal:models")), queries(viewer, reverse("portal:models"), {"origin": "CN"})
    list_inventory_more(12)
    large = queries(viewer, reverse("portal:models")), queries(viewer, reverse("portal:models"), {"origin": "CN"})
    assert small == large


def list_inventory_more(size: int) -> None:
    cn, us = publisher("qwen2", "CN"), publisher("meta2", "US")
    base = model("qwen2/base", cn, license_("mit"))
    for number in range(size):
        derived = model(f"meta2/derived-{number}", us)
        derive_from(derived, str(base.upstream_id))
        revision, _ = add_revision(actor=ACTOR, model=derived, revision=f"{number:040x}")
        record_deployment(actor=ACTOR, revision=revision, system="s", environment=f"env-{number}")


def test_model_page_runs_the_same_number_of_queries_for_more_of_everything(client_as) -> None:
    viewer = client_as("viewer")
    small = queries(viewer, reverse("portal:model", args=[model_inventory(2).pk]))
    large_target = model_inventory(12, prefix="b-")
    assert queries(viewer, reverse("portal:model", args=[large_target.pk])) == small


def test_deployments_run_the_same_number_of_queries_for_more_deployments(client_as) -> None:
    viewer = client_as("viewer")
    deployments_inventory(2)
    small = (
        queries(viewer, reverse("portal:deployments")),
        queries(viewer, reverse("portal:deployments"), {"environment": "prod"}),
    )
    us = publisher("meta-more", "US")
    for number in range(15):
        target = model(f"meta-more/deployed-{number}", us)
        revision, _ = add_revision(actor=ACTOR, model=target, revision=f"{number:040x}")
        record_deployment(actor=ACTOR, revision=revision, system=f"more-{number % 4}", environment=f"env-{number % 3}")
    large = (
        queries(viewer, reverse("portal:deployments")),
        queries(viewer, reverse("portal:deployments"), {"environment": "prod"}),
    )
    assert small == large


def test_pages_have_nothing_the_content_security_policy_blocks(client_as) -> None:
    from tests.portal.conftest import csp_offences

    target = model_inventory(1)
    viewer = client_as("admin")
    for url in (reverse("portal:models"), reverse("portal:model", args=[target.pk]), reverse("portal:deployments")):
        assert csp_offences(viewer.get(url).content.decode()) == [], url
