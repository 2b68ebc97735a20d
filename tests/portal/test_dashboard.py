"""The dashboard: each chart counts what its list shows, links to that list, and costs the same
number of queries whatever the inventory's size."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import events
from core.changelog import Actor
from inventory.events import UpstreamChanged
from inventory.models import License
from tests.inventory_helpers import derive_from, model, publisher

pytestmark = [pytest.mark.django_db]


def bars(html: str) -> dict[str, tuple[str, int]]:
    """Each bar's link and count by its label ("<label>: <count>" is the bar's title)."""
    found = re.findall(r'<a href="([^"]+)" class="bar">\s*<title>([^<]+): (\d+)</title>', html)
    return {label: (href.replace("&amp;", "&"), int(count)) for href, label, count in found}


def inventory(size: int) -> None:
    cn, us = publisher(f"zz-cn-{size}", "CN"), publisher(f"zz-us-{size}", "US")
    model(f"zz-cn-{size}/base", cn)
    for number in range(size):
        child = model(f"zz-us-{size}/child-{number}", us, License.objects.get(key="MIT"))
        derive_from(child, f"zz-cn-{size}/base")


def test_the_charts_count_the_inventory_and_link_to_the_filtered_list(client_as):
    inventory(3)
    viewer = client_as("viewer")

    html = viewer.get("/").content.decode()

    shown = bars(html)
    assert shown["CN"] == ("/models/?origin=CN", 4)  # the base and its three descendants
    assert shown["US"] == ("/models/?origin=US", 3)
    assert shown["permissive"] == ("/models/?license_category=permissive", 3)
    assert shown["unaudited"] == ("/models/?audit_status=unaudited", 4)
    listed = viewer.get(shown["CN"][0])
    assert listed.status_code == 200
    assert html.count("<figcaption>") == 5  # origin, license category, audit status, violations, deployments


def test_the_bar_of_models_without_a_license_has_no_link_and_every_link_answers(client_as):
    inventory(2)  # the base has no declared license
    viewer = client_as("viewer")

    html = viewer.get("/").content.decode()

    unlinked = re.findall(r'<g class="bar">\s*<title>([^<]+): (\d+)</title>', html)
    assert ("none", "1") in unlinked, "models without a declared license: drawn, not linked"
    assert "license_category=none" not in html
    for label, (href, _) in bars(html).items():
        assert viewer.get(href).status_code == 200, f"the bar {label} links to {href}"


def test_recent_upstream_changes_name_the_model_and_what_changed(client_as):
    changed = model("zz-lab/changed", publisher("zz-lab", "FR"))
    events.record(
        actor=Actor.system("test"),
        events=[UpstreamChanged(model_id=changed.pk, changes={"license": {"before": "MIT", "after": "other"}})],
    )

    html = client_as("viewer").get("/").content.decode()

    assert f'href="/models/{changed.pk}/">zz-lab/changed</a>' in html
    assert "license" in html.split("Recent upstream changes")[1]


def test_the_dashboard_makes_as_many_queries_for_a_large_inventory_as_for_a_small_one(client_as):
    viewer = client_as("viewer")
    inventory(2)
    with CaptureQueriesContext(connection) as small:
        viewer.get("/")
    inventory(20)
    with CaptureQueriesContext(connection) as large:
        viewer.get("/")

    assert len(small) == len(large)


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/")
