"""Schemathesis fuzzes every operation of the API against a live gunicorn holding the demo data, once
as an admin and once as a viewer: no 5xx, every response as the schema describes it, no status code
the schema does not list, every check and phase. Its configuration (seed, examples, the few narrow
exceptions and why) is schemathesis.toml; a failure shows Schemathesis' report, with a curl command
for each finding."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from core.changelog import Actor
from core.tokens import issue_token
from tests.support.processes import BIN_DIR, PROJECT_DIR, start_web
from tests.test_api_docs import demo_loaded  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.fuzz, pytest.mark.smoke]

# Examples per operation on the embedded default (SQLite): a smaller run, with the same checks.
SMOKE_EXAMPLES = 4


@pytest.fixture(scope="module")
def fuzz_web(service_env, logs_dir: Path) -> Iterator[str]:
    """gunicorn with a request budget the fuzzer does not exhaust (429s would hide the answers it is
    after); the refreshes that registrations start go to the fake hub (``service_env``)."""
    service, base_url = start_web(
        env={**service_env, "API_RATE_LIMIT": "1000000/min"}, log_dir=logs_dir, name="fuzz-web"
    )
    yield base_url
    service.stop()


@pytest.mark.parametrize("role", ["admin", "viewer"])
@pytest.mark.usefixtures("demo_loaded")
def test_the_api_keeps_the_contract_of_its_schema(fuzz_web, role):
    secret = issue_token(actor=Actor.system("test"), name=f"fuzz-{role}", role=role).secret
    examples = ["--max-examples", str(SMOKE_EXAMPLES)] if connection.vendor == "sqlite" else []
    done = subprocess.run(
        [str(BIN_DIR / "schemathesis"), "run", f"{fuzz_web}/api/schema/?format=json", "--header",
         f"Authorization: Bearer {secret}", "--no-color", *examples],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-3000:]
