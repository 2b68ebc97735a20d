"""Fixtures: the real web server and Celery worker, on the tests' own database and queue."""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from tests.support.fake_hub import FakeHub
from tests.support.processes import Service, start_web, start_worker


def test_database_url() -> str:
    """The URL of the database the tests run on, for processes started beside them."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


@receiver(connection_created)
def let_workers_yield_to_the_flush(connection: Any, **kwargs: Any) -> None:
    """A transactional test ends by emptying every table (TRUNCATE), while the suite's real worker
    may still be delivering that test's events, touching tables the TRUNCATE has locked already: a
    deadlock between the two, which PostgreSQL breaks by failing whichever waited a deadlock_timeout
    first. The tests' own sessions wait longer before they check, so the worker's delivery is the
    one refused (and retried, as every failed delivery is), never the test's teardown."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '10s'")


# Short delays for refreshes, in this process and in the workers the tests start.
REFRESH_TEST_SETTINGS = {
    "HF_REQUEST_TIMEOUT_SECONDS": 1.0,
    "HUB_REQUESTS_PER_SECOND": 1000,
    "REFRESH_BACKOFF_SECONDS": 0.01,
    "REFRESH_BACKOFF_MAX_SECONDS": 0.05,
    "REFRESH_MAX_RETRY_AFTER_SECONDS": 5.0,
    "REFRESH_LOCK_POLL_SECONDS": 0.05,
}


@pytest.fixture(scope="session")
def fake_hub_server() -> Iterator[FakeHub]:
    """One fake Hugging Face Hub for the session; ``hub`` empties it for each test."""
    server = FakeHub().start()
    yield server
    server.stop()


@pytest.fixture
def hub(fake_hub_server: FakeHub, settings: Any) -> FakeHub:
    """The fake hub, empty, with this process pointed at it and refresh delays made short."""
    fake_hub_server.reset()
    settings.HF_ENDPOINT = fake_hub_server.url
    for name, value in REFRESH_TEST_SETTINGS.items():
        setattr(settings, name, value)
    cache.clear()  # the per-source request budget and any pause a test left
    return fake_hub_server


@pytest.fixture(scope="session")
def event_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test subscribers (tests/support/event_subscribers.py) of every process write."""
    return tmp_path_factory.mktemp("events") / "deliveries.jsonl"


@pytest.fixture
def test_subscribers(event_log: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test subscribers, in this process too, for one test; yields their log."""
    from tests.support import event_subscribers

    monkeypatch.setenv("EVENT_TEST_LOG", str(event_log))
    event_subscribers.install()
    yield event_log
    event_subscribers.uninstall()


@pytest.fixture(scope="session")
def service_env(django_db_setup: None, fake_hub_server: FakeHub, event_log: Path) -> dict[str, str]:
    """The environment for a web or worker process: the test database, the fake hub, the test event
    subscribers, short polling intervals and delays."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        "EMBEDDED_BROKER_POLL_SECONDS": "0.1",
        "PYTHONUNBUFFERED": "1",
        "HF_ENDPOINT": fake_hub_server.url,
        "EVENT_SUBSCRIBER_MODULES": "tests.support.event_subscribers",
        "EVENT_TEST_LOG": str(event_log),
        "EVENT_RETRY_SECONDS": "0.2",
        **{name: str(value) for name, value in REFRESH_TEST_SETTINGS.items()},
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
    """Sign in through the portal's form, as a person would (the first page sends them there); the
    session then calls the API."""
    session = requests.Session()
    form = session.get(f"{base_url}/", timeout=10)
    assert urlsplit(form.url).path == "/login/", form.url
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = session.post(
        form.url, data={"username": username, "password": password, "csrfmiddlewaretoken": token}, timeout=10
    )
    assert urlsplit(response.url).path == "/", "sign-in failed"
    assert "<h1>Dashboard</h1>" in response.text
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.dashboard = response.text  # type: ignore[attr-defined]
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
