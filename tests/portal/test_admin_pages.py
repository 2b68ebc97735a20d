"""Catalogue curation, people's roles and API tokens in the portal: admins change them through the
services (a publisher's new country re-derives effective origins), others are refused and see no controls."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.access import create_person, principal_for_user, role_of, set_user_access
from core.changelog import Actor
from core.models import ApiToken, ChangeLogEntry, UserAccess
from core.tokens import issue_token
from inventory.models import License, Publisher
from inventory.services import licenses, publishers
from tests.inventory_helpers import derive_from, license_, model, origin_of, publisher
from tests.portal.conftest import csp_offences

pytestmark = [pytest.mark.django_db]

SYSTEM = Actor.system("test")


def person(username: str, role: str | None = None, team: str = "") -> object:
    user = get_user_model().objects.create_user(username=username, password="a long enough password 1")
    if role:
        set_user_access(actor=SYSTEM, user=user, role=role, team=team)
    return user


@pytest.fixture
def admin_client(client):
    client.force_login(person("ada", "admin"))
    return client


@pytest.fixture
def viewer_client(client):
    client.force_login(person("vic", "viewer"))
    return client


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


# --- catalogue ---------------------------------------------------------------------------------


@pytest.mark.smoke
def test_the_catalogue_lists_publishers_and_licenses(admin_client):
    lab = publisher("zz-lab-cn", "CN")
    publishers.add_namespace(actor=SYSTEM, publisher=lab, source="huggingface", namespace="zz-lab-cn")
    model("zz-lab-cn/one", lab)
    model("zz-lab-cn/two", lab)
    mit = license_("LicenseRef-zz-mit")
    licenses.add_license_alias(actor=SYSTEM, license_=mit, alias="zz-mit-license")
    page = admin_client.get(reverse("portal:catalogue"), {"country": "CN"}).content.decode()
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/catalogue/publishers/\d+/\">zz-lab-cn.*?</tr>", page, re.S)
    assert row, page
    assert "CN" in row.group(0)
    assert "huggingface:zz-lab-cn" in row.group(0)
    assert "<td>2</td>" in row.group(0)
    assert "zz-mit-license" in page
    assert "permissive" in page
    assert reverse("portal:license", args=[mit.pk]) in page


def test_an_admin_changes_a_publisher_country_and_the_origins_follow(admin_client):
    base_lab, tuner = publisher("zz-base-lab", "US"), publisher("zz-tuner", "FR")
    base = model("zz-base-lab/base", base_lab)
    child = model("zz-tuner/child", tuner)
    derive_from(child, "zz-base-lab/base")
    assert origin_of(child) == {"US", "FR"}

    response = admin_client.post(
        reverse("portal:publisher", args=[base_lab.pk]),
        {"display_name": "", "country": "CN", "country_source": "", "parent": "", "website": ""},
    )

    assert response.status_code == 302
    assert Publisher.objects.get(pk=base_lab.pk).country == "CN"
    assert origin_of(base) == {"CN"}
    assert origin_of(child) == {"CN", "FR"}, "the descendant's effective origin is re-derived"
    assert ChangeLogEntry.objects.filter(
        object_type="inventory.publisher", object_id=str(base_lab.pk), action="update"
    ).exists()
    page = admin_client.get(response["Location"]).content.decode()
    assert "Publisher zz-base-lab saved (country)" in page


def test_unknown_is_a_country_too(admin_client):
    lab = publisher("zz-lab", "US")
    owned = model("zz-lab/m", lab)
    response = admin_client.post(reverse("portal:publisher", args=[lab.pk]), {"country": "unknown"})
    assert response.status_code == 302
    assert Publisher.objects.get(pk=lab.pk).country == ""
    assert origin_of(owned) == {"unknown"}


@pytest.mark.parametrize("country", ["XX", "cn", "China"])
def test_an_invalid_country_is_a_400_naming_the_field_and_nothing_is_stored(admin_client, country):
    lab = publisher("zz-lab", "US")
    owned = model("zz-lab/m", lab)
    logged = ChangeLogEntry.objects.count()
    response = admin_client.post(reverse("portal:publisher", args=[lab.pk]), {"country": country, "website": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'class="errorlist" role="alert"><li>Country: [^<]*(ISO|at most)', page), page
    assert Publisher.objects.get(pk=lab.pk).country == "US"
    assert origin_of(owned) == {"US"}
    assert ChangeLogEntry.objects.count() == logged


def test_an_admin_edits_a_license(admin_client):
    terms = license_("LicenseRef-lab", category="permissive")
    response = admin_client.post(
        reverse("portal:license", args=[terms.pk]),
        {
            "name": "Lab license",
            "category": "use-restricted",
            "commercial_use": "conditional",
            "url": "",
            "obligations": '{"user_threshold": 700000000}',
        },
    )
    assert response.status_code == 302
    terms = License.objects.get(pk=terms.pk)
    assert (terms.name, terms.category, terms.commercial_use) == ("Lab license", "use-restricted", "conditional")
    assert terms.obligations == {"user_threshold": 700000000}
    assert ChangeLogEntry.objects.filter(object_type="inventory.license", action="update").exists()


def test_a_bad_license_category_is_a_400_naming_the_field(admin_client):
    terms = license_("LicenseRef-lab")
    response = admin_client.post(
        reverse("portal:license", args=[terms.pk]),
        {"name": "x", "category": "free-ish", "commercial_use": "yes", "obligations": "{}"},
    )
    assert response.status_code == 400
    assert "Category:" in response.content.decode()
    assert License.objects.get(pk=terms.pk).category == "permissive"


def test_a_viewer_reads_the_catalogue_without_controls_and_may_not_change_it(viewer_client):
    lab = publisher("zz-lab", "US")
    terms = license_("LicenseRef-zz")
    page = viewer_client.get(reverse("portal:catalogue"), {"name": "zz-lab"}).content.decode()
    assert "zz-lab" in page
    assert ">Edit<" not in page
    detail = viewer_client.get(reverse("portal:publisher", args=[lab.pk])).content.decode()
    assert "Save publisher" not in detail
    assert 'name="country"' not in detail
    assert viewer_client.post(reverse("portal:publisher", args=[lab.pk]), {"country": "CN"}).status_code == 403
    assert viewer_client.post(reverse("portal:license", args=[terms.pk]), {"name": "x"}).status_code == 403
    assert Publisher.objects.get(pk=lab.pk).country == "US"


def test_the_catalogue_runs_the_same_queries_for_few_and_many(admin_client):
    def add(count: int, start: int) -> None:
        for index in range(start, start + count):
            lab = publisher(f"0-lab-{index:02d}", "US")  # listed first
            publishers.add_namespace(actor=SYSTEM, publisher=lab, source="huggingface", namespace=f"0-lab-{index:02d}")
            model(f"0-lab-{index:02d}/m", lab)
            terms = license_(f"LicenseRef-l{index}")
            licenses.add_license_alias(actor=SYSTEM, license_=terms, alias=f"alias-{index}")

    add(3, 0)
    few = count_queries(admin_client, reverse("portal:catalogue"))
    add(27, 3)
    assert count_queries(admin_client, reverse("portal:catalogue")) == few
    lab = Publisher.objects.get(name="0-lab-00")
    detail = count_queries(admin_client, reverse("portal:publisher", args=[lab.pk]))
    for index in range(10):
        model(f"0-lab-00/extra-{index}", lab)
    assert count_queries(admin_client, reverse("portal:publisher", args=[lab.pk])) == detail


# --- people ------------------------------------------------------------------------------------


def test_people_shows_roles_and_teams_and_a_superuser_as_admin(admin_client):
    person("eve", "editor", team="vision")
    get_user_model().objects.create_superuser(username="root", password="x" * 20)
    page = admin_client.get(reverse("portal:people")).content.decode()
    eve = re.search(r'<tr id="person-\d+">\s*<th scope="row">eve</th>.*?</tr>', page, re.S).group(0)
    assert "<td>editor</td>" in eve
    assert "<td>vision</td>" in eve
    root = re.search(r'<tr id="person-\d+">\s*<th scope="row">root</th>.*?</tr>', page, re.S).group(0)
    assert "admin" in root
    assert "superuser" in root


def test_an_admin_sets_a_role_and_team(admin_client):
    eve = person("eve")
    response = admin_client.post(
        reverse("portal:person", args=[eve.pk]), {f"p{eve.pk}-role": "auditor", f"p{eve.pk}-team": "risk"}
    )
    assert response.status_code == 302
    access = UserAccess.objects.get(user=eve)
    assert (access.role, access.team) == ("auditor", "risk")
    entry = ChangeLogEntry.objects.get(object_type="core.useraccess", object_id=str(access.pk))
    assert entry.actor_name == "ada"
    assert entry.action == "create"


def test_an_unknown_role_is_a_400_naming_the_field(admin_client):
    eve = person("eve", "viewer")
    response = admin_client.post(reverse("portal:person", args=[eve.pk]), {f"p{eve.pk}-role": "overlord"})
    assert response.status_code == 400
    assert "Role:" in response.content.decode()
    assert UserAccess.objects.get(user=eve).role == "viewer"


def test_a_non_admin_may_not_change_roles_and_sees_no_controls(client):
    for role in ["viewer", "editor", "auditor"]:
        user = person(f"someone-{role}", role)
        client.force_login(user)
        target = person(f"target-{role}", "viewer")
        response = client.post(reverse("portal:person", args=[target.pk]), {f"p{target.pk}-role": "admin"})
        assert response.status_code == 403
        assert UserAccess.objects.get(user=target).role == "viewer"
        assert client.get(reverse("portal:people")).status_code == 403
        assert client.get(reverse("portal:tokens")).status_code == 403
        dashboard = client.get(reverse("portal:dashboard")).content.decode()
        assert reverse("portal:people") not in dashboard
        assert reverse("portal:tokens") not in dashboard


PASSWORD = "correct horse battery staple"


def add_person(client, **changes: str):
    """Post the new-person form: newcomer, a good password typed twice, a viewer, unless changed."""
    posted = {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD, "role": "viewer", **changes}
    return client.post(reverse("portal:person-new"), {f"new-{name}": value for name, value in posted.items()})


def test_an_admin_adds_a_person_with_a_role(admin_client):
    response = add_person(admin_client, role="deployer", team="")
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert user.check_password(PASSWORD)
    assert UserAccess.objects.get(user=user).role == "deployer"


def test_a_new_person_with_a_bad_role_is_not_created(admin_client):
    response = add_person(admin_client, role="overlord")
    assert response.status_code == 400
    assert "Role:" in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_people_runs_the_same_queries_for_few_and_many(admin_client):
    for index in range(3):
        person(f"p{index}", "editor", team="t")
    few = count_queries(admin_client, reverse("portal:people"))
    for index in range(3, 30):
        person(f"p{index}", "auditor")
    assert count_queries(admin_client, reverse("portal:people")) == few


# --- tokens ------------------------------------------------------------------------------------


def _secret_of(page: str) -> str:
    return re.search(r'id="token-secret"[^>]*value="([^"]+)"', page).group(1)


def test_a_token_is_created_with_its_secret_shown_once_and_it_authenticates(admin_client, client):
    response = admin_client.post(reverse("portal:tokens"), {"name": "ci", "role": "deployer", "team": "vision"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    secret = _secret_of(page)
    token = ApiToken.objects.get(name="ci")
    assert (token.role, token.team, token.created_by.username) == ("deployer", "vision", "ada")

    api = admin_client.get("/api/v1/models/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 200

    listing = admin_client.get(reverse("portal:tokens")).content.decode()
    assert secret not in listing
    assert 'id="token-secret"' not in listing
    assert "ci" in listing
    assert "ada" in listing
    assert "deployer" in listing


def test_a_duplicate_token_name_is_a_400_naming_the_field(admin_client):
    issue_token(actor=SYSTEM, name="ci", role="viewer")
    response = admin_client.post(reverse("portal:tokens"), {"name": "ci", "role": "viewer"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Name:" in page
    assert 'id="token-secret"' not in page
    assert ApiToken.objects.count() == 1


def test_a_revoked_token_no_longer_authenticates(admin_client):
    issued = issue_token(actor=SYSTEM, name="ci", role="viewer")
    assert admin_client.get("/api/v1/models/", HTTP_AUTHORIZATION=f"Bearer {issued.secret}").status_code == 200
    response = admin_client.post(reverse("portal:token-revoke", args=[issued.token.pk]))
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None
    assert ChangeLogEntry.objects.filter(object_type="core.apitoken", action="revoke").exists()
    assert admin_client.get("/api/v1/models/", HTTP_AUTHORIZATION=f"Bearer {issued.secret}").status_code == 401
    assert "revoked" in admin_client.get(reverse("portal:tokens")).content.decode()


def test_a_non_admin_may_not_create_or_revoke_tokens(viewer_client):
    issued = issue_token(actor=SYSTEM, name="ci", role="viewer")
    assert viewer_client.post(reverse("portal:tokens"), {"name": "mine", "role": "admin"}).status_code == 403
    assert viewer_client.post(reverse("portal:token-revoke", args=[issued.token.pk])).status_code == 403
    assert not ApiToken.objects.filter(name="mine").exists()
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_tokens_run_the_same_queries_for_few_and_many(admin_client):
    owner = get_user_model().objects.get(username="ada")
    for index in range(3):
        issue_token(actor=SYSTEM, name=f"t{index}", role="viewer", created_by=owner)
    few = count_queries(admin_client, reverse("portal:tokens"))
    for index in range(3, 30):
        issue_token(actor=SYSTEM, name=f"t{index}", role="viewer", created_by=person(f"owner{index}"))
    assert count_queries(admin_client, reverse("portal:tokens")) == few


def test_the_admin_pages_have_nothing_the_csp_would_block(admin_client):
    lab, terms = publisher("zz-lab", "US"), license_("LicenseRef-zz")
    issued = admin_client.post(reverse("portal:tokens"), {"name": "ci", "role": "viewer"}).content.decode()
    pages = [
        admin_client.get(url).content.decode()
        for url in [
            reverse("portal:catalogue"),
            reverse("portal:publisher", args=[lab.pk]),
            reverse("portal:license", args=[terms.pk]),
            reverse("portal:people"),
            reverse("portal:tokens"),
        ]
    ]
    for page in [*pages, issued]:
        assert csp_offences(page) == []


# --- people: superusers, new people, roles ---------------------------------------------------------


def test_a_role_for_a_superuser_is_refused_with_a_400_and_stores_nothing(admin_client):
    root = get_user_model().objects.create_superuser(username="root", password="x" * 20)

    response = admin_client.post(
        reverse("portal:person", args=[root.pk]), {f"p{root.pk}-role": "viewer", f"p{root.pk}-team": "ml"}
    )

    assert response.status_code == 400
    assert "a superuser is always an admin" in response.content.decode()
    assert not UserAccess.objects.filter(user=root).exists()


def test_a_new_person_and_their_access_are_in_the_change_log_without_the_password(admin_client):
    response = add_person(admin_client, role="auditor", team="risk")

    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    created = ChangeLogEntry.objects.get(object_type="auth.user", object_id=str(user.pk))
    assert (created.action, created.actor_name, created.after["username"]) == ("create", "ada", "newcomer")
    assert "password" not in created.after
    access = UserAccess.objects.get(user=user)
    assert (access.role, access.team) == ("auditor", "risk")
    assert ChangeLogEntry.objects.filter(object_type="core.useraccess", object_id=str(access.pk)).count() == 1


@pytest.mark.parametrize(
    ("password1", "password2", "field"),
    [("123", "123", "password1"), ("password", "password", "password1"), ("a long one 12", "another", "password2")],
)
def test_a_weak_or_mistyped_password_is_a_400_naming_the_field_and_nobody_is_added(
    admin_client, password1, password2, field
):
    response = add_person(admin_client, password1=password1, password2=password2)

    assert response.status_code == 400
    assert field in response.context["new_person"].errors
    assert not get_user_model().objects.filter(username="newcomer").exists()
    assert not ChangeLogEntry.objects.filter(object_type="auth.user").exists()


def test_create_person_validates_the_password_and_names_it():
    with pytest.raises(ValidationError) as refused:
        create_person(actor=SYSTEM, username="newcomer", password="123", role="viewer")
    assert "password" in refused.value.message_dict
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_a_taken_username_is_a_400_naming_it(admin_client):
    person("eve", "viewer")
    response = add_person(admin_client, username="eve")
    assert response.status_code == 400
    assert "username" in response.context["new_person"].errors


def test_role_of_a_person_is_the_principals_role():
    root = get_user_model().objects.create_superuser(username="root", password="x" * 20)
    eve, nobody = person("eve", "editor", team="ml"), person("nobody")
    assert [role_of(user, getattr(user, "access", None)) for user in (root, eve, nobody)] == [
        "admin", "editor", "viewer",
    ]  # fmt: skip
    assert [principal_for_user(user).role for user in (root, eve, nobody)] == ["admin", "editor", "viewer"]


# --- accessibility and the menu -----------------------------------------------------------------


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        self.described_by.extend((found.get("aria-describedby") or "").split())


def test_every_aria_describedby_names_an_element_of_the_page(admin_client):
    lab = publisher("lab", "US")
    terms = License.objects.get(key="MIT")
    pages = [
        reverse("portal:publisher", args=[lab.pk]),
        reverse("portal:license", args=[terms.pk]),
        reverse("portal:people"),
        reverse("portal:tokens"),
    ]
    for url in pages:
        parsed = _Ids()
        parsed.feed(admin_client.get(url).content.decode())
        assert parsed.described_by, f"{url} describes no input"
        assert set(parsed.described_by) <= parsed.ids, f"{url}: {set(parsed.described_by) - parsed.ids}"


def test_the_django_admin_link_is_for_staff_only(client):
    portal_admin = person("ada", "admin")  # an admin by role: Django's admin would not let them in
    client.force_login(portal_admin)
    assert reverse("admin:index") not in client.get(reverse("portal:dashboard")).content.decode()
    assert reverse("portal:people") in client.get(reverse("portal:dashboard")).content.decode()

    staff = get_user_model().objects.create_superuser(username="root", password="x" * 20)
    client.force_login(staff)
    assert reverse("admin:index") in client.get(reverse("portal:dashboard")).content.decode()
