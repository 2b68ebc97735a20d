"""Configuration comes from the environment only, and a bad or missing production value stops start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry.env import env_bool, env_int, env_list, env_secret
from tests.support.processes import PROJECT_DIR

pytestmark = pytest.mark.smoke

PRODUCTION = {
    "REGISTRY_ENV": "production",
    "DATABASE_URL": "postgres://registry@db.internal:5432/registry",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "registry.example.org",
}
_CONFIG_VARIABLES = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "REGISTRY_ENV",
    "DEBUG",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "MODELSCOPE_DOMAIN",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_COOKIES",
}


def unconfigured_environment() -> dict[str, str]:
    """This process's environment without any configuration the tests set themselves."""
    return {
        key: value for key, value in os.environ.items() if key not in _CONFIG_VARIABLES and not key.endswith("_FILE")
    }


def run_python(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` with Django set up, in a fresh process with only ``env`` as configuration."""
    base = unconfigured_environment()
    full_env = {**base, "DATA_DIR": str(tmp_path), **env}
    script = f"import django; django.setup(); from django.conf import settings; {code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={**full_env, "DJANGO_SETTINGS_MODULE": "registry.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def read_setting(expression: str, env: dict[str, str], tmp_path: Path) -> object:
    result = run_python(f"import json; print(json.dumps({expression}, default=str))", env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_without_secret_key_refuses_to_start(tmp_path):
    for command in (["manage.py", "check"], ["-c", "import registry.wsgi"]):
        env = unconfigured_environment()
        result = subprocess.run(
            [sys.executable, *command],
            cwd=PROJECT_DIR,
            env={**env, **PRODUCTION, "DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "SECRET_KEY must be set when REGISTRY_ENV=production" in result.stderr
    assert not (tmp_path / "secret_key").exists(), "production must not fall back to a generated key"


def test_production_names_every_missing_value(tmp_path):
    result = run_python("pass", {"REGISTRY_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL, ALLOWED_HOSTS must be set" in result.stderr


def test_production_reads_secret_key_from_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("a-production-key-from-a-secret-file\n")
    value = read_setting("settings.SECRET_KEY", {**PRODUCTION, "SECRET_KEY_FILE": str(key_file)}, tmp_path)
    assert value == "a-production-key-from-a-secret-file"


def test_debug_is_refused_in_production(tmp_path):
    result = run_python("pass", {**PRODUCTION, "SECRET_KEY": "x" * 50, "DEBUG": "true"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG must not be true" in result.stderr


def test_development_key_is_generated_once_and_kept_private(tmp_path):
    first = read_setting("settings.SECRET_KEY", {}, tmp_path)
    second = read_setting("settings.SECRET_KEY", {}, tmp_path)
    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_is_sqlite_and_file_broker_in_the_data_dir(tmp_path):
    database = read_setting("settings.DATABASES['default']", {}, tmp_path)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "registry.sqlite3")
    assert database["CONN_HEALTH_CHECKS"] is True
    broker = read_setting("[settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS]", {}, tmp_path)
    assert broker[0].startswith("filesystem://")
    assert broker[1]["data_folder_in"] == str(tmp_path / "broker" / "queue")


def test_database_url_and_broker_url_are_honoured(tmp_path):
    env = {"DATABASE_URL": "postgres://alice@db.internal:6543/inventory", "CELERY_BROKER_URL": "redis://r:6379/3"}
    database = read_setting("settings.DATABASES['default']", env, tmp_path)
    assert (database["ENGINE"], database["USER"], database["HOST"], database["PORT"], database["NAME"]) == (
        "django.db.backends.postgresql",
        "alice",
        "db.internal",
        6543,
        "inventory",
    )
    assert database["CONN_HEALTH_CHECKS"] is True
    assert read_setting("[settings.CELERY_BROKER_URL, settings.CELERY_TASK_ACKS_LATE]", env, tmp_path) == [
        "redis://r:6379/3",
        True,
    ]
    assert read_setting("settings.CELERY_TASK_REJECT_ON_WORKER_LOST", env, tmp_path) is True


def test_hub_settings_come_from_the_environment(tmp_path):
    token_file = tmp_path / "hf-token"
    token_file.write_text("hf_secret")
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN_FILE": str(token_file), "MODELSCOPE_DOMAIN": "ms.local"}
    expression = "[settings.HF_ENDPOINT, settings.HF_TOKEN, settings.MODELSCOPE_DOMAIN]"
    assert read_setting(expression, env, tmp_path) == ["http://127.0.0.1:9", "hf_secret", "ms.local"]


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be a boolean"):
        env_bool("DEBUG")
    monkeypatch.setenv("CONN_MAX_AGE", "soon")
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE must be an integer"):
        env_int("CONN_MAX_AGE", 60)
    monkeypatch.setenv("CONN_MAX_AGE", "-1")
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE must be at least 0"):
        env_int("CONN_MAX_AGE", 60, minimum=0)


def test_secret_from_both_variable_and_file_is_refused(monkeypatch, tmp_path):
    (tmp_path / "s").write_text("one")
    monkeypatch.setenv("HF_TOKEN", "two")
    monkeypatch.setenv("HF_TOKEN_FILE", str(tmp_path / "s"))
    with pytest.raises(ImproperlyConfigured, match="either HF_TOKEN or HF_TOKEN_FILE"):
        env_secret("HF_TOKEN")


def test_unreadable_secret_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE: cannot read"):
        env_secret("SECRET_KEY")


def test_lists_drop_blank_items(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example, ,b.example,")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]


def test_an_empty_secret_counts_as_unset(monkeypatch, tmp_path):
    # docker-compose passes ${HF_TOKEN:-}: an empty value must not block HF_TOKEN_FILE
    (tmp_path / "token").write_text("from-file")
    monkeypatch.setenv("HF_TOKEN", "")
    monkeypatch.setenv("HF_TOKEN_FILE", str(tmp_path / "token"))
    assert env_secret("HF_TOKEN") == "from-file"


def test_a_redis_cache_url_shares_the_cache_and_anything_else_is_refused(tmp_path):
    cache = read_setting("settings.CACHES['default']", {"CACHE_URL": "redis://127.0.0.1:6379/1"}, tmp_path)
    assert cache == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}
    assert "LocMemCache" in read_setting("settings.CACHES['default']['BACKEND']", {}, tmp_path)
    refused = run_python("pass", {"CACHE_URL": "memcached://x"}, tmp_path)
    assert refused.returncode != 0
    assert "CACHE_URL must be a redis:// URL" in refused.stderr


@pytest.mark.smoke
def test_the_image_copies_every_app_of_the_project():
    """No Docker engine here: the Dockerfile is checked by reading it, so a new app is not left out."""
    from django.conf import settings

    copied = {
        line.split()[1] for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
    }
    own_apps = {app for app in settings.INSTALLED_APPS if (PROJECT_DIR / app).is_dir()}
    assert own_apps <= copied, own_apps - copied
