"""Governance in a real browser: waiving a violation, dry-running and enabling a policy, and the gate
explainer."""

import re

import pytest
from playwright.sync_api import expect

from core.changelog import Actor
from governance import policies, violations
from governance.models import Policy, Violation
from tests.inventory_helpers import derive_from, model, publisher

pytestmark = [pytest.mark.browser]

NO_CN_IN_PROD = {
    "name": "no-cn-origin-in-prod",
    "action": "fail",
    "enabled": True,
    "environments": ["prod"],
    "conditions": [{"subject": "effective_origin", "operator": "contains_any", "value": ["CN"]}],
}


@pytest.fixture
def inventory() -> dict[str, object]:
    """A CN base, a US fine-tune of it (origin CN and US) and a US model with no base."""
    base = model("deeplab/base-7b", publisher("DeepLab", "CN"))
    tuned = model("acme/assistant", publisher("Acme AI", "US"))
    derive_from(tuned, "deeplab/base-7b")
    plain = model("acme/plain", publisher("Acme Other", "US"))
    return {"base": base, "tuned": tuned, "plain": plain}


def flagging_policy(definition: dict, models: list) -> Policy:
    """An enabled policy with its violations evaluated now (what the worker's subscriber does)."""
    policy = policies.create_policy(actor=Actor.system("test"), definition=definition)
    violations.evaluate(model_ids=[m.pk for m in models])
    return policy


def test_waive_a_violation(open_page, make_person, inventory):
    policy = flagging_policy(NO_CN_IN_PROD, list(inventory.values()))
    violation = Violation.objects.get(policy=policy, model=inventory["tuned"])
    page = open_page(make_person("ana", "auditor"))

    page.goto("/violations/")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)  # the base and the fine-tune; the US model alone is not flagged
    row = rows.filter(has_text="acme/assistant")
    expect(row).to_contain_text("open")
    row.get_by_role("link", name="Waive").click()

    expect(page).to_have_url(re.compile(rf"/violations/{violation.pk}/waive/"))
    page.get_by_label("Reason").fill("Accepted for the pilot; re-checked monthly.")
    page.get_by_label("Expires at").fill("2999-01-01T12:00")
    page.get_by_role("button", name="Waive").click()

    expect(page.locator("ul.messages")).to_contain_text("waived until 2999-01-01")
    expect(page.locator("dl")).to_contain_text("waived")
    violation.refresh_from_db()
    assert violation.waiver_reason == "Accepted for the pilot; re-checked monthly."
    assert violation.waived_by == "ana"

    page.goto("/violations/?state=waived")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text("by ana until 2999-01-01")


def test_dry_run_a_new_policy_then_save_and_enable_it(open_page, make_person, inventory):
    page = open_page(make_person("root", "admin"))
    page.goto("/policies/")
    page.get_by_role("link", name="New policy").click()

    page.get_by_label("Name", exact=True).fill("us-publishers-warn")
    page.get_by_label("Action", exact=True).select_option("warn")
    conditions = '[{"subject": "publisher_country", "operator": "is", "value": "US"}]'
    page.get_by_label("Conditions", exact=True).fill(conditions)
    page.get_by_role("button", name="Dry run (saves nothing)").click()

    results = page.locator("#dry-run-results")  # answered by htmx in place, the form kept as typed
    expect(results).to_contain_text("2 models would be flagged now")
    expect(results).to_contain_text("acme/assistant")
    expect(results).to_contain_text("acme/plain")
    expect(results).not_to_contain_text("deeplab/base-7b")
    expect(page).to_have_url(re.compile(r"/policies/new/$"))
    assert not Policy.objects.filter(name="us-publishers-warn").exists()
    open_page.snap(page, "dry-run")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/policies/\d+/$"))
    policy = Policy.objects.get(name="us-publishers-warn")
    assert page.url.endswith(f"/policies/{policy.pk}/")
    assert policy.enabled is False  # saved disabled: it flags nothing yet

    page.goto("/policies/")
    page.get_by_role("button", name="Enable us-publishers-warn").click()

    expect(page.locator("ul.messages")).to_contain_text("is enabled (version 2)")
    row = page.locator("table tbody tr", has_text="us-publishers-warn")
    expect(row).to_contain_text("enabled")
    expect(row.get_by_role("button", name="Disable us-publishers-warn")).to_be_visible()
    policy.refresh_from_db()
    assert (policy.enabled, policy.version) == (True, 2)


def test_the_gate_explainer_gives_the_decision_and_every_reason(open_page, make_person, inventory):
    flagging_policy(NO_CN_IN_PROD, list(inventory.values()))
    page = open_page(make_person("dana", "deployer"))

    page.goto("/gate/")
    page.get_by_label("Model reference").fill("huggingface:acme/assistant")
    page.get_by_label("Environment").fill("prod")
    page.get_by_role("button", name="Ask the gate").click()

    answer = page.locator("section.gate-answer")
    expect(answer.locator("h2")).to_contain_text("deny")
    expect(answer).to_contain_text("no-cn-origin-in-prod")
    expect(answer.locator("table")).to_contain_text("fail")
    expect(answer.locator("dl.facts")).to_contain_text("CN, US")
    open_page.snap(page, "deny")

    page.get_by_label("Environment").fill("staging")  # the policy is scoped to prod
    page.get_by_role("button", name="Ask the gate").click()
    expect(answer.locator("h2")).to_contain_text("allow")
    expect(answer).to_contain_text("No policy flags it.")

    page.get_by_role("link", name="recorded decisions").first.click()
    expect(page.locator("table tbody tr")).to_have_count(2)  # each answer was recorded
