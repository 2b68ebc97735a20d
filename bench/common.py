"""What the benchmarks share: a database of their own, free ports, processes with their logs."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

PROJECT_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def recreate_database(database_url: str, *, create: bool = True) -> None:
    """Drop the benchmark's database, and create it empty again unless ``create`` is False."""
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')


def prepare_database(env: dict[str, str], database_url: str) -> None:
    recreate_database(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True
    )


def setup_django(env: dict[str, str], database_url: str) -> None:
    """A fresh, migrated database, and Django set up in this process on it (with ``env``)."""
    prepare_database(env, database_url)
    os.environ.update(env)
    import django

    django.setup()


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(args, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)


def start_web(env: dict[str, str], log: Path, base_url: str) -> subprocess.Popen:
    """The project's gunicorn (its gunicorn.conf.py), serving once this returns."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    web = start_process([gunicorn, "registry.wsgi", "--config", "gunicorn.conf.py"], env, log)
    wait_for(f"{base_url}/healthz")
    return web


def token_session(secret: str) -> requests.Session:
    """A session that sends the API token with every request."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret}"
    return session
