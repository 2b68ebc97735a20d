"""The policies, violations, overrides and gate API: each route's happy path, refusals (403 per role,
400 naming the field, 409 on a waiver of what is not open), the issue's example policy, the gate's
three decisions, files checked, break-glass, the decisions' CSV export, a change-log row per write."""

import csv
import io
import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.changelog import Actor
from core.models import ChangeLogEntry, Role
from core.tokens import issue_token
from governance import violations
from governance.models import GateDecision, Override, Policy, PolicyVersion, Violation
from inventory.models import AIModel, License
from inventory.services import revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import derive_from, model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ACTOR = Actor.system("test")
SERIAL = itertools.count()
POLICIES, VIOLATIONS, OVERRIDES = "/api/v1/policies/", "/api/v1/violations/", "/api/v1/overrides/"
GATE, DECISIONS = "/api/v1/gate/", "/api/v1/gate-decisions/"
REVISION = "a" * 40
WEIGHTS_SHA = "1" * 64
CONFIG_BLOB = "2" * 40
CN_NEEDS_AUDIT = {  # the example of the issue
    "name": "cn-derived-needs-security-audit",
    "action": "fail",
    "match": "all",
    "environments": ["prod"],
    "enabled": True,
    "conditions": [
        {"subject": "effective_origin", "operator": "contains_any", "value": ["CN"]},
        {"subject": "audit_status", "kind": "security", "operator": "not_in", "value": ["approved", "conditional"]},
    ],
}
NO_LICENSE_WARNS = {
    "name": "unknown-license-warns",
    "action": "warn",
    "enabled": True,
    "conditions": [{"subject": "license_unknown", "operator": "is", "value": True}],
}


def token(role: str, name: str | None = None) -> dict[str, str]:
    secret = issue_token(actor=ACTOR, name=name or f"test-{role}-{next(SERIAL)}", role=role).secret
    return {"Authorization": f"Bearer {secret}"}


def post(client, path: str, body: object, headers: dict[str, str]):
    return client.post(path, body, content_type="application/json", headers=headers)


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def changes_of(instance: object) -> list[str]:
    rows = ChangeLogEntry.objects.filter(object_type=instance._meta.label_lower, object_id=str(instance.pk))
    return list(rows.order_by("id").values_list("action", flat=True))


@pytest.fixture
def admin():
    return token(Role.ADMIN, "the-admin")


@pytest.fixture
def deployer():
    return token(Role.DEPLOYER, "pipeline")


@pytest.fixture
def inventory() -> dict[str, AIModel]:
    """``clean``: US, MIT, a revision with two files (allow); ``unlicensed``: US, no license (warn);
    ``cn_child``: derived from a CN model, no license, unaudited (deny in prod)."""
    us_lab = publisher("us-lab", "US")
    clean = model("us-lab/clean", us_lab, License.objects.get(key="MIT"))
    revisions.add_revision(
        actor=ACTOR,
        model=clean,
        revision=REVISION,
        artifacts=[
            FileRecord(path="model.safetensors", size=3, sha256=WEIGHTS_SHA, blob_id="3" * 40),
            FileRecord(path="config.json", size=2, blob_id=CONFIG_BLOB),
        ],
    )
    unlicensed = model("us-lab/unlicensed", us_lab)
    model("cn-lab/base", publisher("cn-lab", "CN"))
    cn_child = model("us-lab/cn-child", us_lab)
    derive_from(cn_child, "cn-lab/base")
    return {"clean": clean, "unlicensed": unlicensed, "cn_child": cn_child}


@pytest.fixture
def two_policies(client, admin, inventory) -> dict[str, dict]:
    made = {body["name"]: post(client, POLICIES, body, admin).json() for body in (CN_NEEDS_AUDIT, NO_LICENSE_WARNS)}
    violations.evaluate(model_ids=AIModel.objects.values_list("pk", flat=True))
    return made


# --- Policies -------------------------------------------------------------------------------------


def test_the_example_policy_of_the_issue_gives_201_with_version_1_in_the_change_log(client, admin):
    response = post(client, POLICIES, CN_NEEDS_AUDIT, admin)

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["links"]["self"]
    assert (body["name"], body["version"], body["action"], body["environments"]) == (
        "cn-derived-needs-security-audit",
        1,
        "fail",
        ["prod"],
    )
    assert body["conditions"] == CN_NEEDS_AUDIT["conditions"]
    policy = Policy.objects.get(pk=body["id"])
    assert changes_of(policy) == ["create"]
    assert ChangeLogEntry.objects.get(object_id=str(policy.pk), object_type="governance.policy").actor_name == (
        "token:the-admin"
    )


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"subject": "favourite_colour", "operator": "is", "value": "red"}, "conditions.0.subject"),
        ({"subject": "effective_origin", "operator": "gt", "value": 3}, "conditions.0.operator"),
        ({"subject": "gated", "operator": "is", "value": "yes"}, "conditions.0.value"),
        ({"subject": "publisher_country", "operator": "in", "value": ["XX"]}, "conditions.0.value"),
        ({"subject": "license", "operator": "is", "value": "no-such-license"}, "conditions.0.value"),
        ({"subject": "gated", "operator": "is", "value": True, "kind": "security"}, "conditions.0.kind"),
        ({"subject": "gated", "operator": "is"}, "conditions.0.value"),
        ({"subject": "gated", "operator": "is", "value": True, "extra": 1}, "conditions.0.extra"),
    ],
)
def test_an_invalid_condition_is_a_400_naming_the_condition_and_field(client, admin, condition, field):
    response = post(
        client, POLICIES, {**CN_NEEDS_AUDIT, "conditions": [CN_NEEDS_AUDIT["conditions"][0], condition]}, admin
    )

    assert response.status_code == 400
    assert field.replace("conditions.0", "conditions.1") in fields_of(response)
    assert not Policy.objects.filter(name=CN_NEEDS_AUDIT["name"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "block"}, "action"),
        ({"name": "Not A Slug"}, "name"),
        ({"conditions": []}, "conditions"),
        ({"environments": "prod"}, "environments"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_an_invalid_definition_is_a_400_naming_the_field(client, admin, change, field):
    response = post(client, POLICIES, {**CN_NEEDS_AUDIT, **change}, admin)

    assert response.status_code == 400
    assert field in fields_of(response)


def test_a_policy_name_is_taken_once(client, admin):
    post(client, POLICIES, CN_NEEDS_AUDIT, admin)

    response = post(client, POLICIES, CN_NEEDS_AUDIT, admin)

    assert response.status_code == 400
    assert fields_of(response) == {"name"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPLOYER, Role.EDITOR, Role.AUDITOR])
def test_only_admins_write_policies(client, admin, role):
    policy = post(client, POLICIES, CN_NEEDS_AUDIT, admin).json()
    headers = token(role)

    refused = [
        post(client, POLICIES, {**CN_NEEDS_AUDIT, "name": "other"}, headers),
        client.patch(
            f"{POLICIES}{policy['id']}/", {"enabled": False}, content_type="application/json", headers=headers
        ),
        post(client, f"{POLICIES}dry-run/", NO_LICENSE_WARNS, headers),
    ]

    assert [response.status_code for response in refused] == [403, 403, 403]
    assert client.get(f"{POLICIES}{policy['id']}/", headers=headers).status_code == 200
    assert Policy.objects.get(pk=policy["id"]).version == 1


def test_each_edit_is_a_new_version_listed_newest_first_without_if_match(client, admin):
    policy = post(client, POLICIES, CN_NEEDS_AUDIT, admin).json()
    detail = f"{POLICIES}{policy['id']}/"

    edited = client.patch(detail, {"action": "warn"}, content_type="application/json", headers=admin)
    unchanged = client.patch(detail, {"action": "warn"}, content_type="application/json", headers=admin)
    invalid = client.patch(
        detail,
        {"conditions": [{"subject": "gated", "operator": "gt", "value": 1}]},
        content_type="application/json",
        headers=admin,
    )

    assert (edited.status_code, edited.json()["version"], edited.json()["action"]) == (200, 2, "warn")
    assert unchanged.json()["version"] == 2
    assert invalid.status_code == 400
    assert fields_of(invalid) == {"conditions.0.operator"}
    versions = client.get(policy["links"]["versions"], headers=token(Role.VIEWER)).json()["results"]
    assert [(version["version"], version["definition"]["action"]) for version in versions] == [(2, "warn"), (1, "fail")]
    assert versions[0]["written_by"] == "token:the-admin"
    assert changes_of(Policy.objects.get(pk=policy["id"])) == ["create", "update"]


def test_policies_are_filtered_by_enabled_and_action(client, admin):
    post(client, POLICIES, CN_NEEDS_AUDIT, admin)
    post(client, POLICIES, {**NO_LICENSE_WARNS, "enabled": False}, admin)
    viewer = token(Role.VIEWER)

    def names(query: str) -> set[str]:
        response = client.get(f"{POLICIES}?{query}", headers=viewer)
        assert response.status_code == 200, response.content
        return {policy["name"] for policy in response.json()["results"]}

    # The example policies (governance/migrations) are there too, disabled.
    assert "cn-derived-needs-security-audit" in names("action=fail")
    assert not {"unknown-license-warns", "cn-derived-needs-security-audit"} & names("action=warn&enabled=true")
    assert "unknown-license-warns" in names("enabled=false&action=warn")
    assert names("enabled=true") == {"cn-derived-needs-security-audit"}
    assert client.get(f"{POLICIES}?action=block", headers=viewer).status_code == 400


def test_a_dry_run_lists_what_the_policy_would_flag_and_saves_nothing(client, admin, inventory):
    policies_before, changes_before = Policy.objects.count(), ChangeLogEntry.objects.count()

    response = post(
        client, f"{POLICIES}dry-run/", {key: value for key, value in CN_NEEDS_AUDIT.items() if key != "name"}, admin
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["flagged_count"], body["truncated"], body["limit"]) == (2, False, 100)
    assert {flagged["model"] for flagged in body["models"]} == {
        "huggingface:us-lab/cn-child",
        "huggingface:cn-lab/base",
    }
    assert "effective_origin contains_any ['CN']" in body["models"][0]["message"]
    assert (Policy.objects.count(), ChangeLogEntry.objects.count()) == (policies_before, changes_before)
    invalid = post(client, f"{POLICIES}dry-run/", {**NO_LICENSE_WARNS, "conditions": [{"subject": "x"}]}, admin)
    assert invalid.status_code == 400
    assert "conditions.0.subject" in fields_of(invalid)


def test_a_dry_run_lists_at_most_its_limit_and_says_so(client, admin, inventory, monkeypatch):
    monkeypatch.setattr("api.governance.policies.DRY_RUN_LIMIT", 1)

    body = post(client, f"{POLICIES}dry-run/", NO_LICENSE_WARNS, admin).json()

    assert (body["flagged_count"], len(body["models"]), body["truncated"], body["limit"]) == (3, 1, True, 1)


# --- Violations -----------------------------------------------------------------------------------


def test_violations_are_listed_with_filters(client, inventory, two_policies):
    viewer = token(Role.VIEWER)
    warn_policy = two_policies["unknown-license-warns"]["id"]

    def models(query: str) -> set[str]:
        response = client.get(f"{VIOLATIONS}?{query}", headers=viewer)
        assert response.status_code == 200, response.content
        return {violation["model"] for violation in response.json()["results"]}

    assert models(f"policy={warn_policy}") == {
        "huggingface:us-lab/unlicensed",
        "huggingface:us-lab/cn-child",
        "huggingface:cn-lab/base",
    }
    assert models("action=fail") == {"huggingface:us-lab/cn-child", "huggingface:cn-lab/base"}
    assert models(f"model={inventory['clean'].pk}") == set()
    assert models("state=open&action=fail") == models("action=fail")
    assert models("state=waived") == set()
    one = client.get(f"{VIOLATIONS}?model={inventory['cn_child'].pk}&action=fail", headers=viewer).json()["results"][0]
    assert (one["policy_name"], one["action"], one["state"]) == ("cn-derived-needs-security-audit", "fail", "open")
    assert client.get(one["links"]["self"], headers=viewer).json()["id"] == one["id"]
    assert client.get(f"{VIOLATIONS}?state=closed", headers=viewer).status_code == 400


def test_an_auditor_waives_an_open_violation_until_it_reopens_by_itself(client, inventory, two_policies):
    auditor = token(Role.AUDITOR, "the-auditor")
    violation = Violation.objects.get(model=inventory["unlicensed"])
    until = timezone.now() + timedelta(days=7)
    waive = f"{VIOLATIONS}{violation.pk}/waive/"

    response = post(client, waive, {"reason": "license cleared by legal", "expires_at": until.isoformat()}, auditor)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["waived_by"], body["waiver_reason"]) == (
        "waived",
        "token:the-auditor",
        "license cleared by legal",
    )
    assert changes_of(violation)[-1] == "waive"
    again = post(client, waive, {"reason": "twice", "expires_at": until.isoformat()}, auditor)
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert client.get(f"{VIOLATIONS}?state=waived", headers=auditor).json()["results"][0]["id"] == violation.pk
    with time_machine.travel(until + timedelta(minutes=1)):
        assert client.get(f"{VIOLATIONS}{violation.pk}/", headers=auditor).json()["state"] == "open"
        assert violation.pk in {
            row["id"] for row in client.get(f"{VIOLATIONS}?state=open", headers=auditor).json()["results"]
        }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "ok", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"reason": "", "expires_at": "2999-01-01T00:00:00Z"}, "reason"),
        ({"reason": "ok"}, "expires_at"),
        ({"reason": "ok", "expires_at": "2999-01-01T00:00:00Z", "until": "x"}, "until"),
    ],
)
def test_a_waiver_needs_a_reason_and_a_future_end(client, inventory, two_policies, body, field):
    violation = Violation.objects.get(model=inventory["unlicensed"])

    response = post(client, f"{VIOLATIONS}{violation.pk}/waive/", body, token(Role.AUDITOR))

    assert response.status_code == 400
    assert field in fields_of(response)
    violation.refresh_from_db()
    assert violation.state == "open"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPLOYER, Role.EDITOR])
def test_only_auditors_waive(client, inventory, two_policies, role):
    violation = Violation.objects.get(model=inventory["unlicensed"])

    response = post(
        client, f"{VIOLATIONS}{violation.pk}/waive/", {"reason": "r", "expires_at": "2999-01-01T00:00:00Z"}, token(role)
    )

    assert response.status_code == 403


# --- Overrides ------------------------------------------------------------------------------------


def test_an_admin_grants_and_revokes_an_override_each_in_the_change_log(client, admin, inventory):
    until = timezone.now() + timedelta(hours=4)
    body = {
        "model": "huggingface:us-lab/cn-child",
        "environment": "prod",
        "reason": "incident 42",
        "expires_at": until.isoformat(),
    }

    created = post(client, OVERRIDES, body, admin)

    assert created.status_code == 201, created.content
    granted = created.json()
    assert (granted["model"], granted["active"], granted["created_by"]) == (
        "huggingface:us-lab/cn-child",
        True,
        "token:the-admin",
    )
    listed = client.get(f"{OVERRIDES}?model={inventory['cn_child'].pk}", headers=token(Role.VIEWER)).json()["results"]
    assert [item["id"] for item in listed] == [granted["id"]]
    revoked = post(client, granted["revoke"], {}, admin)
    assert (revoked.status_code, revoked.json()["active"]) == (200, False)
    assert revoked.json()["revoked_at"] is not None
    assert changes_of(Override.objects.get(pk=granted["id"])) == ["create", "revoke"]
    with time_machine.travel(until + timedelta(minutes=1)):
        post(client, OVERRIDES, {**body, "expires_at": (until + timedelta(hours=1)).isoformat()}, admin)
        assert [item["active"] for item in client.get(OVERRIDES, headers=admin).json()["results"]] == [True, False]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "huggingface:nobody/unknown"}, "model"),
        ({"model": "huggingface:us-lab/clean@" + REVISION}, "model"),
        ({"model": "not a reference"}, "model"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"reason": ""}, "reason"),
        ({"environment": ""}, "environment"),
    ],
)
def test_an_override_names_a_model_of_the_inventory_a_reason_and_a_future_end(client, admin, inventory, change, field):
    body = {
        "model": "huggingface:us-lab/clean",
        "environment": "prod",
        "reason": "incident",
        "expires_at": "2999-01-01T00:00:00Z",
        **change,
    }

    response = post(client, OVERRIDES, body, admin)

    assert response.status_code == 400
    assert field in fields_of(response)
    assert not Override.objects.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPLOYER, Role.EDITOR, Role.AUDITOR])
def test_only_admins_grant_and_revoke_overrides(client, admin, inventory, role):
    body = {
        "model": "huggingface:us-lab/clean",
        "environment": "prod",
        "reason": "r",
        "expires_at": "2999-01-01T00:00:00Z",
    }
    granted = post(client, OVERRIDES, body, admin).json()

    assert post(client, OVERRIDES, body, token(role)).status_code == 403
    assert post(client, granted["revoke"], {}, token(role)).status_code == 403
    assert Override.objects.get().revoked_at is None


# --- The gate -------------------------------------------------------------------------------------


def ask(client, headers, reference: str, environment: str = "prod", **body: object) -> dict:
    response = post(client, GATE, {"model": reference, "environment": environment, **body}, headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_gate_allows_warns_and_denies_through_http(client, deployer, inventory, two_policies):
    allowed = ask(client, deployer, "huggingface:us-lab/clean")
    warned = ask(client, deployer, "huggingface:us-lab/unlicensed", system="support-bot")
    denied = ask(client, deployer, "pkg:huggingface/us-lab/cn-child")
    elsewhere = ask(client, deployer, "huggingface:us-lab/cn-child", environment="staging")

    assert (allowed["decision"], allowed["reasons"], allowed["revision"]) == ("allow", [], REVISION)
    assert allowed["model"] == {
        "id": inventory["clean"].pk,
        "purl": f"pkg:huggingface/us-lab/clean@{REVISION}",
        "effective_origin": ["US"],
        "audit_status": "unaudited",
        "publisher": {"name": "us-lab", "country": "US"},
        "license": "MIT",
        "team": "",
    }
    assert warned["decision"] == "warn"
    assert warned["reasons"] == [
        {
            "policy": "unknown-license-warns",
            "action": "warn",
            "message": "license_unknown is True (it is True)",
            "waived": False,
        }
    ]
    assert denied["decision"] == "deny"
    assert {(reason["policy"], reason["action"]) for reason in denied["reasons"]} == {
        ("cn-derived-needs-security-audit", "fail"),
        ("unknown-license-warns", "warn"),
    }
    assert denied["model"]["effective_origin"] == ["CN", "US"]
    assert denied["revision"] is None
    assert elsewhere["decision"] == "warn"  # the fail policy is for prod only
    recorded = GateDecision.objects.get(pk=warned["decision_id"])
    assert (recorded.actor_name, recorded.system, recorded.decision) == ("token:pipeline", "support-bot", "warn")
    assert client.get(warned["links"]["decision"], headers=deployer).json()["id"] == warned["decision_id"]
    assert warned["links"]["model"].endswith(f"/api/v1/models/{inventory['unlicensed'].pk}/")


def test_a_waived_violation_is_said_and_does_not_count(client, deployer, inventory, two_policies):
    violation = Violation.objects.get(model=inventory["unlicensed"])
    post(
        client,
        f"{VIOLATIONS}{violation.pk}/waive/",
        {"reason": "ok", "expires_at": "2999-01-01T00:00:00Z"},
        token(Role.AUDITOR),
    )

    answer = ask(client, deployer, "huggingface:us-lab/unlicensed")

    assert answer["decision"] == "allow"
    assert [reason["waived"] for reason in answer["reasons"]] == [True]


def test_a_model_not_in_the_inventory_is_a_200_deny_with_no_model(client, deployer, inventory):
    answer = ask(client, deployer, "huggingface:nobody/unknown-model")

    assert (answer["decision"], answer["model"], answer["revision"]) == ("deny", None, None)
    assert "not in the inventory" in answer["reasons"][0]["message"]
    assert answer["links"]["model"] is None
    unknown_revision = ask(client, deployer, "huggingface:us-lab/clean@" + "f" * 40)
    assert unknown_revision["decision"] == "deny"
    assert "is not recorded" in unknown_revision["reasons"][0]["message"]


def test_the_gate_checks_each_file_by_sha256_or_git_blob_id(client, deployer, inventory, two_policies):
    reference = f"huggingface:us-lab/clean@{REVISION}"
    matching = [
        {"path": "model.safetensors", "sha256": WEIGHTS_SHA.upper(), "blob_id": "9" * 40},
        {"path": "config.json", "sha256": "5" * 64, "blob_id": CONFIG_BLOB},
    ]

    same = ask(client, deployer, reference, artifacts=matching)
    changed = ask(client, deployer, reference, artifacts=[{**matching[0], "sha256": "4" * 64}, matching[1]])
    small_changed = ask(client, deployer, reference, artifacts=[{**matching[1], "blob_id": "6" * 40}])
    unknown = ask(client, deployer, reference, artifacts=[{"path": "extra.bin", "sha256": WEIGHTS_SHA}])

    assert (same["decision"], same["reasons"]) == ("allow", [])
    assert changed["decision"] == "deny"
    assert changed["reasons"] == [
        {
            "policy": None,
            "action": "fail",
            "waived": False,
            "message": "file model.safetensors differs: its sha256 is not the recorded one",
        }
    ]
    assert small_changed["decision"] == "deny"
    assert "config.json differs" in small_changed["reasons"][0]["message"]
    assert unknown["decision"] == "deny"
    assert "extra.bin is not among" in unknown["reasons"][0]["message"]
    assert GateDecision.objects.get(pk=changed["decision_id"]).artifacts[0]["problem"].startswith("file model")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "not a reference"}, "model"),
        ({"model": "huggingface:us-lab/clean", "environment": ""}, "environment"),
        ({"model": None}, "model"),
        ({"model": 5}, "model"),
        ({"environment": None}, "environment"),
        ({"artifacts": [{"path": "a", "sha256": "z" * 64}]}, "artifacts.0.sha256"),
        ({"artifacts": [{"path": "a", "sha256": "1" * 63}]}, "artifacts.0.sha256"),
        ({"artifacts": [{"path": "a", "sha256": "1" * 64, "blob_id": "1" * 64}]}, "artifacts.0.blob_id"),
        ({"artifacts": [{"path": "", "sha256": "1" * 64}]}, "artifacts.0.path"),
        ({"artifacts": [{"path": "a", "sha256": "1" * 64}, {"path": "a", "sha256": "2" * 64}]}, "artifacts.1.path"),
        ({"artifacts": [{"path": "a", "sha256": "1" * 64, "size": 3}]}, "artifacts.0.size"),
        ({"artifacts": [{"path": f"f{n}", "sha256": "1" * 64} for n in range(2001)]}, "artifacts"),
        ({"artifacts": "all"}, "artifacts"),
        ({"revision": REVISION}, "revision"),
    ],
)
def test_only_a_malformed_request_is_a_400_naming_the_field(client, deployer, inventory, body, field):
    response = post(client, GATE, {"model": "huggingface:us-lab/clean", "environment": "prod", **body}, deployer)

    assert response.status_code == 400
    assert field in fields_of(response)
    assert not GateDecision.objects.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AUDITOR])
def test_viewers_and_auditors_do_not_ask_the_gate(client, inventory, role):
    response = post(client, GATE, {"model": "huggingface:us-lab/clean", "environment": "prod"}, token(role))

    assert response.status_code == 403
    assert not GateDecision.objects.exists()


def test_break_glass_lets_a_denied_model_through_until_it_expires_or_is_revoked(
    client, admin, deployer, inventory, two_policies
):
    until = timezone.now() + timedelta(hours=2)
    granted = post(
        client,
        OVERRIDES,
        {
            "model": "huggingface:us-lab/cn-child",
            "environment": "prod",
            "reason": "incident 42",
            "expires_at": until.isoformat(),
        },
        admin,
    ).json()

    overridden = ask(client, deployer, "huggingface:us-lab/cn-child")

    assert overridden["decision"] == "allow"
    assert "break-glass override by token:the-admin" in overridden["reasons"][-1]["message"]
    assert "incident 42" in overridden["reasons"][-1]["message"]
    assert ask(client, deployer, "huggingface:us-lab/cn-child", environment="staging")["decision"] == "warn"
    assert GateDecision.objects.get(pk=overridden["decision_id"]).override_id == granted["id"]
    with time_machine.travel(until + timedelta(minutes=1)):
        assert ask(client, deployer, "huggingface:us-lab/cn-child")["decision"] == "deny"
    post(client, granted["revoke"], {}, admin)
    assert ask(client, deployer, "huggingface:us-lab/cn-child")["decision"] == "deny"


# --- Recorded decisions ---------------------------------------------------------------------------


@pytest.fixture
def decided(client, deployer, inventory, two_policies) -> dict[str, dict]:
    return {
        "allow": ask(client, deployer, "huggingface:us-lab/clean", system="=HYPERLINK(1)"),
        "warn": ask(client, deployer, "huggingface:us-lab/unlicensed", environment="staging"),
        "deny": ask(client, deployer, "huggingface:us-lab/cn-child"),
    }


def test_decisions_are_listed_with_filters(client, inventory, decided):
    auditor = token(Role.AUDITOR)

    def ids(query: str) -> set[int]:
        response = client.get(f"{DECISIONS}?{query}", headers=auditor)
        assert response.status_code == 200, response.content
        return {decision["id"] for decision in response.json()["results"]}

    every = {answer["decision_id"] for answer in decided.values()}
    assert ids("") == every
    assert ids("decision=deny") == {decided["deny"]["decision_id"]}
    assert ids("environment=staging") == {decided["warn"]["decision_id"]}
    assert ids(f"model={inventory['clean'].pk}") == {decided["allow"]["decision_id"]}
    assert ids(f"since={(timezone.now() - timedelta(minutes=5)).isoformat().replace('+', '%2B')}") == every
    assert ids(f"until={(timezone.now() - timedelta(minutes=5)).isoformat().replace('+', '%2B')}") == set()
    one = client.get(f"{DECISIONS}{decided['deny']['decision_id']}/", headers=auditor).json()
    assert one["facts"]["effective_origin"] == ["CN", "US"]
    assert one["policy_versions"] == {"cn-derived-needs-security-audit": 1, "unknown-license-warns": 1}
    assert client.get(f"{DECISIONS}?decision=maybe", headers=auditor).status_code == 400


def test_decisions_export_as_csv_honoring_the_filters(client, decided):
    auditor = token(Role.AUDITOR)

    response = client.get(f"{DECISIONS}export/", headers={**auditor, "Accept": "text/csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["decision"] for row in rows] == ["deny", "warn", "allow"]  # newest first
    deny = rows[0]
    assert (deny["actor"], deny["reference"], deny["environment"]) == (
        "token:pipeline",
        "huggingface:us-lab/cn-child",
        "prod",
    )
    assert deny["policy_versions"] == "cn-derived-needs-security-audit v1; unknown-license-warns v1"
    assert "[fail] cn-derived-needs-security-audit: effective_origin contains_any" in deny["reasons"]
    assert rows[2]["revision"] == REVISION
    assert rows[2]["system"] == "'=HYPERLINK(1)"  # no formula for a spreadsheet to run
    filtered = client.get(f"{DECISIONS}export/?decision=warn", headers=auditor)
    assert [row["decision"] for row in csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode()))] == [
        "warn"
    ]
    refused = client.get(f"{DECISIONS}export/?decision=maybe", headers={**auditor, "Accept": "text/csv"})
    assert (refused.status_code, refused["Content-Type"]) == (400, "application/problem+json")


def test_the_gates_writes_are_the_decisions_and_the_change_log_rows_of_each_write(client, admin, deployer, inventory):
    changes_before = ChangeLogEntry.objects.count()

    ask(client, deployer, "huggingface:us-lab/clean")

    assert ChangeLogEntry.objects.count() == changes_before  # a decision is its own record
    assert GateDecision.objects.count() == 1


def test_a_gate_call_over_http_makes_as_many_queries_for_deep_lineage_and_many_policies(client, admin, deployer):
    lab = publisher("deep-lab", "FR")
    parent = "deep-lab/m0"
    model(parent, lab)
    for depth in range(1, 11):
        child = model(f"deep-lab/m{depth}", lab)
        derive_from(child, parent)
        parent = f"deep-lab/m{depth}"

    def queries(reference: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            ask(client, deployer, reference)
        return len(captured)

    post(client, POLICIES, NO_LICENSE_WARNS, admin)
    ask(client, deployer, "huggingface:deep-lab/m0")  # the token's first use records it (once)
    shallow, deep = queries("huggingface:deep-lab/m1"), queries("huggingface:deep-lab/m10")
    for number in range(19):
        post(client, POLICIES, {**NO_LICENSE_WARNS, "name": f"warns-{number}"}, admin)
    first_after_the_change = queries("huggingface:deep-lab/m10")
    many_policies = queries("huggingface:deep-lab/m10")

    assert shallow == deep == many_policies
    assert first_after_the_change == many_policies + 1  # the enabled policies, read again once


def test_the_gate_sees_a_policy_another_process_wrote_since_it_last_read_them(client, admin, deployer, inventory):
    post(client, POLICIES, NO_LICENSE_WARNS, admin)
    assert ask(client, deployer, "huggingface:us-lab/unlicensed")["decision"] == "warn"  # read and kept

    # As another process's create_policy commits it: a policy and its version, none of this process's doing.
    definition = {**CN_NEEDS_AUDIT, "name": "written-elsewhere", "environments": [], "action": "fail",
                  "conditions": [{"subject": "license_unknown", "operator": "is", "value": True}]}  # fmt: skip
    elsewhere = Policy.objects.create(**definition)
    PolicyVersion.objects.create(policy=elsewhere, version=1, definition=definition, actor_name="elsewhere")

    answer = ask(client, deployer, "huggingface:us-lab/unlicensed")
    assert answer["decision"] == "deny"
    assert "written-elsewhere" in {reason["policy"] for reason in answer["reasons"]}
