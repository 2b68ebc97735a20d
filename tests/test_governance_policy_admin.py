"""The admin writes policies only through the service (each save a new version, in the change log),
shows the service's errors on the form, never deletes a policy, dry-runs a definition before it is
saved; it shows violations read-only and waives them, grants and revokes overrides, and exports the
gate's decisions as CSV, all through the services as the signed-in person."""

import csv
import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from core.access import Principal, set_user_access, system_principal
from core.changelog import Actor
from core.models import ChangeLogEntry, Role
from core.tokens import issue_token
from governance import gate, policies, violations
from governance.exports import COLUMNS, decision_rows
from governance.models import GateDecision, Override, Policy, PolicyVersion, Violation, ViolationState
from inventory.models import AIModel
from inventory.purls import parse_reference
from tests.inventory_helpers import ACTOR, model, publisher

pytestmark = pytest.mark.django_db

POLICIES = "/admin/governance/policy/"
VIOLATIONS = "/admin/governance/violation/"
OVERRIDES = "/admin/governance/override/"
DECISIONS = "/admin/governance/gatedecision/"
CN_PUBLISHED = {
    "name": "cn-published",
    "action": "fail",
    "enabled": True,
    "conditions": [{"subject": "publisher_country", "operator": "is", "value": "CN"}],
}
DEPLOYER = Principal(actor=Actor.system("pipeline"), role=Role.DEPLOYER)


@pytest.fixture
def cn_model() -> AIModel:
    return model("cn-lab/base", publisher("cn-lab", "CN"))


@pytest.fixture
def us_model() -> AIModel:
    return model("us-lab/clean", publisher("us-lab", "US"))


def shown(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def logged(instance) -> list[tuple[str, str, str]]:
    entries = ChangeLogEntry.objects.filter(
        object_type=f"governance.{instance._meta.model_name}", object_id=str(instance.pk)
    )
    return list(entries.order_by("created_at", "id").values_list("action", "actor_name", "message"))


def act(client, url: str, action: str, *rows, **extra):
    return client.post(url, {"action": action, "_selected_action": [row.pk for row in rows], **extra}, follow=True)


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def policy_form(page, **definition) -> dict:
    """What the policy page's form posts: the definition, and the (read-only) versions' formset."""
    data = {
        "name": definition.get("name", ""),
        "description": definition.get("description", ""),
        "action": definition.get("action", "warn"),
        "match": definition.get("match", "all"),
        "environments": ", ".join(definition.get("environments", [])),
        "tags": ", ".join(definition.get("tags", [])),
        "teams": ", ".join(definition.get("teams", [])),
        "conditions": definition["conditions"]
        if isinstance(definition["conditions"], str)
        else json.dumps(definition["conditions"]),
        "_save": "Save",
    }
    if definition.get("enabled"):
        data["enabled"] = "on"
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for form in formset.forms:
            data[form.add_prefix("id")] = form.instance.pk
            data[form.add_prefix(formset.fk.name)] = formset.instance.pk
    return data


# --- Policies -------------------------------------------------------------------------------------


def test_adding_a_policy_goes_through_the_service_and_is_version_one(admin_client, admin_user):
    page = admin_client.get(f"{POLICIES}add/")
    assert page.status_code == 200
    assert "Dry run (saves nothing)" in page.content.decode()

    response = admin_client.post(
        f"{POLICIES}add/",
        policy_form(
            page,
            name="cn-published",
            action="fail",
            enabled=True,
            environments=["prod", "staging"],
            conditions=[{"subject": "publisher_country", "operator": "in", "value": ["cn", "ru"]}],
        ),
        follow=True,
    )

    assert response.status_code == 200
    policy = Policy.objects.get(name="cn-published")
    assert (policy.version, policy.enabled, policy.environments) == (1, True, ["prod", "staging"])
    assert policy.conditions == [{"subject": "publisher_country", "operator": "in", "value": ["CN", "RU"]}]
    assert list(policy.versions.values_list("version", "actor_name")) == [(1, admin_user.username)]
    assert logged(policy) == [("create", admin_user.username, "version 1")]


def test_editing_a_policy_is_a_new_version_shown_read_only(admin_client, admin_user):
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    change = f"{POLICIES}{policy.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200

    response = admin_client.post(change, policy_form(page, **{**CN_PUBLISHED, "action": "warn"}), follow=True)

    assert response.status_code == 200
    policy.refresh_from_db()
    assert (policy.version, policy.action) == (2, "warn")
    assert [(version.version, version.definition["action"]) for version in policy.versions.order_by("version")] == [
        (1, "fail"),
        (2, "warn"),
    ]
    assert logged(policy)[-1] == ("update", admin_user.username, "version 2")

    again = admin_client.get(change)
    body = again.content.decode()
    assert "Policy versions" in body
    assert "&quot;action&quot;: &quot;fail&quot;" in body, "earlier versions are shown whole"
    unchanged = admin_client.post(change, policy_form(again, **{**CN_PUBLISHED, "action": "warn"}), follow=True)
    assert "Nothing changed: cn-published stays at version 2" in shown(unchanged)
    assert PolicyVersion.objects.filter(policy=policy).count() == 2


@pytest.mark.parametrize(
    ("conditions", "error"),
    [
        (
            [{"subject": "publisher_country", "operator": "is", "value": "XX"}],
            "conditions.0.value: 'XX' is no ISO 3166-1 alpha-2 country code (or 'unknown')",
        ),
        (
            [{"subject": "gated", "operator": "is", "value": True}, {"subject": "gated", "operator": "gt", "value": 1}],
            "conditions.1.operator: gated takes is, is_not",
        ),
        ('[{"subject": "gated",', "Enter a valid JSON."),
    ],
)
def test_an_invalid_condition_is_an_error_on_the_form_and_nothing_is_written(admin_client, conditions, error):
    page = admin_client.get(f"{POLICIES}add/")

    response = admin_client.post(f"{POLICIES}add/", policy_form(page, name="broken", conditions=conditions))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["conditions"] == [error]
    assert not Policy.objects.filter(name="broken").exists()
    assert not ChangeLogEntry.objects.filter(object_type="governance.policy", object_repr="broken").exists()


def test_a_taken_name_is_an_error_on_the_form(admin_client):
    policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    page = admin_client.get(f"{POLICIES}add/")

    taken = admin_client.post(f"{POLICIES}add/", policy_form(page, **CN_PUBLISHED))

    assert taken.status_code == 200
    assert taken.context["adminform"].form.errors["name"] == ["Policy with this Name already exists."]
    assert Policy.objects.filter(name="cn-published").count() == 1


def test_a_policy_is_never_deleted_but_disabled_as_a_new_version(admin_client, admin_user):
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)

    assert admin_client.post(f"{POLICIES}{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = admin_client.get(POLICIES)
    assert listing.status_code == 200
    assert "delete_selected" not in listing.content.decode()
    assert "Delete" not in admin_client.get(f"{POLICIES}{policy.pk}/change/").content.decode()

    response = act(admin_client, POLICIES, "disable", policy)

    assert shown(response) == ["1 policy disabled"]
    policy.refresh_from_db()
    assert (policy.enabled, policy.version) == (False, 2)
    assert logged(policy)[-1][:2] == ("update", admin_user.username)
    assert shown(act(admin_client, POLICIES, "enable", policy)) == ["1 policy enabled"]


def test_a_staff_member_who_is_no_admin_reads_policies_but_does_not_write_them(client):
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    auditor = get_user_model().objects.create_user(username="auditor", password=None, is_staff=True)
    set_user_access(actor=ACTOR, user=auditor, role=Role.AUDITOR)
    codenames = ["view_policy", "add_policy", "change_policy"]
    auditor.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(auditor)

    assert client.get(POLICIES).status_code == 200
    assert client.get(f"{POLICIES}{policy.pk}/change/").status_code == 200
    assert client.get(f"{POLICIES}add/").status_code == 403
    assert client.post(f"{POLICIES}{policy.pk}/change/", {"name": "renamed"}).status_code == 403
    policy.refresh_from_db()
    assert (policy.name, policy.version) == ("cn-published", 1)


def test_a_dry_run_of_the_form_shows_the_models_it_would_flag_and_saves_nothing(admin_client, cn_model, us_model):
    page = admin_client.get(f"{POLICIES}add/")
    data = policy_form(page, name="cn-published", conditions=CN_PUBLISHED["conditions"])

    response = admin_client.post(f"{POLICIES}dry-run/", data)

    assert response.status_code == 200
    body = response.content.decode()
    assert "cn-published (not saved)" in body
    assert "1 model would be flagged" in body
    assert "huggingface:cn-lab/base" in body
    assert "publisher_country is &#x27;CN&#x27;" in body
    assert "us-lab/clean" not in body
    assert not Policy.objects.filter(name="cn-published").exists()

    invalid = admin_client.post(
        f"{POLICIES}dry-run/",
        {**data, "conditions": json.dumps([{"subject": "publisher_country", "operator": "is", "value": "XX"}])},
    )
    assert invalid.status_code == 200
    assert "The definition is not valid" in invalid.content.decode()
    assert "conditions.0.value" in invalid.content.decode()


def test_a_dry_run_of_saved_policies_from_the_list(admin_client, cn_model, us_model):
    disabled = policies.create_policy(actor=ACTOR, definition={**CN_PUBLISHED, "enabled": False})
    nothing = policies.create_policy(
        actor=ACTOR,
        definition={
            "name": "gated",
            "action": "warn",
            "conditions": [{"subject": "gated", "operator": "is", "value": True}],
        },
    )

    response = act(admin_client, POLICIES, "dry_run_selected", disabled, nothing)

    body = response.content.decode()
    assert "1 model would be flagged" in body, "a disabled policy is dry-run as if enabled"
    assert "huggingface:cn-lab/base" in body
    assert "No model would be flagged." in body
    assert not Violation.objects.exists()
    change = admin_client.get(f"{POLICIES}{disabled.pk}/change/").content.decode()
    assert f'formaction="{POLICIES}{disabled.pk}/dry-run/"' in change


# --- Violations -----------------------------------------------------------------------------------


@pytest.fixture
def violation(cn_model) -> Violation:
    policy = policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    violations.evaluate(model_ids=[cn_model.pk])
    return Violation.objects.get(policy=policy, model=cn_model)


def listed(client, url: str, query: str = "") -> list[int]:
    page = client.get(f"{url}{query}")
    assert page.status_code == 200
    return sorted(row.pk for row in page.context["cl"].result_list)


def test_violations_are_read_only_and_filtered_by_state_as_of_now_policy_and_action(admin_client, violation):
    warn = policies.create_policy(
        actor=ACTOR, definition={**CN_PUBLISHED, "name": "cn-warn", "action": "warn", "enabled": True}
    )
    violations.evaluate(model_ids=[violation.model_id])
    warned = Violation.objects.get(policy=warn)
    violations.waive(
        principal=system_principal("test"), violation=warned, reason="ok", until=timezone.now() + timedelta(hours=1)
    )

    page = admin_client.get(VIOLATIONS)
    assert page.status_code == 200
    assert "By state (as of now)" in page.content.decode()
    assert admin_client.get(f"{VIOLATIONS}{violation.pk}/change/").status_code == 200
    assert listed(admin_client, VIOLATIONS, "?state=open") == [violation.pk]
    assert listed(admin_client, VIOLATIONS, "?state=waived") == [warned.pk]
    assert listed(admin_client, VIOLATIONS, f"?policy__id__exact={warn.pk}") == [warned.pk]
    assert listed(admin_client, VIOLATIONS, "?policy__action__exact=fail") == [violation.pk]
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert listed(admin_client, VIOLATIONS, "?state=open") == [violation.pk, warned.pk], "its waiver ran out"
    assert admin_client.get(f"{VIOLATIONS}add/").status_code == 403
    assert admin_client.post(f"{VIOLATIONS}{violation.pk}/delete/", {"post": "yes"}).status_code == 403


def test_waiving_in_the_admin_goes_through_the_service_as_the_signed_in_person(admin_client, admin_user, violation):
    asked = act(admin_client, VIOLATIONS, "waive", violation)
    assert asked.status_code == 200
    assert "Waive violations" in asked.content.decode()
    assert "reason" in asked.context["form"].fields

    past = act(admin_client, VIOLATIONS, "waive", violation, apply="Waive", reason="ok", until="2000-01-01 00:00")
    assert past.context["form"].errors["until"] == ["must be in the future"]
    until = timezone.now() + timedelta(days=7)

    waiver = {"apply": "Waive", "reason": "accepted risk", "until": local(until)}
    response = act(admin_client, VIOLATIONS, "waive", violation, **waiver)

    assert shown(response) == ["1 violation waived"]
    violation.refresh_from_db()
    assert (violation.state, violation.waived_by, violation.waiver_reason) == (
        ViolationState.WAIVED,
        admin_user.username,
        "accepted risk",
    )
    assert logged(violation)[-1][:2] == ("waive", admin_user.username)

    again = act(admin_client, VIOLATIONS, "waive", violation, **waiver)
    refusal = f"violation #{violation.pk} is waived: only an open one can be waived"
    assert shown(again) == [f"Violation #{violation.pk}: {refusal}"]
    violation.refresh_from_db()
    assert violation.waiver_reason == "accepted risk"


def test_a_person_who_is_no_auditor_is_told_so(client, violation):
    viewer = get_user_model().objects.create_user(username="viewer", password=None, is_staff=True)
    set_user_access(actor=ACTOR, user=viewer, role=Role.VIEWER)
    viewer.user_permissions.add(Permission.objects.get(codename="view_violation"))
    client.force_login(viewer)
    until = local(timezone.now() + timedelta(days=1))

    response = act(client, VIOLATIONS, "waive", violation, apply="Waive", reason="mine", until=until)

    assert shown(response) == [f"Violation #{violation.pk}: only auditors waive violations"]
    violation.refresh_from_db()
    assert violation.state == ViolationState.OPEN


# --- Overrides ------------------------------------------------------------------------------------


def test_granting_and_revoking_an_override_go_through_the_gate_service(admin_client, admin_user, cn_model):
    listing = admin_client.get(OVERRIDES)
    assert listing.status_code == 200
    assert f'href="{OVERRIDES}grant/"' in listing.content.decode()
    assert admin_client.get(f"{OVERRIDES}grant/?model={cn_model.pk}&environment=prod").status_code == 200
    until = timezone.now() + timedelta(hours=4)
    data = {"model": cn_model.pk, "environment": "prod", "reason": "incident 42", "expires_at": local(until)}

    past = admin_client.post(f"{OVERRIDES}grant/", {**data, "expires_at": "2000-01-01 00:00"})
    assert past.status_code == 200
    assert past.context["form"].errors["expires_at"] == ["must be in the future"]
    assert not Override.objects.exists()

    granted = admin_client.post(f"{OVERRIDES}grant/", data, follow=True)

    override = Override.objects.get()
    assert (override.model_id, override.environment, override.created_by) == (cn_model.pk, "prod", admin_user.username)
    assert shown(granted) == [f"Granted: {override}"]
    assert logged(override) == [("create", admin_user.username, "")]
    assert listed(admin_client, OVERRIDES, "?standing=active") == [override.pk]
    assert admin_client.get(f"{OVERRIDES}{override.pk}/change/").status_code == 200

    revoked = act(admin_client, OVERRIDES, "revoke", override)

    assert shown(revoked) == ["1 override revoked"]
    override.refresh_from_db()
    assert override.revoked_at is not None
    assert logged(override)[-1][:2] == ("revoke", admin_user.username)
    assert listed(admin_client, OVERRIDES, "?standing=revoked") == [override.pk]
    assert shown(act(admin_client, OVERRIDES, "revoke", override)) == [f"Override #{override.pk} was already revoked"]


def test_only_admins_grant_overrides(client, cn_model):
    auditor = get_user_model().objects.create_user(username="auditor", password=None, is_staff=True)
    set_user_access(actor=ACTOR, user=auditor, role=Role.AUDITOR)
    auditor.user_permissions.add(Permission.objects.get(codename="view_override"))
    client.force_login(auditor)
    assert "grant/" not in client.get(OVERRIDES).content.decode()
    data = {
        "model": cn_model.pk,
        "environment": "prod",
        "reason": "mine",
        "expires_at": local(timezone.now() + timedelta(hours=1)),
    }

    response = client.post(f"{OVERRIDES}grant/", data, follow=True)

    assert shown(response) == ["only admins grant break-glass overrides"]
    assert not Override.objects.exists()


# --- Gate decisions -------------------------------------------------------------------------------


def ask(reference: str, environment: str = "prod", asked_as: str | None = None) -> GateDecision:
    return gate.ask(
        principal=DEPLOYER,
        reference=parse_reference(reference),
        asked_as=asked_as or reference,
        environment=environment,
        system="ci",
    )


def test_decisions_are_read_only_filtered_and_exported_as_csv(admin_client, cn_model, us_model):
    policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    denied = ask("huggingface:cn-lab/base")
    allowed = ask("huggingface:us-lab/clean", "staging")
    unknown = ask("huggingface:nobody/nothing")

    assert listed(admin_client, DECISIONS) == sorted([denied.pk, allowed.pk, unknown.pk])
    assert listed(admin_client, DECISIONS, "?decision=deny") == sorted([denied.pk, unknown.pk])
    assert listed(admin_client, DECISIONS, "?environment=staging") == [allowed.pk]
    detail = admin_client.get(f"{DECISIONS}{denied.pk}/change/")
    assert detail.status_code == 200
    assert "&quot;cn-published&quot;: 1" in detail.content.decode(), "the policy versions it was made under"
    assert admin_client.post(f"{DECISIONS}{denied.pk}/delete/", {"post": "yes"}).status_code == 403

    response = act(admin_client, DECISIONS, "export_csv", denied, allowed)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="gate-decisions-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["id"] for row in rows] == [str(allowed.pk), str(denied.pk)], "newest first"
    deny = rows[1]
    assert list(deny) == list(COLUMNS)
    assert (deny["decision"], deny["reference"], deny["model_id"], deny["environment"], deny["system"]) == (
        "deny",
        "huggingface:cn-lab/base",
        str(cn_model.pk),
        "prod",
        "ci",
    )
    assert deny["actor"] == "system:pipeline"
    assert deny["reasons"].startswith("[fail] cn-published: publisher_country is 'CN'")
    assert deny["policy_versions"] == "cn-published v1"
    assert (rows[0]["decision"], rows[0]["reasons"]) == ("allow", "")


def test_the_admin_export_has_the_api_export_columns_and_cells(admin_client, client, cn_model):
    policies.create_policy(actor=ACTOR, definition=CN_PUBLISHED)
    decisions = [ask("huggingface:cn-lab/base"), ask("huggingface:nobody/nothing", asked_as="=cmd|' /C calc'!A0")]

    admin_csv = act(admin_client, DECISIONS, "export_csv", *decisions).content.decode()
    auditor = issue_token(actor=ACTOR, name="export-auditor", role=Role.AUDITOR).secret
    exported = client.get("/api/v1/gate-decisions/export/", headers={"Authorization": f"Bearer {auditor}"})
    api_csv = b"".join(exported.streaming_content)

    assert admin_csv == api_csv.decode()
    assert "'=cmd|' /C calc'!A0" in admin_csv
    assert "[fail] gate: huggingface:nobody/nothing is not in the inventory" in admin_csv


def test_decision_rows_keep_a_spreadsheet_from_reading_a_cell_as_a_formula(cn_model):
    decision = ask("huggingface:cn-lab/base", asked_as='=HYPERLINK("https://example.org")')

    header, row = decision_rows([decision])

    assert header == list(COLUMNS)
    assert row[COLUMNS.index("reference")] == '\'=HYPERLINK("https://example.org")'
    assert row[COLUMNS.index("model_id")] == cn_model.pk
