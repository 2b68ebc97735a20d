"""The audits API: request, take, decide, withdraw, four eyes, input errors, filters, evidence links and
files, the model's audit status and what a review covers, each write in the change log."""

import hashlib
import os
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.access import set_user_access
from core.changelog import Actor
from core.models import ChangeLogEntry, Role
from core.tokens import issue_token
from governance.models import AuditReview, Evidence
from inventory.models import AIModel
from inventory.services import revisions
from tests.inventory_helpers import model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ACTOR = Actor.system("test")
REVISION_A = "a" * 40
REVISION_B = "b" * 40
REFERENCE = "huggingface:org/audited"
AUDITS = "/api/v1/audits/"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token(name: str, role: str, **options: object) -> dict[str, str]:
    return bearer(issue_token(actor=ACTOR, name=name, role=role, **options).secret)


@pytest.fixture
def target() -> AIModel:
    """A model with two recorded revisions, A and then B (the latest)."""
    created = model("org/audited", publisher("org", "US"))
    revisions.add_revision(actor=ACTOR, model=created, revision=REVISION_A)
    revisions.add_revision(actor=ACTOR, model=created, revision=REVISION_B)
    return created


@pytest.fixture
def asker() -> dict[str, str]:
    """An engineer's token: may read, so may ask for a review."""
    return token("asker", Role.VIEWER)


@pytest.fixture
def auditor() -> dict[str, str]:
    return token("auditor", Role.AUDITOR)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post(client, path: str, body: object, headers: dict[str, str]):
    return client.post(path, body, content_type="application/json", headers=headers)


def ask(client, headers: dict[str, str], **body: object) -> dict:
    response = post(client, AUDITS, {"model": REFERENCE, "kind": "security", **body}, headers)
    assert response.status_code == 201, response.content
    return response.json()


def taken(client, headers: dict[str, str], auditor: dict[str, str], **body: object) -> dict:
    review = ask(client, headers, **body)
    response = post(client, review["links"]["take"], {}, auditor)
    assert response.status_code == 200, response.content
    return response.json()


def decided(client, asker: dict[str, str], auditor: dict[str, str], decision: dict, **body: object) -> dict:
    review = taken(client, asker, auditor, **body)
    response = post(client, review["links"]["decide"], decision, auditor)
    assert response.status_code == 200, response.content
    return response.json()


def logged(review_id: int) -> list[str]:
    entries = ChangeLogEntry.objects.filter(object_type="governance.auditreview", object_id=str(review_id))
    return list(entries.order_by("created_at", "id").values_list("action", flat=True))


def field_names(response) -> list[str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def files_in(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- The walk -------------------------------------------------------------------------------------


def test_a_request_is_created_with_its_links_and_location(client, target, asker):
    response = post(client, AUDITS, {"model": REFERENCE, "kind": "security", "note": "before prod"}, asker)

    assert response.status_code == 201
    body = response.json()
    review = AuditReview.objects.get()
    assert body["id"] == review.pk
    assert (body["state"], body["kind"], body["note"]) == ("requested", "security", "before prod")
    assert (body["model_id"], body["model"], body["revision"]) == (target.pk, REFERENCE, None)
    assert body["requested_by"] == "token:asker"
    assert body["reviewer"] is None
    own = f"http://testserver{AUDITS}{review.pk}/"
    assert body["links"] == {
        "self": own,
        "model": f"http://testserver/api/v1/models/{target.pk}/",
        "take": f"{own}take/",
        "decide": f"{own}decide/",
        "withdraw": f"{own}withdraw/",
        "evidence": f"{own}evidence/",
    }
    assert response["Location"] == own
    assert client.get(own, headers=asker).json() == body
    assert logged(review.pk) == ["create"]


def test_a_request_pinned_by_the_reference_or_the_revision_field(client, target, asker):
    by_reference = ask(client, asker, model=f"{REFERENCE}@{REVISION_A}")
    by_field = ask(client, asker, kind="license", revision=REVISION_B)

    assert (by_reference["revision"], by_field["revision"]) == (REVISION_A, REVISION_B)


@pytest.mark.parametrize(
    ("decision", "state", "status"),
    [
        ({"decision": "approved"}, "approved", "approved"),
        ({"decision": "approved_with_conditions", "conditions": ["no PII in prompts"]}, "approved_with_conditions",
         "conditional"),
        ({"decision": "rejected", "findings": "pickle files with code"}, "rejected", "rejected"),
    ],
)  # fmt: skip
def test_take_then_decide_and_the_models_audit_status(client, target, asker, auditor, decision, state, status):
    review = ask(client, asker)

    took = post(client, review["links"]["take"], {}, auditor)
    assert took.status_code == 200
    assert (took.json()["state"], took.json()["reviewer"]) == ("in_review", "token:auditor")
    assert took.json()["taken_at"] is not None
    done = post(client, review["links"]["decide"], decision, auditor)

    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["state"], body["reviewer"]) == (state, "token:auditor")
    assert body["findings"] == decision.get("findings", "")
    assert body["conditions"] == decision.get("conditions", [])
    assert body["decided_at"] is not None
    # Approvals run out (by default after the kind's validity); a rejection stands.
    assert (body["expires_at"] is None) == (state == "rejected")
    assert logged(review["id"]) == ["create", "take", "decide"]
    actors = ChangeLogEntry.objects.filter(object_type="governance.auditreview", object_id=str(review["id"]))
    assert [entry.actor_name for entry in actors.order_by("id")] == ["token:asker", "token:auditor", "token:auditor"]
    shown = client.get(f"/api/v1/models/{target.pk}/", headers=asker).json()
    assert shown["audit_status"] == status
    assert shown["audit_expires_at"] == (None if state == "rejected" else body["expires_at"])
    found = client.get(f"/api/v1/models/?audit_status={status}", headers=asker).json()["results"]
    assert [row["id"] for row in found] == [target.pk]


def test_an_approval_until_a_given_time(client, target, asker, auditor):
    until = (timezone.now() + timedelta(days=30)).replace(microsecond=0)

    body = decided(client, asker, auditor, {"decision": "approved", "expires_at": until.isoformat()})

    assert AuditReview.objects.get(pk=body["id"]).expires_at == until
    assert AIModel.objects.get(pk=target.pk).audit_expires_at == until


def test_the_requester_withdraws_an_open_review(client, target, asker, auditor):
    review = ask(client, asker)

    response = post(client, review["links"]["withdraw"], {}, asker)

    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    assert response.json()["closed_at"] is not None
    assert logged(review["id"]) == ["create", "withdraw"]
    assert client.get(f"/api/v1/models/{target.pk}/", headers=asker).json()["audit_status"] == "unaudited"


def test_a_review_in_progress_may_be_withdrawn_too(client, target, asker, auditor):
    review = taken(client, asker, auditor)

    assert post(client, review["links"]["withdraw"], {}, asker).json()["state"] == "withdrawn"


def test_only_the_requester_or_an_admin_withdraws(client, target, asker, auditor):
    review = ask(client, asker)

    someone = post(client, review["links"]["withdraw"], {}, token("someone", Role.VIEWER))
    the_auditor = post(client, review["links"]["withdraw"], {}, auditor)
    admin = post(client, review["links"]["withdraw"], {}, token("admin", Role.ADMIN))

    assert (someone.status_code, the_auditor.status_code, admin.status_code) == (403, 403, 200)
    assert someone["Content-Type"] == "application/problem+json"


def test_only_auditors_and_admins_take_and_decide(client, target, asker):
    review = ask(client, asker)
    editor = token("editor", Role.EDITOR)

    assert post(client, review["links"]["take"], {}, editor).status_code == 403
    assert post(client, review["links"]["take"], {}, token("admin", Role.ADMIN)).status_code == 200
    assert post(client, review["links"]["decide"], {"decision": "approved"}, editor).status_code == 403
    assert AuditReview.objects.get().state == "in_review"


# --- Conflicts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prepare", "action", "body"),
    [
        ("requested", "decide", {"decision": "approved"}),
        ("in_review", "take", {}),
        ("approved", "take", {}),
        ("approved", "decide", {"decision": "rejected", "findings": "changed my mind"}),
        ("approved", "withdraw", {}),
        ("withdrawn", "take", {}),
        ("withdrawn", "withdraw", {}),
    ],
)
def test_an_invalid_transition_is_409_and_changes_nothing(client, target, asker, auditor, prepare, action, body):
    review = ask(client, asker)
    if prepare != "requested" and prepare != "withdrawn":
        post(client, review["links"]["take"], {}, auditor)
    if prepare == "approved":
        post(client, review["links"]["decide"], {"decision": "approved"}, auditor)
    if prepare == "withdrawn":
        post(client, review["links"]["withdraw"], {}, asker)
    before = client.get(review["links"]["self"], headers=asker).json()
    entries = ChangeLogEntry.objects.count()

    response = post(client, review["links"][action], body, asker if action == "withdraw" else auditor)

    assert response.status_code == 409, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 409
    assert f"review #{review['id']} is {prepare}" in response.json()["detail"]
    assert client.get(review["links"]["self"], headers=asker).json() == before
    assert ChangeLogEntry.objects.count() == entries


def test_a_second_open_request_of_the_same_kind_and_pin_is_409(client, target, asker):
    first = ask(client, asker)

    again = post(client, AUDITS, {"model": REFERENCE, "kind": "security"}, token("other", Role.VIEWER))

    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert f"#{first['id']}" in again.json()["detail"]
    assert AuditReview.objects.count() == 1
    assert ask(client, asker, revision=REVISION_A)["revision"] == REVISION_A  # another pin is another review


# --- Four eyes ------------------------------------------------------------------------------------


def assert_four_eyes(response) -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert "four eyes" in response.json()["detail"]


def test_an_auditor_token_may_not_take_a_review_it_asked_for(client, target, auditor):
    review = ask(client, auditor)

    assert_four_eyes(post(client, review["links"]["take"], {}, auditor))
    assert AuditReview.objects.get().state == "requested"
    assert logged(review["id"]) == ["create"]


def test_an_auditor_may_not_decide_a_review_they_asked_for_that_a_colleague_took(client, target, auditor):
    review = taken(client, auditor, token("colleague", Role.AUDITOR))

    assert_four_eyes(post(client, review["links"]["decide"], {"decision": "approved"}, auditor))
    assert AuditReview.objects.get().state == "in_review"


def test_four_eyes_sees_the_person_behind_two_tokens(client, target):
    alice = get_user_model().objects.create_user(username="alice")
    asked = token("alice-ci", Role.VIEWER, created_by=alice)
    alices_auditor_token = token("alice-audit", Role.AUDITOR, created_by=alice)
    review = ask(client, asked)

    assert_four_eyes(post(client, review["links"]["take"], {}, alices_auditor_token))
    taken_by_colleague = post(client, review["links"]["take"], {}, token("colleague", Role.AUDITOR))
    assert taken_by_colleague.status_code == 200
    assert_four_eyes(post(client, review["links"]["decide"], {"decision": "approved"}, alices_auditor_token))
    assert AuditReview.objects.get().state == "in_review"


def test_four_eyes_for_the_token_of_the_person_who_asked_in_a_session(client, target):
    erin = get_user_model().objects.create_user(username="erin")
    client.force_login(erin)  # a viewer: no access record
    asked = post(client, AUDITS, {"model": REFERENCE, "kind": "security"}, {})
    assert (asked.status_code, asked.json()["requested_by"]) == (201, "erin")

    assert_four_eyes(
        post(client, asked.json()["links"]["take"], {}, token("erin-audit", Role.AUDITOR, created_by=erin))
    )
    assert post(client, asked.json()["links"]["take"], {}, token("other-audit", Role.AUDITOR)).status_code == 200


def test_four_eyes_for_a_person_logged_in_and_their_token(client, target):
    bob = get_user_model().objects.create_user(username="bob")
    set_user_access(actor=ACTOR, user=bob, role=Role.AUDITOR)
    bobs_token = token("bob-ci", Role.VIEWER, created_by=bob)
    client.force_login(bob)
    asked_in_session = post(client, AUDITS, {"model": REFERENCE, "kind": "security"}, {})
    asked_by_token = ask(client, bobs_token, kind="license")

    assert asked_in_session.status_code == 201
    assert asked_in_session.json()["requested_by"] == "bob"
    assert_four_eyes(post(client, asked_in_session.json()["links"]["take"], {}, {}))
    assert_four_eyes(post(client, asked_by_token["links"]["take"], {}, {}))
    assert set(AuditReview.objects.values_list("state", flat=True)) == {"requested"}


def test_a_person_takes_and_decides_what_someone_else_asked_for(client, target, asker):
    carol = get_user_model().objects.create_user(username="carol")
    set_user_access(actor=ACTOR, user=carol, role=Role.AUDITOR)
    review = ask(client, asker)
    client.force_login(carol)

    assert post(client, review["links"]["take"], {}, {}).status_code == 200
    done = post(client, review["links"]["decide"], {"decision": "approved"}, {})

    assert (done.status_code, done.json()["reviewer"]) == (200, "carol")


def test_the_four_eyes_rule_can_be_turned_off(client, target, auditor, settings):
    settings.AUDIT_FOUR_EYES = False
    review = ask(client, auditor)

    assert post(client, review["links"]["take"], {}, auditor).status_code == 200
    assert post(client, review["links"]["decide"], {"decision": "approved"}, auditor).json()["state"] == "approved"


# --- Input errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "huggingface:nobody/nothing", "kind": "security"}, "model"),
        ({"model": "github:a/b", "kind": "security"}, "model"),
        ({"kind": "security"}, "model"),
        ({"model": REFERENCE, "kind": "paperwork"}, "kind"),
        ({"model": REFERENCE}, "kind"),
        ({"model": REFERENCE, "kind": "security", "colour": "red"}, "colour"),
        ({"model": REFERENCE, "kind": "security", "revision": "c" * 40}, "revision"),
        ({"model": REFERENCE, "kind": "security", "revision": "main"}, "revision"),
        ({"model": f"{REFERENCE}@{REVISION_A}", "kind": "security", "revision": REVISION_B}, "revision"),
        ({"model": REFERENCE, "kind": "security", "note": 5}, "note"),
    ],
)
def test_a_bad_request_names_the_field_and_stores_nothing(client, target, asker, body, field):
    entries = ChangeLogEntry.objects.count()

    assert field in field_names(post(client, AUDITS, body, asker))
    assert not AuditReview.objects.exists()
    assert ChangeLogEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approved_with_conditions"}, "conditions"),
        ({"decision": "approved_with_conditions", "conditions": []}, "conditions"),
        ({"decision": "approved", "conditions": ["only on Tuesdays"]}, "conditions"),
        ({"decision": "rejected"}, "findings"),
        ({"decision": "rejected", "findings": "   "}, "findings"),
        ({"decision": "approved", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"decision": "approved", "expires_at": "tomorrow"}, "expires_at"),
        ({"decision": "rejected", "findings": "no", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"decision": "superseded"}, "decision"),
        ({}, "decision"),
        ({"decision": "approved", "reason": "x"}, "reason"),
    ],
)
def test_a_bad_decision_names_the_field_and_changes_nothing(client, target, asker, auditor, body, field):
    review = taken(client, asker, auditor)

    assert field in field_names(post(client, review["links"]["decide"], body, auditor))
    assert AuditReview.objects.get().state == "in_review"
    assert logged(review["id"]) == ["create", "take"]


# --- Listing --------------------------------------------------------------------------------------


def ids(client, headers: dict[str, str], query: str) -> set[int]:
    response = client.get(f"{AUDITS}?{query}", headers=headers)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list_filters(client, target, asker, auditor):
    other = model("org/other", target.publisher)
    soon = timezone.now() + timedelta(days=2)
    later = timezone.now() + timedelta(days=200)
    lapsing = decided(client, asker, auditor, {"decision": "approved", "expires_at": soon.isoformat()})
    lasting = decided(client, asker, auditor, {"decision": "approved", "expires_at": later.isoformat()}, kind="license")
    in_review = taken(client, asker, token("second", Role.AUDITOR), kind="full")
    requested = ask(client, token("engineer", Role.VIEWER), model="huggingface:org/other", kind="security")

    assert ids(client, asker, f"model={target.pk}") == {lapsing["id"], lasting["id"], in_review["id"]}
    assert ids(client, asker, f"model={other.pk}") == {requested["id"]}
    assert ids(client, asker, "kind=full") == {in_review["id"]}
    assert ids(client, asker, "state=requested") == {requested["id"]}
    assert ids(client, asker, "state=in_review") == {in_review["id"]}
    assert ids(client, asker, "reviewer=token:second") == {in_review["id"]}
    assert ids(client, asker, "reviewer=TOKEN:AUDITOR") == {lapsing["id"], lasting["id"]}
    assert ids(client, asker, "requester=token:engineer") == {requested["id"]}
    due = (timezone.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert ids(client, asker, f"due_before={due}") == {lapsing["id"]}
    assert ids(client, asker, "state=approved") == {lapsing["id"], lasting["id"]}
    assert ids(client, asker, "state=expired") == set()

    with time_machine.travel(soon + timedelta(hours=1), tick=False):
        assert ids(client, asker, "state=expired") == {lapsing["id"]}
        assert ids(client, asker, "state=approved") == {lasting["id"]}
        assert client.get(lapsing["links"]["self"], headers=asker).json()["state"] == "expired"
    assert AuditReview.objects.get(pk=lapsing["id"]).state == "approved"  # as stored: reads expired from then on


def test_a_model_whose_approval_ran_out_reads_expired(client, target, asker, auditor):
    soon = timezone.now() + timedelta(days=2)
    decided(client, asker, auditor, {"decision": "approved", "expires_at": soon.isoformat()})

    with time_machine.travel(soon + timedelta(seconds=1), tick=False):
        shown = client.get(f"/api/v1/models/{target.pk}/", headers=asker).json()
        expired = client.get("/api/v1/models/?audit_status=expired", headers=asker).json()["results"]
        approved = client.get("/api/v1/models/?audit_status=approved", headers=asker).json()["results"]
        covered = coverage_of(client, asker, f"model={target.pk}").json()

    assert shown["audit_status"] == "expired"
    assert [row["id"] for row in expired] == [target.pk]
    assert approved == []
    assert (covered["status"], covered["expires_at"]) == ("expired", None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("state=bogus", "state"),
        ("kind=paperwork", "kind"),
        ("model=abc", "model"),
        ("model=0", "model"),
        ("due_before=soon", "due_before"),
        ("kind=full&kind=license", "kind"),
    ],
)
def test_a_bad_list_parameter_is_named(client, target, asker, query, field):
    assert field in field_names(client.get(f"{AUDITS}?{query}", headers=asker))


def test_the_models_links_list_its_reviews(client, target, asker, auditor):
    model("org/other", target.publisher)
    first = decided(client, asker, auditor, {"decision": "rejected", "findings": "no"})
    second = ask(client, asker, kind="license")
    of_the_other = ask(client, asker, model="huggingface:org/other")

    audits = client.get(f"/api/v1/models/{target.pk}/", headers=asker).json()["links"]["audits"]

    assert audits == f"http://testserver/api/v1/audits/?model={target.pk}"
    listed = {row["id"] for row in client.get(audits, headers=asker).json()["results"]}
    assert listed == {first["id"], second["id"]}
    assert of_the_other["id"] not in listed


def test_the_list_costs_the_same_queries_for_1_or_50_reviews(client, asker):
    owner = publisher("many", "US")
    for index in range(25):
        created = model(f"many/m{index:02d}", owner)
        revisions.add_revision(actor=ACTOR, model=created, revision=f"{index:040x}")
        for kind, pinned in (("security", f"{index:040x}"), ("license", "")):
            review = ask(client, asker, model=f"huggingface:many/m{index:02d}", kind=kind, revision=pinned)
            Evidence.objects.create(review_id=review["id"], kind="link", url="https://example.org/r", added_by="x")
    client.get(f"{AUDITS}?limit=1", headers=asker)  # the token's first use records it: not part of the page

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{AUDITS}?limit={limit}", headers=asker)
        assert len(response.json()["results"]) == limit
        return len(captured)

    assert queries(1) == queries(50)


# --- Evidence -------------------------------------------------------------------------------------


def test_a_link_as_evidence(client, target, asker, auditor):
    review = ask(client, asker)
    entries = ChangeLogEntry.objects.filter(object_type="governance.evidence")

    response = post(client, review["links"]["evidence"], {"url": "https://example.org/pentest", "title": "Pen test"},
                    asker)  # fmt: skip
    by_auditor = post(client, review["links"]["evidence"], {"url": "https://example.org/notes"}, auditor)

    assert (response.status_code, by_auditor.status_code) == (201, 201), response.content
    body = response.json()
    assert (body["kind"], body["url"], body["title"], body["added_by"]) == (
        "link", "https://example.org/pentest", "Pen test", "token:asker"
    )  # fmt: skip
    assert (body["download"], body["sha256"], body["size"], body["file_name"]) == (None, "", None, None)
    listed = client.get(review["links"]["evidence"], headers=asker).json()
    assert [row["id"] for row in listed] == [body["id"], by_auditor.json()["id"]]
    assert client.get(review["links"]["self"], headers=asker).json()["evidence"] == listed
    assert list(entries.values_list("action", flat=True)) == ["create", "create"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "https://example.org/x", "file": "x"}, "file"),
        ({"url": "https://example.org/" + "x" * 1000}, "url"),
    ],
)
def test_a_bad_link_names_the_field(client, target, asker, body, field):
    review = ask(client, asker)

    assert field in field_names(post(client, review["links"]["evidence"], body, asker))
    assert not Evidence.objects.exists()


def test_someone_else_may_read_evidence_but_not_add_it(client, target, asker):
    review = ask(client, asker)
    someone = token("someone", Role.EDITOR)

    assert client.get(review["links"]["evidence"], headers=someone).status_code == 200
    refused = post(client, review["links"]["evidence"], {"url": "https://example.org/x"}, someone)

    assert refused.status_code == 403
    assert not Evidence.objects.exists()


def test_a_file_as_evidence_is_stored_with_its_digest_and_downloaded_as_it_was(client, target, asker, media):
    content = os.urandom(200_000) + b"\x00\xff end"  # several upload chunks, not text
    review = ask(client, asker)

    response = client.post(
        review["links"]["evidence"],
        {"file": SimpleUploadedFile("scan report.pdf", content, content_type="application/pdf"), "title": "scan"},
        headers=asker,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["file_name"], body["title"], body["url"]) == ("file", "scan report.pdf", "scan", None)
    assert (body["size"], body["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    stored = Evidence.objects.get()
    assert stored.file.path.startswith(str(media))
    assert body["download"] == f"http://testserver{AUDITS}{review['id']}/evidence/{stored.pk}/file/"
    download = client.get(body["download"], headers=token("someone", Role.VIEWER))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "scan report.pdf" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == content
    assert ChangeLogEntry.objects.filter(object_type="governance.evidence", action="create").count() == 1
    viewer = token("another", Role.VIEWER)
    asked_as_file = client.get(body["download"], headers={**viewer, "Accept": "application/octet-stream"})
    assert asked_as_file.status_code == 200, "the type the schema gives is one a client may ask for"
    assert b"".join(asked_as_file.streaming_content) == content
    missing = client.get(
        body["download"].replace(f"/{stored.pk}/", "/999999/"), headers={**viewer, "Accept": "application/octet-stream"}
    )
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/problem+json")


def test_a_file_larger_than_a_request_body_and_than_memory_uploads_is_taken(client, target, asker, media, settings):
    """Evidence is read as a file, not as a body: MAX_REQUEST_BYTES does not bound it, and a file past
    FILE_UPLOAD_MAX_MEMORY_SIZE goes through a temporary file with the same digest."""
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 3_000_000
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE < 3_000_000 < settings.AUDIT_EVIDENCE_MAX_BYTES
    content = os.urandom(3_000_000)
    review = ask(client, asker)

    response = client.post(review["links"]["evidence"], {"file": SimpleUploadedFile("big.pdf", content)}, headers=asker)

    assert response.status_code == 201, response.content
    assert (response.json()["size"], response.json()["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    with Evidence.objects.get().file.open("rb") as stored:
        assert stored.read() == content


def test_a_file_at_the_limit_is_taken_and_one_over_it_is_413_and_stores_nothing(client, target, asker, media, settings):
    settings.AUDIT_EVIDENCE_MAX_BYTES = 1000
    review = ask(client, asker)

    over = client.post(review["links"]["evidence"], {"file": SimpleUploadedFile("big.bin", b"x" * 1001)}, headers=asker)

    assert over.status_code == 413, over.content
    assert over["Content-Type"] == "application/problem+json"
    assert "1000 bytes" in over.json()["detail"]
    assert not Evidence.objects.exists()
    assert files_in(media) == []
    at_limit = client.post(
        review["links"]["evidence"], {"file": SimpleUploadedFile("fits.bin", b"x" * 1000)}, headers=asker
    )
    assert at_limit.status_code == 201, at_limit.content
    assert at_limit.json()["size"] == 1000


def test_a_multipart_body_without_a_file_names_the_field(client, target, asker, media):
    review = ask(client, asker)

    assert "file" in field_names(client.post(review["links"]["evidence"], {"title": "nothing"}, headers=asker))
    assert not Evidence.objects.exists()


def test_evidence_is_refused_on_a_decided_review(client, target, asker, auditor, media):
    review = decided(client, asker, auditor, {"decision": "approved"})

    link = post(client, review["links"]["evidence"], {"url": "https://example.org/late"}, auditor)

    assert link.status_code == 409
    assert link["Content-Type"] == "application/problem+json"
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("refusal", [403, 409])
def test_a_refused_file_stores_nothing(client, target, asker, auditor, media, refusal):
    """A rejected input stores nothing: neither a row nor the file."""
    review = decided(client, asker, auditor, {"decision": "approved"}) if refusal == 409 else ask(client, asker)
    caller = auditor if refusal == 409 else token("someone", Role.VIEWER)

    response = client.post(review["links"]["evidence"], {"file": SimpleUploadedFile("late.txt", b"late")},
                           headers=caller)  # fmt: skip

    assert response.status_code == refusal
    assert not Evidence.objects.exists()
    assert files_in(media) == []


def test_a_missing_evidence_file_is_404(client, target, asker, media):
    review = ask(client, asker)
    link = post(client, review["links"]["evidence"], {"url": "https://example.org/x"}, asker).json()
    other = ask(client, asker, kind="license")

    for path in (
        f"{AUDITS}{review['id']}/evidence/{link['id']}/file/",  # a link has no file
        f"{AUDITS}{review['id']}/evidence/999999/file/",
        f"{AUDITS}{other['id']}/evidence/{link['id']}/file/",  # another review's evidence
        f"{AUDITS}999999/evidence/{link['id']}/file/",
    ):
        response = client.get(path, headers=asker)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"


# --- Coverage -------------------------------------------------------------------------------------


def coverage_of(client, headers: dict[str, str], query: str):
    return client.get(f"{AUDITS}coverage/?{query}", headers=headers)


def test_coverage_per_revision(client, target, asker, auditor):
    review = decided(client, asker, auditor, {"decision": "approved"}, revision=REVISION_A)

    pinned = coverage_of(client, asker, f"model={target.pk}&revision={REVISION_A}")
    other = coverage_of(client, asker, f"model={target.pk}&revision={REVISION_B}")
    latest = coverage_of(client, asker, f"model={target.pk}")

    assert pinned.status_code == 200
    assert (pinned.json()["model_id"], pinned.json()["revision"], pinned.json()["status"]) == (
        target.pk, REVISION_A, "approved"
    )  # fmt: skip
    kinds = {kind["kind"]: kind for kind in pinned.json()["kinds"]}
    assert kinds["security"]["status"] == "approved"
    assert kinds["security"]["review"] == review["id"]
    assert kinds["security"]["expires_at"] == review["expires_at"] == pinned.json()["expires_at"]
    assert (kinds["license"]["status"], kinds["license"]["review"]) == ("unaudited", None)
    assert (other.json()["revision"], other.json()["status"]) == (REVISION_B, "unaudited")
    assert (latest.json()["revision"], latest.json()["status"]) == (REVISION_B, "unaudited")
    blank = coverage_of(client, asker, f"model={target.pk}&revision=")  # an empty parameter is no parameter
    assert (blank.status_code, blank.json()["revision"]) == (200, REVISION_B)
    # The model's own status is its latest revision's: B, which the pinned approval does not cover.
    assert client.get(f"/api/v1/models/{target.pk}/", headers=asker).json()["audit_status"] == "unaudited"


def test_coverage_of_an_unpinned_approval_is_every_revision(client, target, asker, auditor):
    decided(client, asker, auditor, {"decision": "approved"}, kind="full")

    for revision in (REVISION_A, REVISION_B):
        body = coverage_of(client, asker, f"model={target.pk}&revision={revision}").json()
        assert body["status"] == "approved"
        assert {kind["status"] for kind in body["kinds"]} == {"approved"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "model"),
        ("model=abc", "model"),
        ("model=0", "model"),
        ("model=999999", "model"),
        ("model={model}&revision=" + "c" * 40, "revision"),
        ("model={model}&revision=main", "revision"),
        ("model={model}&colour=red", "colour"),
        ("model={model}&model={model}", "model"),
        ("model=&revision=", "model"),
    ],
)
def test_a_bad_coverage_query_is_named(client, target, asker, query, field):
    assert field in field_names(coverage_of(client, asker, query.format(model=target.pk)))


def test_the_size_limit_holds_for_a_person_in_a_session_with_the_csrf_check(target, asker, media, settings):
    """Django's CSRF check reads the form before the view does: the limit must already be in place."""
    from django.test import Client

    settings.AUDIT_EVIDENCE_MAX_BYTES = 1000
    dave = get_user_model().objects.create_user(username="dave")
    set_user_access(actor=ACTOR, user=dave, role=Role.AUDITOR)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(dave)
    browser.get("/admin/login/")  # sets the CSRF cookie
    review = ask(browser, asker)
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"].value}

    over = browser.post(review["links"]["evidence"], {"file": SimpleUploadedFile("big.bin", b"x" * 1001)}, headers=csrf)
    fits = browser.post(review["links"]["evidence"], {"file": SimpleUploadedFile("ok.bin", b"x" * 10)}, headers=csrf)

    assert over.status_code == 413, over.content
    assert fits.status_code == 201, fits.content
    assert Evidence.objects.get().file_name == "ok.bin"


def test_a_file_missing_from_the_storage_is_404_not_an_error(client, target, asker, media):
    review = ask(client, asker)
    added = client.post(review["links"]["evidence"], {"file": SimpleUploadedFile("gone.txt", b"x")}, headers=asker)
    os.remove(Evidence.objects.get().file.path)

    response = client.get(added.json()["download"], headers=asker)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "missing" in response.json()["detail"]
