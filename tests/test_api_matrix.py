"""Every API route and every role: allowed or denied as the roles say, built from Django's URL resolver."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from boms.export_models import ExportFile, ExportSchedule
from core.access import principal_for_token, system_principal
from core.changelog import Actor
from core.jobs import run_job, start_job
from core.tokens import issue_token
from governance import gate, policies, violations
from governance import services as audits
from governance.models import Violation
from inventory.models import AIModel, Deployment, License, Publisher, Revision
from inventory.purls import parse_reference
from inventory.services import revisions
from tests.inventory_helpers import model

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

READ = {"viewer", "deployer", "editor", "auditor", "admin"}
REGISTER = {"deployer", "editor", "admin"}
EDIT = {"editor", "admin"}
AUDIT = {"auditor", "admin"}
ADMINISTER = {"admin"}

# (route name, method) -> roles allowed. A route of the API missing here fails the test.
MATRIX = {
    ("api-root", "get"): READ,
    ("model-list", "get"): READ,
    ("model-list", "post"): REGISTER,
    ("model-detail", "get"): READ,
    ("model-detail", "patch"): EDIT,
    ("model-lineage", "get"): READ,
    ("revision-list", "get"): READ,
    ("revision-detail", "get"): READ,
    ("artifact-list", "get"): READ,
    ("publisher-list", "get"): READ,
    ("publisher-detail", "get"): READ,
    ("license-list", "get"): READ,
    ("license-detail", "get"): READ,
    ("deployment-list", "get"): READ,
    ("deployment-list", "post"): REGISTER,
    ("deployment-detail", "get"): READ,
    ("deployment-retire", "post"): REGISTER,
    ("audit-list", "get"): READ,
    ("audit-list", "post"): READ,  # anyone who reads may ask for a review
    ("audit-detail", "get"): READ,
    ("audit-take", "post"): AUDIT,
    ("audit-decide", "post"): AUDIT,
    # The reviews below were asked for by someone else than the caller: withdrawing one is an admin's
    # (the requester's own withdrawal and evidence are in tests/test_audits_api.py).
    ("audit-withdraw", "post"): ADMINISTER,
    ("audit-evidence", "get"): READ,
    ("audit-evidence", "post"): AUDIT,
    ("audit-evidence-file", "get"): READ,
    ("audit-coverage", "get"): READ,
    ("policy-list", "get"): READ,
    ("policy-list", "post"): ADMINISTER,
    ("policy-detail", "get"): READ,
    ("policy-detail", "patch"): ADMINISTER,
    ("policy-versions", "get"): READ,
    ("policy-dry-run", "post"): ADMINISTER,
    ("violation-list", "get"): READ,
    ("violation-detail", "get"): READ,
    ("violation-waive", "post"): AUDIT,
    ("override-list", "get"): READ,
    ("override-list", "post"): ADMINISTER,
    ("override-revoke", "post"): ADMINISTER,
    ("gate-list", "post"): REGISTER,
    ("gate-decision-list", "get"): READ,
    ("gate-decision-detail", "get"): READ,
    ("gate-decision-export", "get"): READ,
    ("change-list", "get"): READ,
    ("change-detail", "get"): READ,
    ("job-list", "get"): READ,
    ("job-detail", "get"): READ,
    ("job-worker-check", "post"): ADMINISTER,
    ("model-bom", "get"): READ,
    ("bom-list", "get"): READ,
    ("bom-list", "post"): REGISTER,  # ingest a CycloneDX document
    ("bom-file", "get"): READ,
    ("export-list", "get"): READ,
    ("export-list", "post"): ADMINISTER,
    ("export-detail", "get"): READ,
    ("export-detail", "patch"): ADMINISTER,
    ("export-run", "post"): ADMINISTER,
    ("export-adhoc", "post"): ADMINISTER,
    ("export-public-key", "get"): READ,
    ("export-file-list", "get"): READ,
    ("export-file-detail", "get"): READ,
    ("export-file-download", "get"): READ,
    ("export-file-signature", "get"): READ,
}

# Bodies that pass validation, so an allowed role reaches the service and a denied one its refusal
# (an empty body would be a 400 before the service's own check of who may do it).
BODIES = {
    ("audit-decide", "post"): {"decision": "approved"},
    ("audit-evidence", "post"): {"url": "https://example.org/audit-report"},
    ("policy-list", "post"): {
        "name": "matrix-policy",
        "action": "warn",
        "conditions": [{"subject": "gated", "operator": "is", "value": True}],
    },
    ("policy-detail", "patch"): {"description": "edited"},
    ("policy-dry-run", "post"): {
        "action": "warn",
        "conditions": [{"subject": "gated", "operator": "is", "value": True}],
    },
    ("violation-waive", "post"): {"reason": "accepted for the pilot", "expires_at": "2999-01-01T00:00:00Z"},
    ("override-list", "post"): {
        "model": "huggingface:Qwen/matrix-model",
        "environment": "prod",
        "reason": "incident 42",
        "expires_at": "2999-01-01T00:00:00Z",
    },
    ("gate-list", "post"): {"model": "huggingface:Qwen/matrix-model", "environment": "prod"},
    ("export-list", "post"): {"name": "matrix-new", "scope": "organization", "format": "csv", "at": "02:00"},
    ("export-detail", "patch"): {"keep": 5},
    ("export-adhoc", "post"): {"scope": "organization", "format": "csv"},
    ("bom-list", "post"): {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1},
}


def api_routes() -> dict[str, URLPattern]:
    resolver = get_resolver()
    api = next(pattern for pattern in resolver.url_patterns if str(pattern.pattern) == "api/v1/")
    return {
        pattern.name: pattern for pattern in api.url_patterns if pattern.name and "format" not in str(pattern.pattern)
    }


def test_every_route_of_the_api_is_in_the_matrix():
    assert set(api_routes()) == {name for name, _ in MATRIX}


@pytest.fixture
def objects(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    target = model("Qwen/matrix-model", Publisher.objects.get(name="Qwen"))
    AIModel.objects.filter(pk=target.pk).update(team="ml")
    pinned, _ = revisions.add_revision(actor=Actor.system("test"), model=target, revision="a" * 40)
    now = timezone.now()
    deployment = Deployment.objects.create(
        revision=pinned, system="s", environment="prod", first_seen=now, last_seen=now
    )
    job = start_job(actor=Actor.system("test"), kind="worker_check")
    bom_job = start_job(actor=Actor.system("test"), kind="bom", params={"scope": "organization"})
    run_job(job_id=bom_job.pk)  # a stored BOM file to download
    export_schedule = ExportSchedule.objects.create(name="matrix", scope="organization", format="csv", at="02:00")
    export_job = start_job(
        actor=Actor.system("test"), kind="export",
        params={"schedule": export_schedule.pk, "scope": "organization", "name": "", "format": "csv"},
    )  # fmt: skip
    run_job(job_id=export_job.pk)  # a stored export file (and signature) to download
    from core.models import ChangeLogEntry

    # Reviews asked for (and one taken) by tokens other than the one each test calls with, so four eyes
    # stands in no allowed role's way; one per kind, as one kind and pin has one open review at a time.
    requester = principal_for_token(issue_token(actor=Actor.system("test"), name="asker", role="viewer").token)
    colleague = principal_for_token(issue_token(actor=Actor.system("test"), name="colleague", role="auditor").token)
    to_take = audits.request_review(principal=requester, model=target, kind="security")
    to_decide = audits.take_review(
        principal=colleague, review=audits.request_review(principal=requester, model=target, kind="license")
    )
    with_evidence = audits.request_review(principal=requester, model=target, kind="full")
    evidence = audits.add_evidence_file(
        principal=requester, review=with_evidence, upload=SimpleUploadedFile("report.txt", b"all good")
    )
    # A policy flagging the model (an open violation to waive), an override and a recorded gate decision.
    admin = system_principal("test")
    policy = policies.create_policy(
        actor=Actor.system("test"),
        definition={"name": "matrix-flags", "action": "warn", "enabled": True,
                    "conditions": [{"subject": "team", "operator": "is", "value": "ml"}]},
    )  # fmt: skip
    violations.evaluate(model_ids=[target.pk])
    override = gate.grant_override(
        principal=admin, model=target, environment="staging", reason="test", expires_at=now + timedelta(days=1)
    )
    decision = gate.ask(
        principal=admin, reference=parse_reference("huggingface:Qwen/matrix-model"),
        asked_as="huggingface:Qwen/matrix-model", environment="prod",
    )  # fmt: skip
    return {
        "model": target.pk,
        "revision": Revision.objects.get(model=target).pk,
        "publisher": Publisher.objects.get(name="Qwen").pk,
        "license": License.objects.get(key="MIT").pk,
        "deployment": deployment.pk,
        "change": ChangeLogEntry.objects.first().pk,
        "job": job.pk,
        "bom-file": bom_job.pk,
        "export": export_schedule.pk,
        "export-file": ExportFile.objects.get(job_id=export_job.pk).pk,
        "audit": with_evidence.pk,
        "audit-take": to_take.pk,
        "audit-decide": to_decide.pk,
        "audit-evidence-file": (with_evidence.pk, evidence.pk),
        "policy": policy.pk,
        "violation": Violation.objects.get(policy=policy).pk,
        "override": override.pk,
        "gate-decision": decision.pk,
    }


def url_for(name: str, objects: dict[str, object], method: str = "get") -> str:
    from django.urls import reverse

    if name == "audit-coverage":
        return f"{reverse(name)}?model={objects['model']}"
    if name == "bom-list" and method == "get":
        return f"{reverse(name)}?scope=system&name=s"
    if name == "bom-file":
        return reverse(name, kwargs={"pk": objects[name]})
    if name == "model-bom":
        return reverse(name, kwargs={"pk": objects["model"]})
    if name in ("export-adhoc", "export-public-key"):
        return reverse(name)
    if name.endswith("-list") or name in ("api-root", "job-worker-check", "policy-dry-run", "gate-decision-export"):
        return reverse(name)
    key = objects.get(name, objects.get(name.rsplit("-", 1)[0], objects.get(name.split("-")[0])))
    return reverse(name, args=key if isinstance(key, tuple) else [key])


@pytest.mark.parametrize("role", ["anonymous", "viewer", "deployer", "editor", "auditor", "admin"])
def test_each_role_is_allowed_or_denied_on_every_route(client, objects, role):
    headers = {}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {issue_token(actor=Actor.system('test'), name=role, role=role).secret}"
    for (name, method), allowed in MATRIX.items():
        body = BODIES.get((name, method), {})
        response = getattr(client, method)(
            url_for(name, objects, method), body, content_type="application/json", headers=headers
        )
        if role == "anonymous":
            assert response.status_code == 401, (name, method)
        elif role in allowed:
            assert response.status_code not in (401, 403), (name, method, role, response.content[:300])
        else:
            assert response.status_code == 403, (name, method, role)
            assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("team", "expected"), [("ml", 428), ("other-team", 403), ("", 428)])
def test_an_editor_with_a_team_edits_only_that_teams_models(client, objects, team, expected):
    secret = issue_token(actor=Actor.system("test"), name=f"editor-{team}", role="editor", team=team).secret

    response = client.patch(
        f"/api/v1/models/{objects['model']}/", {"description": "x"}, content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip

    assert response.status_code == expected  # 428: through the permission check, asked for If-Match
