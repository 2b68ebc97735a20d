"""The portal's policy, violation and override pages: they write only through governance's services
(new versions and change-log rows), show the services' errors naming the field (400, nothing stored),
dry-run a definition without saving it, hide what a role cannot do and refuse it on the server (403),
and run a fixed number of queries whatever the data size."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.access import system_principal
from core.models import ChangeLogEntry
from governance import gate, policies, violations
from governance.models import Override, Policy, PolicyVersion, Violation, ViolationState
from inventory.models import AIModel
from tests.inventory_helpers import ACTOR, model, publisher

pytestmark = [pytest.mark.django_db]

CN_PUBLISHED = {
    "name": "cn-published",
    "action": "fail",
    "enabled": True,
    "conditions": [{"subject": "publisher_country", "operator": "is", "value": "CN"}],
}


@pytest.fixture
def cn_model() -> AIModel:
    return model("cn-lab/base", publisher("cn-lab", "CN"))


@pytest.fixture
def us_model() -> AIModel:
    return model("us-lab/clean", publisher("us-lab", "US"))


@pytest.fixture
def violation(cn_model: AIModel) -> Violation:
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    violations.evaluate(model_ids=[cn_model.pk])
    return Violation.objects.get(policy=policy, model=cn_model)


def form_data(**definition) -> dict:
    """What the policy page's form posts."""
    data = {
        "name": definition.get("name", ""),
        "description": definition.get("description", ""),
        "action": definition.get("action", "warn"),
        "match": definition.get("match", "all"),
        "environments": ", ".join(definition.get("environments", [])),
        "tags": ", ".join(definition.get("tags", [])),
        "teams": ", ".join(definition.get("teams", [])),
        "conditions": json.dumps(definition.get("conditions", [])),
    }
    if definition.get("enabled"):
        data["enabled"] = "on"
    return data


def logged(instance) -> list[tuple[str, str]]:
    entries = ChangeLogEntry.objects.filter(
        object_type=f"governance.{instance._meta.model_name}", object_id=str(instance.pk)
    )
    return list(entries.order_by("created_at", "id").values_list("action", "actor_name"))


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def text(response) -> str:
    return response.content.decode()


# --- Policies -------------------------------------------------------------------------------------


def test_the_list_shows_every_policy_with_its_scope_version_and_open_violations(client_as, violation):
    policies.update_policy(actor=ACTOR, policy=violation.policy, changes={"environments": ["prod"], "teams": ["ml"]})
    admin = client_as("admin")

    page = admin.get(reverse("portal:policies"))

    assert page.status_code == 200
    html = text(page)
    for policy in Policy.objects.all():
        assert f'href="{reverse("portal:policy", args=[policy.pk])}"' in html
    assert "no-pickle-artifacts-in-prod" in html  # the example policies, disabled
    listed = {policy.name: policy for policy in page.context["policies"]}
    assert listed["cn-published"].open_violations == 1
    assert listed["no-pickle-artifacts-in-prod"].open_violations == 0
    assert "environments: prod" in html
    assert "teams: ml" in html
    assert 'class="badge action-fail"' in html
    assert reverse("portal:policy-new") in html
    assert reverse("portal:policy-enable", args=[violation.policy_id]) in html


def test_enabling_and_disabling_go_through_the_service_as_new_versions(client_as):
    admin = client_as("admin", "ada")
    policy = Policy.objects.get(name="unaudited-model-warns")
    assert not policy.enabled

    response = admin.post(reverse("portal:policy-enable", args=[policy.pk]), {"enabled": "true"})

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.enabled, policy.version) == (True, 2)
    assert PolicyVersion.objects.filter(policy=policy, version=2, actor_name="ada").exists()
    assert logged(policy)[-1] == ("update", "ada")

    admin.post(reverse("portal:policy-enable", args=[policy.pk]), {"enabled": "false"})
    policy.refresh_from_db()
    assert (policy.enabled, policy.version) == (False, 3)

    wrong = admin.post(reverse("portal:policy-enable", args=[policy.pk]), {"enabled": "perhaps"})
    assert wrong.status_code == 400
    assert "enabled: true or false" in text(wrong)
    assert Policy.objects.get(pk=policy.pk).version == 3


@pytest.mark.parametrize("role", ["viewer", "auditor", "editor"])
def test_who_is_no_admin_reads_policies_but_sees_no_button_and_is_refused_on_the_server(client_as, role):
    person = client_as(role)
    policy = Policy.objects.get(name="unaudited-model-warns")
    versions = PolicyVersion.objects.count()

    listing = person.get(reverse("portal:policies"))
    page = person.get(reverse("portal:policy", args=[policy.pk]))

    assert listing.status_code == page.status_code == 200
    assert reverse("portal:policy-enable", args=[policy.pk]) not in text(listing)
    assert reverse("portal:policy-new") not in text(listing)
    assert "Dry run" not in text(page)
    assert "Save" not in text(page)
    assert 'name="name"' in text(page)
    assert "disabled" in text(page)
    posts = [
        (reverse("portal:policy-enable", args=[policy.pk]), {"enabled": "true"}),
        (
            reverse("portal:policy", args=[policy.pk]),
            form_data(name=policy.name, action="fail", conditions=policy.conditions),
        ),
        (reverse("portal:policy-new"), form_data(**CN_PUBLISHED)),
        (reverse("portal:policy-dry-run"), form_data(**CN_PUBLISHED)),
    ]
    for url, data in posts:
        assert person.post(url, data).status_code == 403, url
    assert PolicyVersion.objects.count() == versions
    assert not Policy.objects.filter(name="cn-published").exists()


def test_a_new_policy_is_created_through_the_service_as_version_one(client_as, cn_model):
    admin = client_as("admin", "ada")
    assert "Writing conditions" in text(admin.get(reverse("portal:policy-new")))

    response = admin.post(reverse("portal:policy-new"), form_data(**CN_PUBLISHED, environments=["prod", "prod"]))

    policy = Policy.objects.get(name="cn-published")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:policy", args=[policy.pk])
    assert (policy.version, policy.enabled, policy.action, policy.environments) == (1, True, "fail", ["prod"])
    assert list(policy.versions.values_list("version", "actor_name")) == [(1, "ada")]
    assert logged(policy) == [("create", "ada")]


def test_editing_a_policy_is_a_new_version_listed_below_the_form(client_as):
    admin = client_as("admin", "ada")
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    edited = form_data(**{**CN_PUBLISHED, "action": "warn", "tags": ["customer-facing"]})

    response = admin.post(reverse("portal:policy", args=[policy.pk]), edited)

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.version, policy.action, policy.tags) == (2, "warn", ["customer-facing"])
    assert logged(policy)[-1] == ("update", "ada")
    page = admin.get(reverse("portal:policy", args=[policy.pk]))
    assert [version.version for version in page.context["versions"]] == [2, 1]
    assert "ada" in text(page)
    assert "test" in text(page)

    again = admin.post(reverse("portal:policy", args=[policy.pk]), edited)  # nothing changed: nothing written
    assert again.status_code == 302
    assert Policy.objects.get(pk=policy.pk).version == 2


def test_the_help_lists_the_subjects_and_operators_from_the_code():
    from governance.conditions import OPERATORS, SUBJECTS
    from portal.views.policies import condition_help

    shown = condition_help()
    assert [subject["name"] for subject in shown["subjects"]] == list(SUBJECTS)
    assert shown["operators"] == OPERATORS


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        (
            [
                {"subject": "publisher_country", "operator": "is", "value": "CN"},
                {"subject": "publisher_country", "operator": "is", "value": "XX"},
            ],
            "conditions.1.value",
        ),
        ([{"subject": "license_unknown", "operator": "gt", "value": 1}], "conditions.0.operator"),
        ([{"subject": "gated", "operator": "is", "value": True, "kind": "security"}], "conditions.0.kind"),
        ([], "conditions"),
    ],
)
def test_an_invalid_policy_is_shown_naming_the_field_as_a_400_and_nothing_is_stored(client_as, conditions, field):
    admin = client_as("admin")
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    before = (Policy.objects.count(), PolicyVersion.objects.count(), ChangeLogEntry.objects.count())

    created = admin.post(
        reverse("portal:policy-new"), form_data(**{**CN_PUBLISHED, "name": "other", "conditions": conditions})
    )
    edited = admin.post(
        reverse("portal:policy", args=[policy.pk]), form_data(**{**CN_PUBLISHED, "conditions": conditions})
    )

    for response in (created, edited):
        assert response.status_code == 400
        assert f"{field}" in text(response)
        assert 'role="alert"' in text(response)
    assert (Policy.objects.count(), PolicyVersion.objects.count(), ChangeLogEntry.objects.count()) == before
    assert Policy.objects.get(pk=policy.pk).version == 1


@pytest.mark.parametrize("name", ["cn\x00published", "cn\u202epublished", "cn\x1bpublished"])
def test_a_control_character_in_a_policy_name_is_a_400_naming_the_field(client_as, name):
    admin = client_as("admin")
    before = Policy.objects.count()

    response = admin.post(reverse("portal:policy-new"), form_data(**{**CN_PUBLISHED, "name": name}))

    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert "Name: " in text(response)
    assert Policy.objects.count() == before


def test_a_control_character_in_a_policy_condition_is_a_400_naming_the_field(client_as):
    admin = client_as("admin")
    before = Policy.objects.count()
    conditions = [{"subject": "publisher_country", "operator": "is", "value": "C\u0000N"}]

    response = admin.post(reverse("portal:policy-new"), form_data(**{**CN_PUBLISHED, "conditions": conditions}))

    assert response.status_code == 400
    assert "conditions" in response.context["form"].errors
    assert Policy.objects.count() == before


def test_a_taken_name_and_json_that_is_no_json_are_errors_on_the_form(client_as):
    admin = client_as("admin")
    taken = admin.post(reverse("portal:policy-new"), form_data(**{**CN_PUBLISHED, "name": "unaudited-model-warns"}))
    assert taken.status_code == 400
    assert "name" in taken.context["form"].errors
    broken = admin.post(reverse("portal:policy-new"), {**form_data(**CN_PUBLISHED), "conditions": "[{"})
    assert broken.status_code == 400
    assert "conditions" in broken.context["form"].errors
    assert not Policy.objects.filter(name="cn-published").exists()


# --- Dry run --------------------------------------------------------------------------------------


def _nothing_saved() -> tuple[int, int, int, int]:
    return (
        Policy.objects.count(),
        PolicyVersion.objects.count(),
        Violation.objects.count(),
        ChangeLogEntry.objects.count(),
    )


def test_the_dry_run_fragment_lists_exactly_the_models_the_policy_would_flag_and_saves_nothing(
    client_as, cn_model, us_model
):
    other_cn = model("cn-lab/other", cn_model.publisher)
    admin = client_as("admin")
    before = _nothing_saved()
    definition = {**CN_PUBLISHED, "name": ""}

    response = admin.post(reverse("portal:policy-dry-run"), form_data(**definition), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html  # a fragment
    linked = {m.pk for m in AIModel.objects.all() if f'href="{reverse("portal:model", args=[m.pk])}"' in html}
    assert linked == {cn_model.pk, other_cn.pk}
    assert "2 models would be flagged" in html
    assert "publisher_country is &#x27;CN&#x27; (it is &#x27;CN&#x27;)" in html
    assert _nothing_saved() == before


def test_the_dry_run_shows_a_wrong_definition_in_the_fragment_and_the_page_without_htmx(client_as, cn_model):
    admin = client_as("admin")
    before = _nothing_saved()
    wrong = form_data(
        **{**CN_PUBLISHED, "conditions": [{"subject": "publisher_country", "operator": "is", "value": "XX"}]}
    )

    fragment = admin.post(reverse("portal:policy-dry-run"), wrong, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200  # htmx swaps only a 2xx answer into the page
    assert "conditions.0.value" in text(fragment)
    assert "not valid" in text(fragment)

    page = admin.post(reverse("portal:policy-dry-run"), form_data(**CN_PUBLISHED))
    assert page.status_code == 200
    assert "<html" in text(page)
    assert 'id="policy-form"' in text(page)
    assert reverse("portal:model", args=[cn_model.pk]) in text(page)
    failed = admin.post(reverse("portal:policy-dry-run"), wrong)
    assert failed.status_code == 400
    assert "conditions.0.value" in text(failed)
    assert _nothing_saved() == before


def test_the_dry_run_of_a_policy_being_edited_keeps_its_name(client_as, cn_model):
    admin = client_as("admin")
    policy = policies.create_policy(actor=ACTOR, definition={**CN_PUBLISHED, "enabled": False})
    page = admin.get(reverse("portal:policy", args=[policy.pk]))
    assert 'hx-post="/policies/dry-run/"' in text(page)
    assert 'hx-target="#dry-run-results"' in text(page)

    data = {**form_data(**CN_PUBLISHED), "policy": str(policy.pk)}
    response = admin.post(reverse("portal:policy-dry-run"), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "1 model would be flagged" in text(response)
    assert Policy.objects.get(pk=policy.pk).version == 1


# --- Violations -----------------------------------------------------------------------------------


def listed(client, query: str = "") -> list[int]:
    page = client.get(reverse("portal:violations") + query)
    assert page.status_code == 200
    return sorted(row["violation"].pk for row in page.context["rows"])


def test_violations_are_filtered_by_state_as_of_now_action_policy_and_model(client_as, violation, us_model):
    from time_machine import travel

    warn = policies.create_policy(actor=ACTOR, definition={**CN_PUBLISHED, "name": "cn-warn", "action": "warn"})
    violations.evaluate(model_ids=[violation.model_id])
    warned = Violation.objects.get(policy=warn)
    violations.waive(
        principal=system_principal("test"), violation=warned, reason="ok", until=timezone.now() + timedelta(hours=1)
    )
    viewer = client_as("viewer")

    assert listed(viewer) == sorted([violation.pk, warned.pk])
    assert listed(viewer, "?state=open") == [violation.pk]
    assert listed(viewer, "?state=waived") == [warned.pk]
    assert listed(viewer, "?action=warn") == [warned.pk]
    assert listed(viewer, f"?policy={violation.policy_id}") == [violation.pk]
    assert listed(viewer, f"?model={us_model.pk}") == []
    with travel(timezone.now() + timedelta(hours=2)):
        assert listed(viewer, "?state=open") == sorted([violation.pk, warned.pk]), "its waiver ran out"
    page = viewer.get(reverse("portal:violations"))
    assert reverse("portal:violation-waive", args=[violation.pk]) not in text(page)
    warned.refresh_from_db()
    assert f"by {warned.waived_by} until" in text(page)
    wrong = viewer.get(reverse("portal:violations") + "?model=abc&state=gone")
    assert wrong.status_code == 400
    assert "model" in text(wrong)
    assert "state" in text(wrong)


def test_an_auditor_waives_through_the_service_and_sees_the_waiver(client_as, violation):
    auditor = client_as("auditor", "audrey")
    listing = auditor.get(reverse("portal:violations"))
    url = reverse("portal:violation-waive", args=[violation.pk])
    assert url in text(listing)
    form = auditor.get(url)
    assert form.status_code == 200
    assert 'type="datetime-local"' in text(form)

    past = auditor.post(url, {"reason": "ok", "until": local(timezone.now() - timedelta(days=1))})
    blank = auditor.post(url, {"reason": " ", "until": local(timezone.now() + timedelta(days=1))})
    assert past.status_code == blank.status_code == 400
    assert "must be in the future" in text(past)
    assert "reason" in text(blank)
    assert Violation.objects.get(pk=violation.pk).state == ViolationState.OPEN

    until = timezone.now().replace(second=0, microsecond=0) + timedelta(days=7)
    response = auditor.post(url, {"reason": "accepted risk", "until": local(until)}, follow=True)

    assert response.status_code == 200
    violation.refresh_from_db()
    assert (violation.state, violation.waived_by, violation.waiver_reason, violation.waived_until) == (
        ViolationState.WAIVED, "audrey", "accepted risk", until,
    )  # fmt: skip
    assert logged(violation)[-1] == ("waive", "audrey")
    html = text(response)
    assert "accepted risk" in html
    assert timezone.localtime(until).strftime("%Y-%m-%d %H:%M") in html
    assert '<button type="submit">Waive</button>' not in html

    again = auditor.post(url, {"reason": "again", "until": local(until)})
    assert again.status_code == 409
    assert "only an open one can be waived" in text(again)


def test_a_control_character_in_a_waiver_reason_is_a_400_naming_the_field(client_as, violation):
    auditor = client_as("auditor")
    url = reverse("portal:violation-waive", args=[violation.pk])
    until = local(timezone.now() + timedelta(days=1))

    response = auditor.post(url, {"reason": "accepted\x1b[31m risk", "until": until})

    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    assert "Reason: control and format characters are not allowed" in text(response)
    assert Violation.objects.get(pk=violation.pk).state == ViolationState.OPEN
    assert auditor.post(url, {"reason": "accepted risk,\r\nsee the ticket", "until": until}).status_code == 302


def test_a_viewer_may_not_waive(client_as, violation):
    viewer = client_as("viewer")
    url = reverse("portal:violation-waive", args=[violation.pk])
    page = viewer.get(url)
    assert page.status_code == 200
    assert 'name="reason"' not in text(page)
    response = viewer.post(url, {"reason": "mine", "until": local(timezone.now() + timedelta(days=1))})
    assert response.status_code == 403
    assert Violation.objects.get(pk=violation.pk).state == ViolationState.OPEN


# --- Overrides ------------------------------------------------------------------------------------


def test_an_admin_grants_and_revokes_an_override_through_the_gate_service(client_as, cn_model):
    admin = client_as("admin", "ada")
    page = admin.get(reverse("portal:overrides") + f"?model={cn_model.pk}&environment=prod")
    assert 'value="huggingface:cn-lab/base"' in text(page)
    until = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=4)
    grant = {
        "model": "huggingface:cn-lab/base",
        "environment": "prod",
        "reason": "incident 42",
        "expires_at": local(until),
    }

    response = admin.post(reverse("portal:overrides"), grant)

    assert response.status_code == 302
    override = Override.objects.get()
    assert (override.model_id, override.environment, override.created_by, override.expires_at) == (
        cn_model.pk, "prod", "ada", until,
    )  # fmt: skip
    assert logged(override) == [("create", "ada")]
    listing = admin.get(reverse("portal:overrides"))
    assert "incident 42" in text(listing)
    assert "active" in text(listing)
    revoke = reverse("portal:override-revoke", args=[override.pk])
    assert revoke in text(listing)

    assert admin.post(revoke).status_code == 302
    override.refresh_from_db()
    assert override.revoked_at is not None
    assert logged(override)[-1] == ("revoke", "ada")
    assert revoke not in text(admin.get(reverse("portal:overrides")))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"model": "huggingface:cn-lab/base@abc"}, "model", "leave out @"),
        ({"model": "huggingface:nobody/nothing"}, "model", "not in the inventory"),
        ({"model": "nonsense"}, "model", "unknown source"),
        ({"reason": " "}, "reason", "reason"),
        ({"expires_at": "2000-01-01T00:00"}, "expires_at", "must be in the future"),
    ],
)
def test_a_refused_grant_is_shown_naming_the_field(client_as, cn_model, changes, field, message):
    admin = client_as("admin")
    grant = {
        "model": "huggingface:cn-lab/base",
        "environment": "prod",
        "reason": "incident",
        "expires_at": local(timezone.now() + timedelta(hours=1)),
        **changes,
    }
    response = admin.post(reverse("portal:overrides"), grant)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert message in text(response)
    assert not Override.objects.exists()


def test_standing_overrides_come_first_and_who_is_no_admin_is_refused(client_as, cn_model, us_model):
    admin_principal = system_principal("test")
    later = timezone.now() + timedelta(hours=2)
    revoked = gate.grant_override(
        principal=admin_principal, model=cn_model, environment="prod", reason="a", expires_at=later
    )
    gate.revoke_override(principal=admin_principal, override=revoked)
    standing = gate.grant_override(
        principal=admin_principal, model=us_model, environment="prod", reason="b", expires_at=later
    )
    viewer = client_as("auditor")

    page = viewer.get(reverse("portal:overrides"))

    assert page.status_code == 200
    assert [row["override"].pk for row in page.context["rows"]] == [standing.pk, revoked.pk]
    assert [row["state"] for row in page.context["rows"]] == ["active", "revoked"]
    html = text(page)
    assert 'name="reason"' not in html
    assert reverse("portal:override-revoke", args=[standing.pk]) not in html
    grant = {"model": "huggingface:cn-lab/base", "environment": "dev", "reason": "x", "expires_at": local(later)}
    assert viewer.post(reverse("portal:overrides"), grant).status_code == 403
    assert viewer.post(reverse("portal:override-revoke", args=[standing.pk])).status_code == 403
    assert Override.objects.get(pk=standing.pk).revoked_at is None
    assert Override.objects.count() == 2


# --- Query bounds ---------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(start: int, count: int) -> None:
    owner = publisher(f"cn-lab-{start}", "CN")
    made = [model(f"cn-lab-{start}/m{index}", owner) for index in range(count)]
    for index in range(start, start + count):
        policies.create_policy(
            actor=ACTOR, definition={**CN_PUBLISHED, "name": f"cn-{index}", "environments": ["prod"]}
        )
    violations.evaluate(model_ids=[m.pk for m in made])
    principal = system_principal("test")
    for m in made:
        override = gate.grant_override(
            principal=principal, model=m, environment="prod", reason="r", expires_at=timezone.now() + timedelta(hours=1)
        )
        if m.pk % 2:
            gate.revoke_override(principal=principal, override=override)
    for found in Violation.objects.filter(model__in=made)[: count // 2]:
        violations.waive(principal=principal, violation=found, reason="ok", until=timezone.now() + timedelta(hours=1))


@pytest.mark.parametrize("page", ["portal:policies", "portal:violations", "portal:overrides"])
def test_the_lists_run_the_same_number_of_queries_for_small_and_larger_data(client_as, page):
    admin = client_as("admin")
    url = reverse(page)
    _grow(0, 3)
    small = _queries(admin, url)
    _grow(3, 27)
    assert Violation.objects.count() > 30
    assert _queries(admin, url) == small
    assert _queries(admin, url + "?state=open&action=fail") == _queries(admin, url + "?state=waived")


def test_the_pages_have_no_inline_script_or_style_and_label_every_input(client_as, violation):
    from tests.portal.conftest import csp_offences

    admin = client_as("admin")
    gate.grant_override(
        principal=system_principal("test"), model=violation.model, environment="prod", reason="r",
        expires_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    urls = [
        reverse("portal:policies"),
        reverse("portal:policy-new"),
        reverse("portal:policy", args=[violation.policy_id]),
        reverse("portal:violations"),
        reverse("portal:violation-waive", args=[violation.pk]),
        reverse("portal:overrides"),
    ]
    for url in urls:
        html = text(admin.get(url))
        assert csp_offences(html) == [], url
        for found in re.finditer(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', html):
            assert f'for="{found.group(1)}"' in html, (url, found.group(1))
