"""The admin writes through the services: the change log and the recomputations follow its edits."""

import pytest

from core.models import ChangeLogEntry
from inventory.models import AIModel
from tests.inventory_helpers import derive_from, model, origin_of, publisher

pytestmark = pytest.mark.django_db


def test_a_country_changed_in_the_admin_updates_the_descendants(admin_client, admin_user):
    lab = publisher("some-lab", "FR")
    base = model("some-lab/base", lab)
    child = model("us/child", publisher("us-lab", "US"))
    derive_from(child, base.upstream_id)

    response = admin_client.post(
        f"/admin/inventory/publisher/{lab.pk}/change/",
        {"display_name": "Some Lab", "country": "CN", "country_source": "", "parent": "", "website": ""},
    )

    assert response.status_code == 302, response.content
    assert origin_of(child) == {"US", "CN"}
    row = ChangeLogEntry.objects.filter(object_type="inventory.publisher", action="update").get()
    assert (row.actor_kind, row.actor_name, row.before["country"], row.after["country"]) == (
        "user",
        admin_user.username,
        "FR",
        "CN",
    )


def test_a_bad_country_in_the_admin_is_shown_on_the_field(admin_client):
    lab = publisher("some-lab", "FR")

    response = admin_client.post(f"/admin/inventory/publisher/{lab.pk}/change/", {"country": "XX", "parent": ""})

    assert response.status_code == 200
    assert "is not an ISO 3166-1 alpha-2 country code" in response.content.decode()
    lab.refresh_from_db()
    assert lab.country == "FR"


def test_a_model_added_in_the_admin_is_registered_through_the_service(admin_client):
    response = admin_client.post(
        "/admin/inventory/aimodel/add/",
        {"source": "huggingface", "upstream_id": "mistralai/Mistral-7B-v0.1", "tags": "[]", "description": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    created = AIModel.objects.get()
    assert created.publisher.name == "mistralai", "the catalogue knows the namespace"
    assert origin_of(created) == {"FR"}


def test_every_inventory_page_of_the_admin_renders(admin_client):
    base = model("org/base", publisher("org", "US"))
    for name in (
        "publisher",
        "publishernamespace",
        "license",
        "licensealias",
        "aimodel",
        "modelalias",
        "lineageedge",
        "revision",
        "artifact",
        "deployment",
    ):
        assert admin_client.get(f"/admin/inventory/{name}/").status_code == 200, name
    page = admin_client.get(f"/admin/inventory/aimodel/{base.pk}/change/")
    assert page.status_code == 200
    assert "pkg:huggingface/org/base" in page.content.decode()
