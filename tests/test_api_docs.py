"""Every example in docs/api.md runs, as written, against a live server."""

import json
import re
import subprocess

from tests.support.processes import BIN_DIR, PROJECT_DIR


def examples() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (PROJECT_DIR / "docs" / "api.md").read_text(), flags=re.DOTALL)


def test_the_walk_through_runs_as_documented(web, catalogue_loaded, service_env):
    _, base_url = web
    blocks = examples()
    assert len(blocks) >= 5
    marker = "=====example====="
    script = "set -euo pipefail\n" + f"\necho {marker}\n".join(blocks)
    env = {**service_env, "REGISTRY": base_url, "PATH": f"{BIN_DIR}:{service_env['PATH']}"}

    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr + result.stdout
    outputs = [json.loads(output) for output in result.stdout.split(marker)[1:] if output.strip()]
    registered, deployment, lineage, listed, error = outputs
    assert (registered["upstream_id"], registered["effective_origin"]) == ("Qwen/Qwen2.5-7B-Instruct", ["CN"])
    assert (deployment["system"], deployment["environment"], deployment["active"]) == ("support-chat", "prod", True)
    assert lineage["effective_origin"] == ["CN"]
    assert [model["upstream_id"] for model in listed["results"]] == ["Qwen/Qwen2.5-7B-Instruct"]
    assert (error["status"], error["errors"][0]["field"]) == (400, "reference")
    documented = json.loads(
        re.search(r"```json\n(.*?)```", (PROJECT_DIR / "docs" / "api.md").read_text(), re.DOTALL).group(1)
    )
    assert error == documented
