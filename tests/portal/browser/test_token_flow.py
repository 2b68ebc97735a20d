"""API tokens in a real browser: an admin creates one (its secret shown once) and revokes it."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from core.models import ApiToken

pytestmark = [pytest.mark.browser]


def api_status(secret: str) -> int:
    return Client().get("/api/v1/models/", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_create_a_token_see_its_secret_once_and_revoke_it(open_page, make_person):
    page = open_page(make_person("root", "admin"))
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Tokens").click()

    page.get_by_label("Name").fill("ci-pipeline")
    page.get_by_label("Role").select_option("deployer")
    page.get_by_role("button", name="Create token").click()

    secret_box = page.get_by_label("Secret of ci-pipeline")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    assert len(secret) >= 30
    assert api_status(secret) == 200  # it works at once
    token = ApiToken.objects.get(name="ci-pipeline")
    assert (token.role, token.created_by.username) == ("deployer", "root")
    open_page.snap(page, "secret-shown")

    page.goto("/tokens/")  # shown once: never again, not even to the admin who made it
    assert secret not in page.content()
    row = page.locator("table tbody tr", has_text="ci-pipeline")
    expect(row).to_contain_text("deployer")

    row.get_by_role("button", name="Revoke token ci-pipeline").click()

    expect(page.locator("ul.messages")).to_contain_text("Token ci-pipeline revoked.")
    expect(page.locator("table tbody tr", has_text="ci-pipeline")).to_contain_text("revoked")
    assert api_status(secret) == 401
