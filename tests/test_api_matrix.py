"""Every API route and every role: allowed or denied as the roles say, built from Django's URL resolver."""

import pytest
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from core.changelog import Actor
from core.jobs import start_job
from core.tokens import issue_token
from inventory.models import AIModel, Deployment, License, Publisher, Revision
from inventory.services import revisions
from tests.inventory_helpers import model

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

READ = {"viewer", "deployer", "editor", "auditor", "admin"}
REGISTER = {"deployer", "editor", "admin"}
EDIT = {"editor", "admin"}
ADMINISTER = {"admin"}

# (route name, method) -> roles allowed. A route of the API missing here fails the test.
MATRIX = {
    ("api-root", "get"): READ,
    ("model-list", "get"): READ,
    ("model-list", "post"): REGISTER,
    ("model-detail", "get"): READ,
    ("model-detail", "patch"): EDIT,
    ("model-lineage", "get"): READ,
    ("revision-list", "get"): READ,
    ("revision-detail", "get"): READ,
    ("artifact-list", "get"): READ,
    ("publisher-list", "get"): READ,
    ("publisher-detail", "get"): READ,
    ("license-list", "get"): READ,
    ("license-detail", "get"): READ,
    ("deployment-list", "get"): READ,
    ("deployment-list", "post"): REGISTER,
    ("deployment-detail", "get"): READ,
    ("deployment-retire", "post"): REGISTER,
    ("change-list", "get"): READ,
    ("change-detail", "get"): READ,
    ("job-list", "get"): READ,
    ("job-detail", "get"): READ,
    ("job-worker-check", "post"): ADMINISTER,
}


def api_routes() -> dict[str, URLPattern]:
    resolver = get_resolver()
    api = next(pattern for pattern in resolver.url_patterns if str(pattern.pattern) == "api/v1/")
    return {
        pattern.name: pattern for pattern in api.url_patterns if pattern.name and "format" not in str(pattern.pattern)
    }


def test_every_route_of_the_api_is_in_the_matrix():
    assert set(api_routes()) == {name for name, _ in MATRIX}


@pytest.fixture
def objects():
    target = model("Qwen/matrix-model", Publisher.objects.get(name="Qwen"))
    AIModel.objects.filter(pk=target.pk).update(team="ml")
    pinned, _ = revisions.add_revision(actor=Actor.system("test"), model=target, revision="a" * 40)
    now = timezone.now()
    deployment = Deployment.objects.create(
        revision=pinned, system="s", environment="prod", first_seen=now, last_seen=now
    )
    job = start_job(actor=Actor.system("test"), kind="worker_check")
    from core.models import ChangeLogEntry

    return {
        "model": target.pk,
        "revision": Revision.objects.get(model=target).pk,
        "publisher": Publisher.objects.get(name="Qwen").pk,
        "license": License.objects.get(key="MIT").pk,
        "deployment": deployment.pk,
        "change": ChangeLogEntry.objects.first().pk,
        "job": job.pk,
    }


def url_for(name: str, objects: dict[str, int]) -> str:
    from django.urls import reverse

    if name.endswith("-list") or name == "api-root" or name == "job-worker-check":
        return reverse(name)
    return reverse(name, args=[objects[name.split("-")[0]]])


@pytest.mark.parametrize("role", ["anonymous", "viewer", "deployer", "editor", "auditor", "admin"])
def test_each_role_is_allowed_or_denied_on_every_route(client, objects, role):
    headers = {}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {issue_token(actor=Actor.system('test'), name=role, role=role).secret}"
    for (name, method), allowed in MATRIX.items():
        response = getattr(client, method)(url_for(name, objects), {}, content_type="application/json", headers=headers)
        if role == "anonymous":
            assert response.status_code == 401, (name, method)
        elif role in allowed:
            assert response.status_code not in (401, 403), (name, method, role, response.content[:300])
        else:
            assert response.status_code == 403, (name, method, role)
            assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("team", "expected"), [("ml", 428), ("other-team", 403), ("", 428)])
def test_an_editor_with_a_team_edits_only_that_teams_models(client, objects, team, expected):
    secret = issue_token(actor=Actor.system("test"), name=f"editor-{team}", role="editor", team=team).secret

    response = client.patch(
        f"/api/v1/models/{objects['model']}/", {"description": "x"}, content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip

    assert response.status_code == expected  # 428: through the permission check, asked for If-Match
