"""API tokens: 256 random bits shown once, stored as SHA-256, revocable, expiring, logged as actors."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.errors import problem_exception_handler
from core.changelog import Actor
from core.models import ApiToken, ChangeLogEntry, Job
from core.tokens import issue_token, revoke_token

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ADMIN = Actor.system("test")


def create_token(*args: str) -> str:
    output = io.StringIO()
    call_command("create_token", *args, stdout=output)
    return output.getvalue().strip().splitlines()[-1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_create_token_prints_a_url_safe_256_bit_secret_that_is_stored_only_as_its_digest():
    secret = create_token("--name", "ci-pipeline", "--role", "deployer", "--team", "ml", "--expires", "30")

    assert len(secret) == 43
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    token = ApiToken.objects.get(name="ci-pipeline")
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.role, token.team) == ("deployer", "ml")
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    logged = ChangeLogEntry.objects.get(object_type="core.apitoken")
    assert secret not in str(logged.after)
    assert token.secret_sha256 not in str(logged.after)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--role", "root"], "invalid choice: 'root'"),
        (["--name", "x", "--role", "viewer", "--expires", "0"], "--expires"),
    ],
)
def test_create_token_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_token", *args)
    assert not ApiToken.objects.exists()


def test_a_token_name_is_unique():
    create_token("--name", "dup", "--role", "viewer")
    with pytest.raises(CommandError, match="--name"):
        create_token("--name", "dup", "--role", "viewer")


def test_a_token_authenticates_with_one_indexed_lookup_and_records_its_use(client):
    issued = issue_token(actor=ADMIN, name="reader", role="viewer")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/jobs/", headers=bearer(issued.secret))

    assert response.status_code == 200
    lookups = [query["sql"] for query in queries if "core_apitoken" in query["sql"] and "SELECT" in query["sql"]]
    assert len(lookups) == 1
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer", "Bearer two parts", "Bearer ünïcode"],
)
def test_a_bad_token_gets_401_problem(client, header):
    response = client.get("/api/v1/jobs/", headers={"Authorization": header})

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_revoked_and_expired_tokens_stop_working_at_once(client):
    revoked = issue_token(actor=ADMIN, name="revoked", role="viewer")
    expired = issue_token(actor=ADMIN, name="expired", role="viewer", expires_in_days=1)
    assert client.get("/api/v1/jobs/", headers=bearer(revoked.secret)).status_code == 200

    revoke_token(actor=ADMIN, token=revoked.token)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    for secret in (revoked.secret, expired.secret):
        response = client.get("/api/v1/jobs/", headers=bearer(secret))
        assert response.status_code == 401
        assert response.json()["detail"] == "the token is unknown, revoked or expired"
    assert ChangeLogEntry.objects.filter(object_type="core.apitoken", action="revoke").count() == 1


def test_the_change_log_records_the_token_as_the_actor_of_its_writes(client):
    issued = issue_token(actor=ADMIN, name="ops-bot", role="admin")

    response = client.post(
        "/api/v1/jobs/worker-check/", {}, content_type="application/json", headers=bearer(issued.secret)
    )

    assert response.status_code == 202
    row = ChangeLogEntry.objects.get(object_type="core.job")
    assert (row.actor_kind, row.actor_id, row.actor_name) == ("token", str(issued.token.pk), "token:ops-bot")
    job = Job.objects.get()
    assert (job.requested_by, job.requester) == (None, "token:ops-bot")  # no person asked, a token did
    assert response.json()["requested_by"] == "token:ops-bot"


def test_a_viewer_token_may_read_but_not_start_work(client):
    issued = issue_token(actor=ADMIN, name="reader", role="viewer")

    assert client.get("/api/v1/jobs/", headers=bearer(issued.secret)).status_code == 200
    denied = client.post("/api/v1/jobs/worker-check/", headers=bearer(issued.secret))
    assert denied.status_code == 403
    assert denied["Content-Type"] == "application/problem+json"


def test_an_unexpected_error_is_a_500_problem_without_a_stack_trace(rf):
    response = problem_exception_handler(RuntimeError("secret internals"), {"request": rf.get("/api/v1/jobs/")})

    assert response.status_code == 500
    assert response.data["detail"] == "the server could not complete the request"
    assert "secret internals" not in str(response.data)


def test_the_admin_revokes_tokens(admin_client):
    issued = issue_token(actor=ADMIN, name="old", role="viewer")

    admin_client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]})

    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None
