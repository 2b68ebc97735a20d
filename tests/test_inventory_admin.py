"""The admin writes through the services: the change log and the recomputations follow its edits."""

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

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


def test_every_inventory_model_has_a_name_that_reads_right():
    names = {
        model._meta.model_name: str(model._meta.verbose_name_plural)
        for model in apps.get_app_config("inventory").get_models()
    }

    assert names["licensealias"] == "license aliases"
    assert names["modelalias"] == "model aliases"
    assert names["origincountry"] == "origin countries"
    assert names["aimodel"] == "models"
    for plural in names.values():
        assert not re.search(r"(ss|ys|xs|chs|shs)$", plural), plural


def test_the_admin_is_titled_as_the_product(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "<title>Administration | Model Provenance Registry</title>" in page
    assert "Model Provenance Registry" in page
    assert "Django administration" not in page
    assert "License aliases" in page
    assert "Model aliases" in page


def cross_border_chain() -> tuple[AIModel, AIModel, AIModel]:
    """A French base, a US fine-tune of it, and a model of a publisher with no country."""
    base = model("fr-lab/base", publisher("fr-lab", "FR"))
    child = model("us-lab/child", publisher("us-lab", "US"))
    derive_from(child, base.upstream_id)
    stray = model("nowhere/stray", publisher("nowhere"))
    return base, child, stray


def listed(admin_client, query: str = "") -> list[str]:
    page = admin_client.get(f"/admin/inventory/aimodel/{query}")
    assert page.status_code == 200
    return sorted(row.upstream_id for row in page.context["cl"].result_list)


def test_the_model_list_shows_each_models_effective_origin(admin_client):
    _, child, _ = cross_border_chain()

    page = admin_client.get("/admin/inventory/aimodel/")

    assert "effective origin" in page.content.decode().lower()
    row = next(row for row in page.context["cl"].result_list if row.pk == child.pk)
    assert page.context["cl"].model_admin.effective_origin(row) == "FR, US"


def test_the_model_list_filters_by_effective_origin_and_by_publisher_country_apart(admin_client):
    cross_border_chain()

    assert listed(admin_client, "?origin=FR") == ["fr-lab/base", "us-lab/child"], "the US child has a French base"
    assert listed(admin_client, "?publisher_country=FR") == ["fr-lab/base"]
    assert listed(admin_client, "?origin=US") == ["us-lab/child"]
    assert listed(admin_client, "?origin=unknown") == ["nowhere/stray"]
    assert listed(admin_client, "?publisher_country=unknown") == ["nowhere/stray"]
    by_id_descending = admin_client.get("/admin/inventory/aimodel/?origin=FR&o=-1").context["cl"].result_list
    assert [row.upstream_id for row in by_id_descending] == ["us-lab/child", "fr-lab/base"], "a filter keeps the order"
    filters = admin_client.get("/admin/inventory/aimodel/").content.decode()
    assert "By effective origin" in filters
    assert "By publisher country" in filters


def test_the_model_list_takes_the_same_number_of_queries_whatever_its_length(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/admin/inventory/aimodel/?origin=FR").status_code == 200
        return len(captured)

    lab = publisher("fr-lab", "FR")
    model("fr-lab/first", lab)
    few = queries()
    for number in range(8):
        derive_from(model(f"fr-lab/derived-{number}", lab), "fr-lab/first")

    assert queries() == few
