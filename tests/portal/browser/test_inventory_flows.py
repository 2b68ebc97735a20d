"""The inventory in a real browser: filtering by effective origin, and a model's lineage picture."""

import re

import pytest
from playwright.sync_api import expect

from tests.inventory_helpers import derive_from, model, publisher

pytestmark = [pytest.mark.browser]


@pytest.fixture
def lineage() -> dict[str, object]:
    """A chain across three countries (CN base, FR distillation, US fine-tune) and a US model alone."""
    base = model("deeplab/base-7b", publisher("DeepLab", "CN"))
    middle = model("frlab/distilled-3b", publisher("FR Lab", "FR"))
    top = model("acme/assistant", publisher("Acme AI", "US"))
    derive_from(middle, "deeplab/base-7b", "distillation")
    derive_from(top, "frlab/distilled-3b", "finetune")
    alone = model("acme/plain", publisher("Acme Other", "US"))
    return {"base": base, "middle": middle, "top": top, "alone": alone}


def test_filter_the_inventory_by_effective_origin_country(open_page, make_person, lineage):
    page = open_page(make_person("vera", "viewer"))
    page.goto("/models/")
    expect(page.locator("table.models tbody tr")).to_have_count(4)

    page.get_by_label("Effective origin").select_option("CN")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/models/\?.*origin=CN"))
    rows = page.locator("table.models tbody tr")
    expect(rows).to_have_count(3)  # the CN base and both models built on it, whatever their publisher's country
    for upstream_id in ("deeplab/base-7b", "frlab/distilled-3b", "acme/assistant"):
        expect(rows.get_by_role("link", name=upstream_id)).to_be_visible()
    expect(page.get_by_role("link", name="acme/plain")).to_have_count(0)
    expect(rows.filter(has_text="acme/assistant")).to_contain_text("CN")
    expect(page.get_by_label("Effective origin")).to_have_value("CN")  # the filter stays in the form and the URL

    shared = page.url
    page.goto(shared)  # a filtered view can be shared as its URL
    expect(page.locator("table.models tbody tr")).to_have_count(3)


def test_a_model_page_draws_its_lineage_with_ancestors_names_and_countries(open_page, make_person, lineage):
    page = open_page(make_person("vera", "viewer"))
    page.goto("/models/")
    page.get_by_role("link", name="acme/assistant").click()

    expect(page).to_have_url(re.compile(rf"/models/{lineage['top'].pk}/$"))
    picture = page.locator("figure.lineage svg")
    expect(picture).to_be_visible()
    expect(picture.locator("title").first).to_contain_text("2 ancestors")
    for text in ("acme/assistant", "frlab/distilled-3b", "country: FR", "deeplab/base-7b", "country: CN",
                 "finetune", "distillation"):  # fmt: skip
        expect(picture).to_contain_text(text)
    ancestors = page.locator(".lineage-text ol").first
    expect(ancestors).to_contain_text("country CN")
    expect(ancestors).to_contain_text("depth 2")
    facts = page.locator("dl.facts", has_text="Effective origin").first
    expect(facts).to_contain_text(re.compile(r"CN, FR, US"))
    open_page.snap(page, "lineage")

    picture.get_by_role("link").filter(has_text="deeplab/base-7b").click()  # each node links to its model
    expect(page).to_have_url(re.compile(rf"/models/{lineage['base'].pk}/$"))
    expect(page.locator("figure.lineage svg")).to_contain_text("acme/assistant")  # a descendant now
