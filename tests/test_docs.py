"""The README's configuration table lists every variable the code reads."""

import re

import pytest

from tests.support.processes import PROJECT_DIR

pytestmark = pytest.mark.smoke


def variables_read_by(path: str) -> set[str]:
    source = (PROJECT_DIR / path).read_text()
    return set(re.findall(r'env_\w+\("([A-Z_]+)"', source)) | set(re.findall(r'environ\.get\("([A-Z_]+)"', source))


def test_every_configuration_variable_is_documented():
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (PROJECT_DIR / "README.md").read_text(), flags=re.MULTILINE))
    read = variables_read_by("registry/settings.py") | variables_read_by("gunicorn.conf.py")

    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "WEB_BIND"} <= read
    assert read - documented == set(), "variables read but not in README's table"
    assert documented - read == set(), "variables in README's table that nothing reads"
