"""Edges of HTTP the API answers like any other error: chunked bodies, malformed JSON, a missing trailing
slash, requests Django itself refuses, header value types, ``?format=`` and unknown or malformed query
parameters."""

import itertools
from collections.abc import Iterator

import django_filters
import pytest
import requests
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.filtering import StrictFilterBackend
from api.middleware import ChunkedBodyMiddleware
from api.pagination import LimitOffsetOrCursor
from core.changelog import Actor
from core.models import Job
from core.tokens import issue_token
from inventory.models import AIModel
from inventory.services import revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import model, publisher

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"
PROBLEM = "application/problem+json"


_token_numbers = itertools.count()


def bearer(role: str) -> dict[str, str]:
    secret = issue_token(actor=Actor.system("test"), name=f"edges-{role}-{next(_token_numbers)}", role=role).secret
    return {"Authorization": f"Bearer {secret}"}


def pieces(*chunks: bytes) -> Iterator[bytes]:
    """A body ``requests`` can only send chunked: it cannot know the length of a generator."""
    yield from chunks


# --- chunked bodies, against the real gunicorn ------------------------------------------------------


def test_a_chunked_body_is_read_under_gunicorn(web, transactional_db):
    _, base_url = web

    response = requests.post(
        f"{base_url}/api/v1/models/",
        data=pieces(b'{"reference": ', b'"huggingface:org/chunked"}'),
        headers={**bearer("admin"), "Content-Type": "application/json"},
        timeout=30,
    )

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 201, response.text
    assert AIModel.objects.get().upstream_id == "org/chunked"


def test_a_chunked_body_over_the_limit_is_413_under_gunicorn(web, transactional_db, settings):
    _, base_url = web
    padding = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 4)

    response = requests.post(
        f"{base_url}/api/v1/models/",
        data=pieces(b'{"reference": "huggingface:org/big", "padding": "', *[padding] * 5, b'"}'),
        headers={**bearer("admin"), "Content-Type": "application/json"},
        timeout=30,
    )

    assert (response.status_code, response.headers["Content-Type"]) == (413, PROBLEM)
    assert not AIModel.objects.exists()


@pytest.mark.parametrize(("path", "content_type"), [("/api/v1/models/", PROBLEM), ("/admin/login/", "text/plain")])
def test_a_chunked_body_a_server_does_not_decode_is_411(rf, path, content_type):
    request = rf.post(path, b"5\r\nhello\r\n0\r\n\r\n", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"  # and no wsgi.input_terminated, as under runserver

    response = ChunkedBodyMiddleware(lambda request: pytest.fail("the view was reached"))(request)

    assert (response.status_code, response["Content-Type"]) == (411, content_type)


# --- bodies, routes and requests Django refuses -----------------------------------------------------


@pytest.mark.django_db
def test_malformed_json_says_where_it_broke(client):
    response = client.post(
        "/api/v1/models/", '{"reference": "huggingface:a/b",\n  oops}', content_type="application/json",
        headers=bearer("admin"),
    )  # fmt: skip

    problem = response.json()
    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert (problem["line"], problem["column"], problem["position"]) == (2, 3, 35)
    assert "line 2, column 3" in problem["detail"]


@pytest.mark.django_db
def test_a_body_not_in_its_charset_says_at_which_byte(client):
    response = client.post(
        "/api/v1/models/", b'{"reference": "\xff"}', content_type="application/json", headers=bearer("admin")
    )

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert response.json()["position"] == 15


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_a_route_without_its_trailing_slash_is_a_404_pointing_at_it(client, method):
    response = getattr(client, method)("/api/v1/models", headers=bearer("admin"))

    assert (response.status_code, response["Content-Type"]) == (404, PROBLEM)
    assert "did you mean /api/v1/models/ " in response.json()["detail"]


@pytest.mark.django_db
def test_only_a_route_that_exists_with_a_slash_is_pointed_at(client):
    detail = client.get("/api/v1/models/7", headers=bearer("viewer")).json()["detail"]
    unknown = client.get("/api/v1/nope", headers=bearer("viewer")).json()["detail"]
    head = client.head("/api/v1/jobs", headers=bearer("viewer"))

    assert "did you mean /api/v1/models/7/ " in detail
    assert unknown == "no such API route: /api/v1/nope"
    assert (head.status_code, head["Content-Type"]) == (404, PROBLEM)


@pytest.mark.django_db
def test_a_disallowed_host_is_a_400_problem_under_the_api_only(client):
    api = client.get("/api/v1/models/", HTTP_HOST="evil.example")
    admin = client.get("/admin/", HTTP_HOST="evil.example")

    assert (api.status_code, api["Content-Type"]) == (400, PROBLEM)
    assert "Host" in api.json()["detail"]
    assert (admin.status_code, admin["Content-Type"].split(";")[0]) == (400, "text/html")


@pytest.mark.django_db
def test_too_many_query_parameters_is_a_400_problem(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5

    response = client.get("/api/v1/jobs/?" + "&".join(f"p{index}=1" for index in range(6)), headers=bearer("viewer"))

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert "more than 5" in response.json()["detail"]


def test_other_paths_under_api_are_404_problems_and_the_rest_django_pages(client):
    api = client.get("/api/v2/models/")
    other = client.get("/nothing-here/")

    assert (api.status_code, api["Content-Type"]) == (404, PROBLEM)
    assert (other.status_code, other["Content-Type"].split(";")[0]) == (404, "text/html")


@pytest.mark.django_db
def test_header_values_are_plain_strings_as_wsgi_requires(client):
    response = client.post("/api/v1/jobs/worker-check/", {}, content_type="application/json", headers=bearer("admin"))

    assert response.status_code == 202
    assert response["Location"].endswith(f"/api/v1/jobs/{Job.objects.get().pk}/")
    # wsgiref (manage.py runserver) refuses a str subclass, such as DRF's Hyperlink, with a 500.
    assert all(type(name) is str and type(value) is str for name, value in response.headers.items())


# --- ?format= ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_format_is_an_artifact_filter_not_a_renderer_choice(client):
    target = model("org/m", publisher("org", "US"))
    files = [FileRecord("model.safetensors", 3, "a" * 64), FileRecord("model.gguf", 3, "b" * 64)]
    revisions.add_revision(actor=Actor.system("test"), model=target, revision=SHA, artifacts=files)

    response = client.get("/api/v1/artifacts/?format=safetensors", headers=bearer("viewer"))

    assert response.status_code == 200, response.content
    assert [artifact["sha256"] for artifact in response.json()["results"]] == ["a" * 64]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "content_type"),
    [("?format=json", "application/vnd.oai.openapi+json"), ("", "application/vnd.oai.openapi")],
)
def test_the_schema_still_takes_format(client, query, content_type):
    response = client.get(f"/api/schema/{query}", headers=bearer("viewer"))

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type


# --- unknown and malformed query parameters ---------------------------------------------------------


class JobFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter()
    attempts = django_filters.NumberFilter()

    class Meta:
        model = Job
        fields: list[str] = []


class FilteredView(GenericAPIView):
    queryset = Job.objects.all()
    filterset_class = JobFilter
    pagination_class = LimitOffsetOrCursor
    extra_query_params = frozenset({"ordering"})


def filtered(query: dict[str, str]) -> None:
    request = Request(APIRequestFactory().get("/", query))
    StrictFilterBackend().filter_queryset(request, Job.objects.all(), FilteredView())


def test_the_backend_accepts_filters_paging_and_declared_parameters():
    filtered({"kind": "worker_check", "attempts": "1", "limit": "5", "offset": "5", "cursor": "", "ordering": "x"})


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"bogus": "1"}, "bogus", "unknown query parameter"),
        ({"Kind": "x"}, "Kind", "unknown query parameter"),
        ({"attempts": "many"}, "attempts", "Enter a number."),
    ],
)
def test_the_backend_refuses_unknown_parameters_and_bad_values_by_name(query, field, message):
    with pytest.raises(ValidationError) as refused:
        filtered(query)

    assert refused.value.detail == {field: [message]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bogus=1", "bogus"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=%205", "limit"),
        ("offset=-1", "offset"),
        ("offset=1e3", "offset"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=cD1hYmM%3D", "cursor"),  # a well-formed cursor whose position ("abc") is not an id
        ("cursor=&limit=x", "limit"),
    ],
)
def test_the_api_refuses_unknown_and_malformed_query_parameters_by_name(client, query, field):
    response = client.get(f"/api/v1/jobs/?{query}", headers=bearer("viewer"))

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/models/", "/api/v1/artifacts/", "/api/v1/deployments/", "/api/v1/changes/"])
def test_every_list_refuses_a_misspelt_filter_and_takes_its_own(client, path):
    viewer = bearer("viewer")

    misspelt = client.get(f"{path}?limit=5&publsher=org", headers=viewer)
    paged = client.get(f"{path}?limit=5", headers=viewer)

    assert (misspelt.status_code, misspelt.json()["errors"]) == (
        400, [{"field": "publsher", "message": "unknown query parameter"}]
    )  # fmt: skip
    assert paged.status_code == 200


@pytest.mark.django_db
def test_models_take_their_filters_and_ordering(client):
    model("org/b", publisher("org", "US"))

    response = client.get("/api/v1/models/?publisher=org&ordering=-upstream_id", headers=bearer("viewer"))

    assert response.status_code == 200, response.content
    assert [item["upstream_id"] for item in response.json()["results"]] == ["org/b"]


@pytest.mark.django_db
def test_good_paging_parameters_still_page(client):
    admin = bearer("admin")
    for _ in range(3):
        client.post("/api/v1/jobs/worker-check/", {}, content_type="application/json", headers=admin)

    offset = client.get("/api/v1/jobs/?limit=1&offset=1", headers=admin).json()
    capped = client.get("/api/v1/jobs/?limit=100000", headers=admin).json()
    cursor = client.get("/api/v1/jobs/?cursor=&limit=2", headers=admin).json()
    following = client.get(cursor["next"], headers=admin).json()

    assert (offset["count"], len(offset["results"])) == (3, 1)
    assert len(capped["results"]) == 3
    assert len(cursor["results"]) == 2
    assert len(following["results"]) == 1
