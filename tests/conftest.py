"""Fixtures: the real web server and Celery worker, on the tests' own database and queue."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from tests.support.processes import Service, start_web, start_worker


def test_database_url() -> str:
    """The URL of the database the tests run on, for processes started beside them."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture(scope="session")
def service_env(django_db_setup: None) -> dict[str, str]:
    """The environment for a web or worker process: the test database, short polling intervals."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        "EMBEDDED_BROKER_POLL_SECONDS": "0.1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def worker(service_env: dict[str, str], logs_dir: Path) -> Iterator[Service]:
    service = start_worker(env=service_env, log_dir=logs_dir)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def web(service_env: dict[str, str], logs_dir: Path) -> Iterator[tuple[Service, str]]:
    service, base_url = start_web(env=service_env, log_dir=logs_dir)
    yield service, base_url
    service.stop()


def login(base_url: str, username: str, password: str) -> requests.Session:
    """Log in through the admin login form, as a person would; the session then calls the API."""
    session = requests.Session()
    form = session.get(f"{base_url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(
        f"{base_url}/admin/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"},
        timeout=10,
    )
    assert response.url.endswith("/admin/"), "login failed"
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


@pytest.fixture
def admin_credentials(transactional_db: None) -> tuple[str, str]:
    password = "a-long-test-password"
    get_user_model().objects.create_superuser(username="root", email="", password=password)
    return "root", password


@pytest.fixture
def catalogue_loaded(transactional_db: None) -> None:
    """The shipped catalogue, for transactional tests: the flush after each of them empties every
    table, the data migration's rows included."""
    from core.changelog import Actor
    from inventory.catalogue import apply_catalogue, shipped_catalogue

    apply_catalogue(actor=Actor.system("catalogue"), catalogue=shipped_catalogue())
