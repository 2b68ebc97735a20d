"""Every example in docs/api.md runs, as written, against a live server holding the demo data of ``make run``."""

import json
import re
import subprocess

import pytest
import requests
from django.core.management import call_command

from core.changelog import Actor
from core.tokens import issue_token
from tests.support.processes import BIN_DIR, PROJECT_DIR

API_DOC = PROJECT_DIR / "docs" / "api.md"


def examples() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", API_DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def demo_loaded(catalogue_loaded: None) -> None:
    """The demo inventory, as ``make run`` loads it (the flush after the test empties it again)."""
    call_command("seed_demo")


def test_the_walk_through_runs_as_documented_on_the_demo_data(web, demo_loaded, service_env):
    _, base_url = web
    blocks = examples()
    assert len(blocks) >= 5
    assert "create_token --quiet" in blocks[0]
    marker = "=====example====="
    script = "set -euo pipefail\n" + f"\necho {marker}\n".join(blocks)
    env = {**service_env, "REGISTRY": base_url, "PATH": f"{BIN_DIR}:{service_env['PATH']}"}

    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr + result.stdout
    outputs = [json.loads(output) for output in result.stdout.split(marker)[1:] if output.strip()]
    registered, gate, deployment, lineage, listed, error = outputs
    assert (registered["upstream_id"], registered["effective_origin"]) == ("Qwen/Qwen2.5-7B-Instruct", ["CN"])
    # Whichever decision the demo's policies give (the doc says deny), the answer has this shape.
    assert gate["decision"] in {"allow", "warn", "deny"}
    assert all(set(reason) == {"policy", "action", "message", "waived"} for reason in gate["reasons"])
    assert (gate["model"]["id"], gate["model"]["effective_origin"]) == (registered["id"], ["CN"])
    assert gate["revision"] == "a09a35458c702b33eeacc393d103063234e8bc28"
    assert isinstance(gate["decision_id"], int)
    assert (deployment["system"], deployment["environment"], deployment["team"], deployment["active"]) == (
        "ticket-triage",
        "prod",
        "ml",
        True,
    )
    assert lineage["effective_origin"] == ["CN"]
    assert {model["upstream_id"] for model in listed["results"]} == {
        "Qwen/Qwen2.5-7B-Instruct",
        "Qwen/Qwen3-32B",
        "acme/support-bot-7b",
        "acme/code-review-8b",
    }  # the ones the doc names
    assert all("CN" in model["effective_origin"] for model in listed["results"])
    assert (error["status"], error["errors"][0]["field"]) == (400, "reference")
    documented = json.loads(re.search(r"```json\n(.*?)```", API_DOC.read_text(), re.DOTALL).group(1))
    assert error == documented


def test_the_demo_deployment_the_walk_through_avoids_is_another_teams(web, demo_loaded):
    """The doc says why the pipeline records a system of its own: the demo's is team customer-ai's."""
    _, base_url = web
    secret = issue_token(actor=Actor.system("test"), name="ml-deployer", role="deployer", team="ml").secret

    response = requests.post(
        f"{base_url}/api/v1/deployments/",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "model": "huggingface:Qwen/Qwen2.5-7B-Instruct@a09a35458c702b33eeacc393d103063234e8bc28",
            "system": "support-chat",
            "environment": "prod",
        },
        timeout=10,
    )

    assert response.status_code == 403
    assert "customer-ai" in response.json()["detail"]
