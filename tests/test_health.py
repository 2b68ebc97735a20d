"""Health probes: /healthz says the process is up, /readyz names the dependency that is not."""

import pytest
import requests

from tests.support.processes import free_port, start_web

pytestmark = pytest.mark.smoke


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failing": [], "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_names_an_unreachable_database(service_env, logs_dir):
    # Nothing listens on this port: to the service, a database that is down.
    env = {**service_env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/registry"}
    web, base_url = start_web(env=env, log_dir=logs_dir, name="web-without-database")
    try:
        assert requests.get(f"{base_url}/healthz", timeout=10).status_code == 200

        response = requests.get(f"{base_url}/readyz", timeout=30)

        assert response.status_code == 503
        assert response.json()["failing"] == ["database"]
        assert "Traceback" not in response.text
        logged = [line for line in web.json_lines() if line["message"] == "readiness: database unreachable"]
        assert logged, "the reason belongs in the log"
    finally:
        web.stop()


def test_probes_answer_whatever_host_is_asked_for(client):
    # The container healthcheck asks 127.0.0.1, which production ALLOWED_HOSTS need not list.
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200
    assert client.get("/admin/login/", headers={"Host": "10.1.2.3:8000"}).status_code == 400
