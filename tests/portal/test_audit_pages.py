"""The portal's audit pages: the queue, a review's page and its actions, and the request form; each
write through ``governance.services`` (states, change-log rows), refused by role and by the
four-eyes rule (shown before the click, refused on a forced POST), bad input a 400 naming the field,
evidence uploads bounded by AUDIT_EVIDENCE_MAX_BYTES, and the pages' query counts bounded."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.access import principal_for_user, set_user_access
from core.changelog import Actor
from core.models import ChangeLogEntry
from governance import services
from governance.models import AuditReview, Evidence, ReviewState
from inventory.models import AIModel
from inventory.services import revisions
from tests.inventory_helpers import model, publisher

pytestmark = [pytest.mark.django_db]

ACTOR = Actor.system("test")
REVISION = "c" * 40


def person(name: str, role: str):
    user = get_user_model().objects.create_user(username=name, password="pw-" + name)
    set_user_access(actor=ACTOR, user=user, role=role, team="")
    return user


@pytest.fixture
def target() -> AIModel:
    created = model("org/reviewed", publisher("org", "US"))
    revisions.add_revision(actor=ACTOR, model=created, revision=REVISION)
    return created


@pytest.fixture
def asker():
    return person("asker", "viewer")


@pytest.fixture
def auditor():
    return person("auditor", "auditor")


@pytest.fixture
def other_auditor():
    return person("other-auditor", "auditor")


def request_of(user, target: AIModel, kind: str = "security") -> AuditReview:
    return services.request_review(principal=principal_for_user(user), model=target, kind=kind)


def taken(review: AuditReview, by) -> AuditReview:
    return services.take_review(principal=principal_for_user(by), review=review)


def logged(review: AuditReview) -> list[str]:
    return list(
        ChangeLogEntry.objects.filter(object_type="governance.auditreview", object_id=str(review.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def forms_to(html: str, name: str, pk: int) -> int:
    return html.count(f'action="{reverse(name, args=[pk])}"')


# --- Requesting -----------------------------------------------------------------------------------


@pytest.mark.smoke
def test_a_viewer_requests_an_audit_pinned_to_a_recorded_revision(client, asker, target):
    client.force_login(asker)
    page = client.get(reverse("portal:audit-request", args=[target.pk]))
    assert page.status_code == 200
    assert f'<option value="{REVISION}">' in page.content.decode()

    response = client.post(
        reverse("portal:audit-request", args=[target.pk]), {"kind": "license", "revision": REVISION, "note": "pls"}
    )

    review = AuditReview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:audit", args=[review.pk])
    assert (review.kind, review.revision.revision, review.note, review.requester_name) == (
        "license",
        REVISION,
        "pls",
        "asker",
    )
    assert logged(review) == ["create"]
    assert AIModel.objects.get(pk=target.pk).audit_status == "pending"


def test_a_request_of_an_unknown_kind_or_revision_is_a_400_naming_the_field(client, asker, target):
    client.force_login(asker)
    url = reverse("portal:audit-request", args=[target.pk])
    for body, field in (({"kind": "vibes"}, "kind"), ({"kind": "full", "revision": "d" * 40}, "revision")):
        response = client.post(url, body)
        assert response.status_code == 400
        assert response.context["form"].errors.keys() == {field}
    assert not AuditReview.objects.exists()


def test_a_second_request_of_the_same_kind_and_pin_is_a_409_with_the_conflict(client, asker, target):
    first = request_of(asker, target)
    client.force_login(asker)
    response = client.post(reverse("portal:audit-request", args=[target.pk]), {"kind": "security"})
    assert response.status_code == 409
    assert f"#{first.pk}" in response.content.decode()
    assert "waits for a decision" in response.content.decode()
    assert AuditReview.objects.count() == 1


# --- Taking and deciding --------------------------------------------------------------------------


def test_an_auditor_takes_and_approves_with_conditions_through_the_services(client, asker, auditor, target):
    review = request_of(asker, target)
    client.force_login(auditor)
    page = client.get(reverse("portal:audit", args=[review.pk])).content.decode()
    assert forms_to(page, "portal:audit-take", review.pk) == 1
    assert "disabled" not in page

    taken_response = client.post(reverse("portal:audit-take", args=[review.pk]))
    assert taken_response.status_code == 302
    review.refresh_from_db()
    assert (review.state, review.reviewer_name) == (ReviewState.IN_REVIEW, "auditor")

    expires = (timezone.localtime() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    decided = client.post(
        reverse("portal:audit-decide", args=[review.pk]),
        {
            "decision": "approved_with_conditions",
            "findings": "ok",
            "conditions": "no PII\ninternal use",
            "expires_at": expires,
        },
    )

    assert decided.status_code == 302
    review.refresh_from_db()
    assert (review.state, review.conditions, review.findings) == (
        ReviewState.APPROVED_WITH_CONDITIONS,
        ["no PII", "internal use"],
        "ok",
    )
    assert review.expires_at is not None
    assert logged(review) == ["create", "take", "decide"]
    shown = client.get(reverse("portal:audit", args=[review.pk])).content.decode()
    assert "no PII" in shown
    assert "approved_with_conditions" in shown
    assert forms_to(shown, "portal:audit-decide", review.pk) == 0  # decided: nothing to decide any more
    assert AIModel.objects.get(pk=target.pk).audit_status == "conditional"


def test_a_rejection_without_findings_is_a_400_naming_findings_and_changes_nothing(client, asker, auditor, target):
    review = taken(request_of(asker, target), auditor)
    client.force_login(auditor)

    response = client.post(reverse("portal:audit-decide", args=[review.pk]), {"decision": "rejected", "findings": ""})

    assert response.status_code == 400
    assert response.context["decision_form"].errors.keys() == {"findings"}
    assert "a rejection says why" in response.content.decode()
    review.refresh_from_db()
    assert review.state == ReviewState.IN_REVIEW
    assert logged(review) == ["create", "take"]


def test_a_decision_someone_made_first_is_a_409_with_the_conflict(client, asker, auditor, other_auditor, target):
    review = taken(request_of(asker, target), auditor)
    services.decide_review(principal=principal_for_user(other_auditor), review=review, decision="approved")
    client.force_login(auditor)

    response = client.post(reverse("portal:audit-decide", args=[review.pk]), {"decision": "rejected", "findings": "x"})

    assert response.status_code == 409
    assert "cannot be decided now" in response.content.decode()
    review.refresh_from_db()
    assert (review.state, review.reviewer_name) == (ReviewState.APPROVED, "other-auditor")


@pytest.mark.parametrize("role", ["viewer", "deployer", "editor"])
def test_roles_that_do_not_audit_see_no_take_or_decide_and_get_403(client, asker, auditor, target, role):
    requested = request_of(asker, target)
    in_review = taken(request_of(asker, target, kind="license"), auditor)
    client.force_login(person("someone", role))

    for review, name in ((requested, "portal:audit-take"), (in_review, "portal:audit-decide")):
        page = client.get(reverse("portal:audit", args=[review.pk]))
        assert page.status_code == 200
        assert forms_to(page.content.decode(), name, review.pk) == 0
        refused = client.post(reverse(name, args=[review.pk]), {"decision": "approved"})
        assert refused.status_code == 403
    assert [logged(requested), logged(in_review)] == [["create"], ["create", "take"]]


def test_four_eyes_the_requester_sees_disabled_buttons_with_the_reason_and_a_forced_post_is_403(
    client, auditor, other_auditor, target
):
    own = request_of(auditor, target)  # an auditor asks for a review: someone else must do it
    client.force_login(auditor)

    page = client.get(reverse("portal:audit", args=[own.pk])).content.decode()
    assert forms_to(page, "portal:audit-take", own.pk) == 1
    assert "Take this review</button>" in page
    assert 'disabled aria-describedby="four-eyes-reason"' in page
    assert "You requested this review; another auditor must take and decide it" in page

    refused = client.post(reverse("portal:audit-take", args=[own.pk]))
    assert refused.status_code == 403
    assert "four eyes" in refused.content.decode()
    own.refresh_from_db()
    assert own.state == ReviewState.REQUESTED

    taken(own, other_auditor)
    page = client.get(reverse("portal:audit", args=[own.pk])).content.decode()
    assert "<fieldset disabled" in page
    refused = client.post(reverse("portal:audit-decide", args=[own.pk]), {"decision": "approved"})
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.state == ReviewState.IN_REVIEW

    client.force_login(other_auditor)  # the one who took it sees no such reason
    page = client.get(reverse("portal:audit", args=[own.pk])).content.decode()
    assert "four-eyes-reason" not in page
    assert "<fieldset>" in page


# --- Withdrawing ----------------------------------------------------------------------------------


def test_the_requester_withdraws_and_others_neither_see_nor_may(client, asker, auditor, target):
    review = request_of(asker, target)
    client.force_login(auditor)
    assert (
        forms_to(
            client.get(reverse("portal:audit", args=[review.pk])).content.decode(), "portal:audit-withdraw", review.pk
        )
        == 0
    )
    assert client.post(reverse("portal:audit-withdraw", args=[review.pk])).status_code == 403

    client.force_login(asker)
    assert (
        forms_to(
            client.get(reverse("portal:audit", args=[review.pk])).content.decode(), "portal:audit-withdraw", review.pk
        )
        == 1
    )
    assert client.post(reverse("portal:audit-withdraw", args=[review.pk])).status_code == 302
    review.refresh_from_db()
    assert review.state == ReviewState.WITHDRAWN
    assert logged(review) == ["create", "withdraw"]
    again = client.post(reverse("portal:audit-withdraw", args=[review.pk]))
    assert again.status_code == 409


# --- Evidence -------------------------------------------------------------------------------------


def test_evidence_links_and_files_are_added_and_listed_with_a_download(client, asker, target, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    review = request_of(asker, target)
    client.force_login(asker)
    url = reverse("portal:audit-evidence", args=[review.pk])

    page = client.get(reverse("portal:audit", args=[review.pk])).content.decode()
    assert 'enctype="multipart/form-data"' in page
    linked = client.post(url, {"url": "https://example.org/report", "title": "scan"})
    uploaded = client.post(url, {"title": "sbom", "file": SimpleUploadedFile("sbom.json", b'{"ok": true}')})

    assert (linked.status_code, uploaded.status_code) == (302, 302)
    link, stored = Evidence.objects.order_by("id")
    assert (link.kind, link.url, link.title) == ("link", "https://example.org/report", "scan")
    assert (stored.kind, stored.file_name, stored.size, stored.added_by) == ("file", "sbom.json", 12, "asker")
    assert stored.file.read() == b'{"ok": true}'
    page = client.get(reverse("portal:audit", args=[review.pk])).content.decode()
    download = reverse("audit-evidence-file", args=[review.pk, stored.pk])
    assert f'href="{download}"' in page
    assert "https://example.org/report" in page
    served = client.get(download)  # the API's download route takes the session
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b'{"ok": true}'
    assert ChangeLogEntry.objects.filter(object_type="governance.evidence", action="create").count() == 2


def test_a_file_past_the_limit_is_refused_with_413_and_stores_nothing(client, asker, target, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AUDIT_EVIDENCE_MAX_BYTES = 1000
    review = request_of(asker, target)
    client.force_login(asker)

    response = client.post(
        reverse("portal:audit-evidence", args=[review.pk]),
        {"title": "big", "file": SimpleUploadedFile("big.bin", b"x" * 5000)},
    )

    assert response.status_code == 413
    assert "larger than the 1000 bytes" in response.content.decode()
    assert not Evidence.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_a_bad_link_is_a_400_naming_url_and_a_viewer_who_did_not_ask_gets_403(client, asker, target):
    review = request_of(asker, target)
    client.force_login(asker)
    response = client.post(reverse("portal:audit-evidence", args=[review.pk]), {"url": "not a link"})
    assert response.status_code == 400
    assert "url:" in response.content.decode()

    client.force_login(person("bystander", "viewer"))
    page = client.get(reverse("portal:audit", args=[review.pk])).content.decode()
    assert forms_to(page, "portal:audit-evidence", review.pk) == 0
    refused = client.post(reverse("portal:audit-evidence", args=[review.pk]), {"url": "https://example.org/"})
    assert refused.status_code == 403
    assert not Evidence.objects.exists()


def test_the_evidence_form_checks_the_csrf_token(asker, target):
    from django.test import Client

    review = request_of(asker, target)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(asker)
    refused = strict.post(reverse("portal:audit-evidence", args=[review.pk]), {"url": "https://example.org/"})
    assert refused.status_code == 403
    assert not Evidence.objects.exists()


# --- The queue ------------------------------------------------------------------------------------


def test_the_queue_shows_open_reviews_by_default_and_filters_by_state_and_kind(client, asker, auditor, target):
    waiting = request_of(asker, target, kind="security")
    working = taken(request_of(asker, target, kind="license"), auditor)
    done = taken(request_of(asker, target, kind="full"), auditor)
    services.decide_review(principal=principal_for_user(auditor), review=done, decision="approved")
    client.force_login(auditor)

    def shown(query: str = "") -> set[int]:
        response = client.get(reverse("portal:audits") + query)
        assert response.status_code == 200
        return {row["review"].pk for row in response.context["rows"]}

    assert shown() == {waiting.pk, working.pk}
    assert shown("?state=all") == {waiting.pk, working.pk, done.pk}
    assert shown("?state=approved") == {done.pk}
    assert shown("?state=all&kind=license") == {working.pk}
    page = client.get(reverse("portal:audits")).content.decode()
    assert f'href="{reverse("portal:model", args=[target.pk])}"' in page
    assert ">all<" in page
    assert client.get(reverse("portal:audits") + "?kind=vibes").status_code == 400


def test_an_expired_approval_is_listed_as_expired_as_of_now(client, asker, auditor, target):
    review = taken(request_of(asker, target), auditor)
    services.decide_review(principal=principal_for_user(auditor), review=review, decision="approved")
    AuditReview.objects.filter(pk=review.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(auditor)
    expired = client.get(reverse("portal:audits") + "?state=expired").context["rows"]
    assert [(row["review"].pk, row["state"]) for row in expired] == [(review.pk, "expired")]
    assert client.get(reverse("portal:audits") + "?state=approved").context["rows"] == []


# --- Query bounds ---------------------------------------------------------------------------------


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def reviews_with_evidence(asker, count: int) -> list[AuditReview]:
    made = []
    for index in range(count):
        target = model(
            f"org/many-{len(AuditReview.objects.all())}-{index}", publisher(f"p{AuditReview.objects.count()}-{index}")
        )
        review = request_of(asker, target)
        services.add_evidence_link(principal=principal_for_user(asker), review=review, url="https://example.org/a")
        made.append(review)
    return made


def test_the_queue_and_a_review_page_make_as_many_queries_for_few_and_many(client, asker, auditor):
    client.force_login(auditor)
    few = reviews_with_evidence(asker, 3)
    small_queue = queries(client, reverse("portal:audits"))
    small_review = queries(client, reverse("portal:audit", args=[few[0].pk]))

    many = reviews_with_evidence(asker, 27)
    for _ in range(10):
        services.add_evidence_link(principal=principal_for_user(asker), review=many[0], url="https://example.org/b")
    assert queries(client, reverse("portal:audits")) == small_queue
    assert queries(client, reverse("portal:audit", args=[many[0].pk])) == small_review


# --- Control characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("posted", "field"),
    [
        ({"url": "https://example.org/report", "title": "scan\x00"}, "title"),
        ({"url": "https://example.org/\x00report", "title": "scan"}, "url"),
        ({"url": "https://example.org/report", "title": "scan\u202eevil"}, "title"),
    ],
)
def test_a_control_character_in_an_evidence_link_is_a_400_naming_the_field(client, asker, target, posted, field):
    review = request_of(asker, target)
    client.force_login(asker)

    response = client.post(reverse("portal:audit-evidence", args=[review.pk]), posted)

    assert response.status_code == 400
    assert f"{field}: " in response.content.decode()
    assert not Evidence.objects.exists()


def test_a_control_character_in_a_review_note_is_a_400_naming_the_field_but_a_line_break_is_text(client, asker, target):
    client.force_login(asker)
    url = reverse("portal:audit-request", args=[target.pk])

    refused = client.post(url, {"kind": "security", "note": "look at\x07 this"})

    assert refused.status_code == 400
    assert "note" in refused.context["form"].errors
    assert "Note: control and format characters are not allowed" in refused.content.decode()
    assert not AuditReview.objects.exists()
    assert client.post(url, {"kind": "security", "note": "first line\r\nsecond line"}).status_code == 302
    assert AuditReview.objects.get().note == "first line\r\nsecond line"
