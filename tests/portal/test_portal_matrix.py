"""Every portal route and every role: allowed or denied as the roles say (the API's rules, see
tests/test_api_matrix.py), built from Django's URL resolver; every form posted as a viewer and without
a CSRF token is refused."""

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from boms.export_models import ExportFile
from boms.exports import services as exports
from core.access import principal_for_user, set_user_access, system_principal
from core.changelog import Actor
from core.jobs import run_job, start_job
from core.models import ApiToken, ChangeLogEntry
from core.tokens import issue_token
from governance import gate, policies, violations
from governance import services as audits
from governance.models import Violation
from inventory.models import AIModel
from inventory.services import revisions
from tests.inventory_helpers import license_, model, publisher
from tests.portal.conftest import PASSWORD, ROLES, csp_offences, portal_routes, route_methods
from tests.support.bom_ingest import minimal_json

pytestmark = [pytest.mark.django_db]

READ = {"viewer", "deployer", "editor", "auditor", "admin"}
REGISTER = {"deployer", "editor", "admin"}
EDIT = {"editor", "admin"}
AUDIT = {"auditor", "admin"}
ADMINISTER = {"admin"}
PUBLIC = "public"  # visitors too: the sign-in page

# (route name, method) -> roles allowed. A portal route (or a method of one) missing here fails the test.
MATRIX: dict[tuple[str, str], set[str] | str] = {
    ("login", "get"): PUBLIC,
    ("login", "post"): PUBLIC,
    ("login", "put"): PUBLIC,  # Django's FormView answers a PUT as a POST (same form, same throttling)
    ("logout", "post"): READ,
    ("dashboard", "get"): READ,
    # Inventory
    ("models", "get"): READ,
    ("models-csv", "get"): READ,
    ("model", "get"): READ,
    ("model-refresh", "post"): EDIT,
    ("deployments", "get"): READ,
    # Audits
    ("audits", "get"): READ,
    ("audit", "get"): READ,
    ("audit-request", "get"): READ,
    ("audit-request", "post"): READ,  # anyone who reads may ask for a review (as in the API)
    ("audit-take", "post"): AUDIT,
    ("audit-decide", "post"): AUDIT,
    # The reviews below were asked for by someone else than the caller: adding evidence to one is an
    # auditor's, withdrawing it an admin's (the requester's own are tested with the audit pages).
    ("audit-evidence", "post"): AUDIT,
    ("audit-withdraw", "post"): ADMINISTER,
    # Policies, violations, overrides
    ("policies", "get"): READ,
    ("policy-new", "get"): READ,  # a reader is sent back to the list (they may not write one)
    ("policy-new", "post"): ADMINISTER,
    ("policy", "get"): READ,  # read-only for readers
    ("policy", "post"): ADMINISTER,
    ("policy-dry-run", "post"): ADMINISTER,
    ("policy-enable", "post"): ADMINISTER,
    ("violations", "get"): READ,
    ("violation-waive", "get"): READ,
    ("violation-waive", "post"): AUDIT,
    ("overrides", "get"): READ,
    ("overrides", "post"): ADMINISTER,
    ("override-revoke", "post"): ADMINISTER,
    # Gate
    ("gate", "get"): READ,
    ("gate", "post"): REGISTER,  # asking the gate records a decision, as the API's gate (REGISTER)
    ("decisions", "get"): READ,
    # Catalogue: read as the API reads it, curated by admins
    ("catalogue", "get"): READ,
    ("publisher", "get"): READ,
    ("publisher", "post"): ADMINISTER,
    ("license", "get"): READ,
    ("license", "post"): ADMINISTER,
    # People and tokens: admins only, reading included
    ("people", "get"): ADMINISTER,
    ("person-new", "get"): ADMINISTER,
    ("person-new", "post"): ADMINISTER,
    ("person", "get"): ADMINISTER,
    ("person", "post"): ADMINISTER,
    ("tokens", "get"): ADMINISTER,
    ("tokens", "post"): ADMINISTER,
    ("token-revoke", "post"): ADMINISTER,
    # Jobs
    ("jobs", "get"): READ,
    ("job", "get"): READ,
    ("job-progress", "get"): READ,
    # BOM downloads: reading, as the API's BOM routes
    ("bom", "get"): READ,
    ("bom-file", "get"): READ,
    # BOM upload: registering, as the API's POST /api/v1/boms/
    ("bom-upload", "get"): READ,  # a reader is told their role may not upload (no form)
    ("bom-upload", "post"): REGISTER,
    # Compliance exports: read by all readers (files, signatures, the key), set and run by admins (as the API)
    ("exports", "get"): READ,
    ("export-schedule-new", "get"): ADMINISTER,
    ("export-schedule-new", "post"): ADMINISTER,
    ("export-schedule", "get"): ADMINISTER,
    ("export-schedule", "post"): ADMINISTER,
    ("export-run", "post"): ADMINISTER,
    ("export-file-download", "get"): READ,
    ("export-file-signature", "get"): READ,
    ("export-public-key", "get"): READ,
}

# Forms a viewer may post (the rest are refused to a viewer): signing in and out, and asking for a review.
VIEWER_MAY_POST = {
    "login": "the sign-in form is every visitor's",
    "logout": "everyone signed in may sign out",
    "audit-request": "anyone who reads may ask for a review, as in the API (audit-list POST is READ)",
}

FUTURE = "2999-01-01T00:00"
CONDITIONS = '[{"subject": "team", "operator": "is", "value": "ml"}]'


def _policy_form(objects: dict[str, Any], **changes: str) -> dict[str, str]:
    return {
        "name": "matrix-new-policy",
        "description": "",
        "enabled": "",
        "action": "warn",
        "match": "all",
        "environments": "",
        "tags": "",
        "teams": "",
        "conditions": CONDITIONS,
        **changes,
    }


def _schedule_form(**changes: str) -> dict[str, str]:
    return {
        "scope": "organization", "scope_name": "", "format": "csv", "spec_version": "1.6", "every": "daily",
        "at": "02:00", "weekday": "0", "day_of_month": "1", "enabled": "on", "keep": "3", "keep_days": "",
        **changes,
    }  # fmt: skip


# Bodies that pass validation, so an allowed role reaches the service (and succeeds: a 2xx or 3xx) and a
# denied one its refusal. Each takes the objects, for the forms that name one (a person's prefixed fields).
BODIES: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, str]]] = {
    ("audit-request", "post"): lambda o: {"kind": "security", "revision": "", "note": "please"},
    ("audit-decide", "post"): lambda o: {"decision": "approved"},
    ("audit-evidence", "post"): lambda o: {"url": "https://example.org/audit-report", "title": "report"},
    ("policy-new", "post"): lambda o: _policy_form(o),
    ("policy", "post"): lambda o: _policy_form(o, name="matrix-flags", enabled="on", description="edited"),
    ("policy-dry-run", "post"): lambda o: _policy_form(o, name=""),
    ("policy-enable", "post"): lambda o: {"enabled": "false"},
    ("violation-waive", "post"): lambda o: {"reason": "accepted for the pilot", "until": FUTURE},
    ("overrides", "post"): lambda o: {
        "model": "huggingface:matrix-org/matrix-model",
        "environment": "prod",
        "reason": "incident 42",
        "expires_at": FUTURE,
    },
    ("gate", "post"): lambda o: {"model": "huggingface:matrix-org/matrix-model", "environment": "prod"},
    ("publisher", "post"): lambda o: {"display_name": "Matrix Org", "country": "FR"},
    ("license", "post"): lambda o: {"name": "Matrix license", "category": "permissive", "commercial_use": "yes"},
    ("person-new", "post"): lambda o: {
        "new-username": "newcomer",
        "new-password1": PASSWORD,
        "new-password2": PASSWORD,
        "new-role": "viewer",
        "new-team": "",
    },
    ("person", "post"): lambda o: {f"p{o['person']}-role": "deployer", f"p{o['person']}-team": ""},
    ("tokens", "post"): lambda o: {"name": "matrix-token", "role": "viewer", "team": ""},
    ("bom", "get"): lambda o: {"scope": "model", "name": str(o["model"]), "format": "json", "version": "1.6"},
    ("bom-upload", "post"): lambda o: {
        "document": SimpleUploadedFile("matrix.json", minimal_json(), content_type="application/json"),
        "environment": "",
    },
    ("export-schedule-new", "post"): lambda o: _schedule_form(name="matrix-new-schedule"),
    ("export-schedule", "post"): lambda o: _schedule_form(name="matrix-schedule", enabled=""),
}


def body(name: str, method: str, objects: dict[str, Any]) -> dict[str, str]:
    make = BODIES.get((name, method))
    return make(objects) if make else {}


def test_every_route_of_the_portal_is_in_the_matrix():
    routes = {(name, method) for name, pattern in portal_routes().items() for method in route_methods(pattern)}
    assert routes - set(MATRIX) == set(), "portal routes without a row in MATRIX"
    assert set(MATRIX) - routes == set(), "MATRIX rows for routes (or methods) the portal does not have"
    assert set(BODIES) <= set(MATRIX)


@pytest.fixture
def objects(settings, tmp_path) -> dict[str, Any]:
    """One of everything the portal's routes name, none of it the caller's own."""
    settings.MEDIA_ROOT = tmp_path
    actor = Actor.system("test")
    owner = publisher("Matrix Org", "US")
    target = model("matrix-org/matrix-model", owner, license_("LicenseRef-matrix"))
    other = model("matrix-org/other-model", owner)
    AIModel.objects.filter(pk=target.pk).update(team="ml")
    revisions.add_revision(actor=actor, model=target, revision="a" * 40)
    job = start_job(actor=actor, kind="worker_check")
    bom_job = start_job(actor=actor, kind="bom", params={"scope": "organization"})
    run_job(job_id=bom_job.pk)  # a stored BOM file to download
    # Reviews asked for (and one taken) by people other than the caller, so four eyes stands in no
    # allowed role's way; one per kind, as one kind and pin has one open review at a time.
    users = get_user_model().objects
    asker = users.create_user(username="asker", password=PASSWORD)
    colleague = users.create_superuser(username="colleague", email="", password=PASSWORD)
    requester, auditor = principal_for_user(asker), principal_for_user(colleague)
    to_take = audits.request_review(principal=requester, model=target, kind="security")
    to_decide = audits.take_review(
        principal=auditor, review=audits.request_review(principal=requester, model=target, kind="license")
    )
    to_add_to = audits.request_review(principal=requester, model=target, kind="full")
    policy = policies.create_policy(
        actor=actor,
        definition={"name": "matrix-flags", "action": "warn", "enabled": True,
                    "conditions": [{"subject": "team", "operator": "is", "value": "ml"}]},
    )  # fmt: skip
    violations.evaluate(model_ids=[target.pk])
    override = gate.grant_override(
        principal=system_principal("test"), model=target, environment="staging", reason="test",
        expires_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    token = issue_token(actor=actor, name="matrix-existing", role="viewer").token
    schedule = exports.create_schedule(
        principal=system_principal("test"),
        definition={"name": "matrix-schedule", "scope": "organization", "format": "csv", "at": time(2, 0)},
    )
    export_job = exports.run_schedule_now(principal=system_principal("test"), schedule=schedule)
    run_job(job_id=export_job.pk)  # a stored export file and its signature to download
    export_file = ExportFile.objects.get(job_id=export_job.pk)
    return {
        "model": target.pk,
        "model-refresh": target.pk,
        "audit-request": other.pk,
        "audit": to_add_to.pk,
        "audit-take": to_take.pk,
        "audit-decide": to_decide.pk,
        "audit-evidence": to_add_to.pk,
        "audit-withdraw": to_take.pk,
        "policy": policy.pk,
        "policy-enable": policy.pk,
        "violation-waive": Violation.objects.get(policy=policy).pk,
        "override-revoke": override.pk,
        "publisher": owner.pk,
        "license": target.declared_license_id,
        "person": asker.pk,
        "token-revoke": token.pk,
        "job": job.pk,
        "job-progress": job.pk,
        "bom-file": bom_job.pk,
        "export-schedule": schedule.pk,
        "export-run": schedule.pk,
        "export-file-download": export_file.pk,
        "export-file-signature": export_file.pk,
    }


def url_for(name: str, objects: dict[str, Any]) -> str:
    pattern = portal_routes()[name]
    parameters = list(getattr(pattern.pattern, "converters", {}))
    if not parameters:
        return reverse(f"portal:{name}")
    return reverse(f"portal:{name}", kwargs={parameters[0]: objects[name]})


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == reverse("portal:login")


def signed_in_client(role: str, **options: Any) -> tuple[Client, Any]:
    """A client signed in as a new person given ``role`` through core.access (an admin too: by its role,
    as the portal's people page gives it; a superuser is the matrix's own case)."""
    user = get_user_model().objects.create_user(username=f"matrix-{role}", password=PASSWORD)
    set_user_access(actor=Actor.system("test"), user=user, role=role)
    client = Client(**options)
    client.force_login(user)
    return client, user


@pytest.mark.parametrize("role", ["anonymous", *ROLES, "superuser"])
def test_each_role_is_allowed_or_denied_on_every_route(objects, role):
    if role == "anonymous":
        client = Client()
    elif role == "superuser":
        client = Client()
        client.force_login(get_user_model().objects.create_superuser(username="root", email="", password=PASSWORD))
    else:
        client, _ = signed_in_client(role)
    effective = "admin" if role == "superuser" else role
    for (name, method), allowed in MATRIX.items():
        if name in ("login", "logout"):
            continue  # signing in and out: tests/portal/test_security.py
        written_before = ChangeLogEntry.objects.count()
        response = getattr(client, method)(url_for(name, objects), body(name, method, objects))
        where = (name, method, role, response.status_code)
        if role == "anonymous":
            assert is_login_redirect(response), where
        elif allowed == PUBLIC or effective in allowed:
            assert response.status_code != 403, (*where, response.content[:300])
            assert not is_login_redirect(response), where
            assert response.status_code < 400, (*where, response.content[:600])  # the body did reach the service
            if method == "get" and response["Content-Type"].startswith("text/html"):
                assert csp_offences(response.content.decode()) == [], where
        else:
            assert response.status_code == 403, where
            assert ChangeLogEntry.objects.count() == written_before, (*where, "a refused request wrote")


def test_every_portal_form_posted_directly_as_a_viewer_is_refused(objects):
    client, _ = signed_in_client("viewer")
    posted = []
    for (name, method), allowed in MATRIX.items():
        if method != "post" or name in VIEWER_MAY_POST:
            continue
        assert allowed == PUBLIC or "viewer" not in allowed, f"{name} is open to viewers: list it in VIEWER_MAY_POST"
        written_before, tokens_before = ChangeLogEntry.objects.count(), ApiToken.objects.count()
        response = client.post(url_for(name, objects), body(name, method, objects))
        assert response.status_code == 403, (name, response.status_code)
        assert ChangeLogEntry.objects.count() == written_before, name
        assert ApiToken.objects.count() == tokens_before, name
        posted.append(name)
    every_post = {name for name, method in MATRIX if method == "post"}
    assert set(posted) == every_post - set(VIEWER_MAY_POST)
    assert set(VIEWER_MAY_POST) <= every_post


def test_every_portal_form_without_its_csrf_token_is_refused_even_to_an_admin(objects):
    client, _ = signed_in_client("admin", enforce_csrf_checks=True)
    client.get(reverse("portal:dashboard"))  # the CSRF cookie is set; the forms below leave its token out
    assert "csrftoken" in client.cookies
    for (name, method), _allowed in MATRIX.items():
        if method != "post":
            continue
        written_before = ChangeLogEntry.objects.count()
        response = client.post(url_for(name, objects), body(name, method, objects))
        assert response.status_code == 403, (name, response.status_code)
        assert b"CSRF" in response.content, name
        assert ChangeLogEntry.objects.count() == written_before, name
    assert "_auth_user_id" in client.session  # not even signed out


def test_with_its_csrf_token_the_same_admin_form_goes_through(objects):
    client, _ = signed_in_client("admin", enforce_csrf_checks=True)
    client.get(reverse("portal:dashboard"))
    token = client.cookies["csrftoken"].value

    response = client.post(url_for("policy-enable", objects), {"enabled": "false", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    htmx = client.post(
        url_for("policy-enable", objects), {"enabled": "true"}, headers={"X-CSRFToken": token}
    )  # as htmx sends it (base.html's hx-headers)
    assert htmx.status_code == 302
