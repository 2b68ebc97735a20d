"""``TOKEN=$(python manage.py create_token --quiet ...)``, as docs/api.md has it: the secret alone, or a failure that
shows (an error on standard error, a non-zero exit, nothing to capture); and it works with the system's python."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from core.models import ApiToken
from core.tokens import digest
from tests.support.processes import BIN_DIR, PROJECT_DIR

TOKEN_COMMAND = ["manage.py", "create_token", "--quiet", "--name", "ci-deploy", "--role", "deployer", "--team", "ml"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.django_db
def test_quiet_prints_the_secret_alone():
    output = io.StringIO()

    call_command(*TOKEN_COMMAND[1:], stdout=output)

    secret = output.getvalue().removesuffix("\n")
    assert "\n" not in secret
    assert ApiToken.objects.get(name="ci-deploy").secret_sha256 == digest(secret)


@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (["--role", "root"], 2, "invalid choice: 'root'"),  # the argument parser's refusal
        (["--expires", "0"], 1, "--expires"),  # the command's own
        ([], 1, "no such table"),  # the database has no tables: `migrate` was not run
    ],
)
def test_a_failure_prints_only_an_error_and_exits_non_zero(tmp_path, args, exit_code, error):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}"}

    result = run([str(BIN_DIR / "python"), *TOKEN_COMMAND, *args], env)

    assert (result.returncode, result.stdout) == (exit_code, "")
    assert error in result.stderr


def test_the_documented_assignment_stops_a_set_e_script_when_the_command_fails(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}",
        "PATH": f"{BIN_DIR}:{os.environ['PATH']}",
    }
    script = f"set -e\nTOKEN=$(python {' '.join(TOKEN_COMMAND)})\necho reached"

    result = run(["bash", "-c", script], env)

    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "no such table" in result.stderr


def test_a_python_outside_any_virtual_environment_runs_manage_py_in_the_projects_venv(service_env, transactional_db):
    """What a new user types after ``make run``, without activating ``.venv``: the system's python has no Django."""
    system_python = Path(sys.base_prefix) / "bin" / "python3"
    if not (PROJECT_DIR / ".venv" / "bin" / "python").exists() or not system_python.exists():
        pytest.skip("needs the project's .venv (make run creates it) and the python it was made from")
    env = {name: value for name, value in service_env.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH"}}

    result = run([str(system_python), *TOKEN_COMMAND], env)

    assert result.returncode == 0, result.stderr
    assert ApiToken.objects.get(name="ci-deploy").secret_sha256 == digest(result.stdout.removesuffix("\n"))
