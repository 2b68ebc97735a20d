"""The portal's gate explainer and recorded decisions: the same decision as the API for the same
request (deny for a model not in the inventory, allow for a clean one, warn and deny by policy),
recorded; a malformed reference a 400 naming the field; only roles that register ask (others see
no form and get 403); decisions filtered as the API filters them, with the API's CSV export taking
the session, in as many queries for few and many."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from core.access import principal_for_user, set_user_access
from core.changelog import Actor
from core.models import Role
from core.tokens import issue_token
from governance import gate, violations
from governance.models import GateDecision
from inventory.models import AIModel, License
from inventory.purls import parse_reference
from inventory.services import revisions
from tests.inventory_helpers import derive_from, model, publisher

pytestmark = [pytest.mark.django_db]

ACTOR = Actor.system("test")
REVISION = "e" * 40
CN_NEEDS_AUDIT = {
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


def person(name: str, role: str):
    user = get_user_model().objects.create_user(username=name, password="pw-" + name)
    set_user_access(actor=ACTOR, user=user, role=role, team="")
    return user


def bearer(role: str, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(actor=ACTOR, name=name, role=role).secret}"}


@pytest.fixture
def inventory() -> dict[str, AIModel]:
    us_lab = publisher("us-lab", "US")
    clean = model("us-lab/clean", us_lab, License.objects.get(key="MIT"))
    revisions.add_revision(actor=ACTOR, model=clean, revision=REVISION)
    unlicensed = model("us-lab/unlicensed", us_lab)
    model("cn-lab/base", publisher("cn-lab", "CN"))
    cn_child = model("us-lab/cn-child", us_lab)
    derive_from(cn_child, "cn-lab/base")
    return {"clean": clean, "unlicensed": unlicensed, "cn_child": cn_child}


@pytest.fixture
def policies(client, inventory) -> None:
    admin = bearer(Role.ADMIN, "the-admin")
    for body in (CN_NEEDS_AUDIT, NO_LICENSE_WARNS):
        assert client.post("/api/v1/policies/", body, content_type="application/json", headers=admin).status_code == 201
    violations.evaluate(model_ids=AIModel.objects.values_list("pk", flat=True))


@pytest.fixture
def deployer():
    return person("deployer", "deployer")


def ask_portal(client, reference: str, environment: str = "prod", system: str = ""):
    return client.post(reverse("portal:gate"), {"model": reference, "environment": environment, "system": system})


def ask_api(client, reference: str, environment: str = "prod") -> dict:
    headers = bearer(Role.DEPLOYER, f"pipeline-{GateDecision.objects.count()}")
    response = client.post(
        "/api/v1/gate/",
        {"model": reference, "environment": environment},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.smoke
def test_a_model_not_in_the_inventory_is_denied_and_recorded(client, deployer, inventory):
    client.force_login(deployer)
    response = ask_portal(client, "huggingface:nobody/nothing")
    assert response.status_code == 200
    decision = GateDecision.objects.get()
    assert (decision.decision, decision.model_id, decision.actor_name) == ("deny", None, "deployer")
    page = response.content.decode()
    assert 'class="decision-deny"' in page
    assert "huggingface:nobody/nothing is not in the inventory" in page
    assert f'<span class="decision-id">{decision.pk}</span>' in page


def test_a_clean_model_is_allowed_with_its_summary(client, deployer, inventory, policies):
    client.force_login(deployer)
    response = ask_portal(client, "huggingface:us-lab/clean", system="support-bot")
    decision = GateDecision.objects.get()
    assert (decision.decision, decision.model_id, decision.system, decision.revision) == (
        "allow",
        inventory["clean"].pk,
        "support-bot",
        REVISION,
    )
    page = response.content.decode()
    assert 'class="decision-allow"' in page
    assert f"pkg:huggingface/us-lab/clean@{REVISION}" in page
    assert "unaudited" in page  # the audit status the gate saw
    assert f'href="{reverse("portal:model", args=[inventory["clean"].pk])}"' in page


@pytest.mark.parametrize(
    ("reference", "environment", "expected"),
    [
        ("huggingface:us-lab/clean", "prod", "allow"),
        ("huggingface:us-lab/unlicensed", "prod", "warn"),
        ("pkg:huggingface/us-lab/cn-child", "prod", "deny"),
        ("huggingface:us-lab/cn-child", "staging", "warn"),
        (f"huggingface:us-lab/clean@{'f' * 40}", "prod", "deny"),
        ("huggingface:nobody/nothing", "prod", "deny"),
    ],
)
def test_the_explainer_gives_the_apis_decision_and_reasons(
    client, deployer, inventory, policies, reference, environment, expected
):
    api = ask_api(client, reference, environment)
    client.force_login(deployer)
    response = ask_portal(client, reference, environment)
    assert response.status_code == 200
    recorded = response.context["decision"]
    assert GateDecision.objects.filter(pk=recorded.pk).exists()
    assert (recorded.decision, recorded.reasons) == (api["decision"], api["reasons"])
    assert recorded.decision == expected
    page = response.content.decode()
    for reason in api["reasons"]:
        assert escape(reason["message"]) in page
        assert f'class="badge action-{reason["action"]}"' in page
        if reason["policy"]:
            assert reason["policy"] in page


def test_a_waived_reason_is_shown_as_waived(client, deployer, inventory, policies):
    violation = violations.with_state(
        inventory["unlicensed"].violations.filter(policy__name="unknown-license-warns"), "open"
    ).get()
    violations.waive(
        principal=principal_for_user(person("aud", "auditor")),
        violation=violation,
        reason="accepted",
        until=timezone.now() + timedelta(days=3),
    )
    client.force_login(deployer)
    response = ask_portal(client, "huggingface:us-lab/unlicensed")
    assert response.context["decision"].decision == "allow"
    assert "waived: does not count" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "not a reference", "environment": "prod"}, "model"),
        ({"model": "pkg:npm/left-pad", "environment": "prod"}, "model"),
        ({"model": "huggingface:us-lab/clean", "environment": ""}, "environment"),
        ({"model": "huggingface:us-lab/clean", "environment": "p" * 51}, "environment"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field_and_records_nothing(client, deployer, inventory, body, field):
    client.force_login(deployer)
    response = client.post(reverse("portal:gate"), body)
    assert response.status_code == 400
    assert set(response.context["errors"]) == {field}
    assert 'class="errorlist"' in response.content.decode()
    assert not GateDecision.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_roles_that_do_not_register_see_no_form_and_get_403(client, inventory, role):
    client.force_login(person("someone", role))
    page = client.get(reverse("portal:gate"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="model"' not in html
    assert "Asking the gate is for deployers, editors and admins" in html
    refused = ask_portal(client, "huggingface:us-lab/clean")
    assert refused.status_code == 403
    assert not GateDecision.objects.exists()


@pytest.mark.parametrize("role", ["deployer", "editor", "admin"])
def test_roles_that_register_see_the_form(client, role):
    client.force_login(person("someone", role))
    html = client.get(reverse("portal:gate")).content.decode()
    assert 'id="gate-model" name="model"' in html
    assert '<label for="gate-environment">' in html


# --- Recorded decisions ---------------------------------------------------------------------------


def decide(principal, reference: str, environment: str) -> GateDecision:
    return gate.ask(
        principal=principal, reference=parse_reference(reference), asked_as=reference, environment=environment
    )


def test_decisions_are_listed_newest_first_with_the_apis_filters(client, deployer, inventory, policies):
    asker = principal_for_user(deployer)
    allowed = decide(asker, "huggingface:us-lab/clean", "prod")
    warned = decide(asker, "huggingface:us-lab/unlicensed", "staging")
    denied = decide(asker, "huggingface:us-lab/cn-child", "prod")
    client.force_login(person("reader", "viewer"))

    def shown(query: str = "") -> list[int]:
        response = client.get(reverse("portal:decisions") + query)
        assert response.status_code == 200
        return [row["decision"].pk for row in response.context["rows"]]

    assert shown() == [denied.pk, warned.pk, allowed.pk]
    assert shown("?environment=prod") == [denied.pk, allowed.pk]
    assert shown("?decision=warn") == [warned.pk]
    assert shown(f"?model={inventory['clean'].pk}") == [allowed.pk]
    assert client.get(reverse("portal:decisions") + "?decision=maybe").status_code == 400

    page = client.get(reverse("portal:decisions") + "?environment=prod").content.decode()
    export = reverse("gate-decision-export") + "?environment=prod"
    assert f'href="{export}"' in page
    assert "[fail] cn-derived-needs-security-audit" in page
    csv = client.get(export)  # the API's export takes the session
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert len(lines) == 3  # the header and the two prod decisions


def test_the_decisions_page_makes_as_many_queries_for_few_and_many(client, deployer, inventory):
    asker = principal_for_user(deployer)
    client.force_login(deployer)
    references = ["huggingface:us-lab/clean", "huggingface:us-lab/cn-child", "huggingface:nobody/nothing"]
    for reference in references:
        decide(asker, reference, "prod")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("portal:decisions")).status_code == 200
    for index in range(27):
        decide(asker, references[index % 3], "prod")
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("portal:decisions")).status_code == 200
    assert len(many) == len(few)
