"""Signing in and out in a real browser, and the dashboard that greets a person."""

import re

import pytest
from playwright.sync_api import expect

from tests.inventory_helpers import derive_from, model, publisher
from tests.portal.conftest import PASSWORD

pytestmark = [pytest.mark.browser]


def test_sign_in_lands_on_the_dashboard_and_sign_out_leaves_it(page, make_person):
    make_person("ana", "auditor")
    base = model("qwen-lab/base", publisher("Qwen Lab", "CN"))
    derive_from(model("acme/tuned", publisher("Acme", "US")), "qwen-lab/base")
    assert base.pk

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header")).to_contain_text("ana · auditor")
    expect(page.locator("main svg").first).to_be_visible()  # the server-drawn charts
    expect(page.locator("main")).to_contain_text("effective-origin country")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_a_wrong_password_is_refused_in_the_form(page, make_person):
    make_person("ana")

    page.goto("/login/")
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_the_browser_enforces_the_pages_policy_and_the_tests_see_its_refusals(open_page, make_person):
    page = open_page(make_person("ana"))
    page.goto("/")
    expect(page.locator("main h1").first).to_be_visible()

    # What a template must never do, done by hand: an inline script, an inline handler, an inline style.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.ranInline = true";
            document.body.append(script);
            const div = document.createElement("div");
            div.setAttribute("onclick", "window.ranHandler = true");
            document.body.append(div);
            div.click();
        }"""
    )

    assert page.evaluate("() => [window.ranInline === true, window.ranHandler === true]") == [False, False]
    problems = open_page.problems_of(page)
    assert problems
    assert all("Content Security Policy" in problem for problem in problems), problems
    problems.clear()  # provoked on purpose: the fixture's check at the end must not count them
