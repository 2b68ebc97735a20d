"""The README's first command serves the app and a worker on the embedded default, as a new user sees it."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import login
from tests.support.processes import PROJECT_DIR, free_port, wait_until

pytestmark = pytest.mark.smoke


def test_make_run_serves_the_app_and_a_worker_without_postgres_or_redis_and_stops_quietly_on_ctrl_c(tmp_path):
    port = free_port()
    configured = {"DATABASE_URL", "CELERY_BROKER_URL", "REGISTRY_ENV", "CELERY_QUEUE"}
    env = {key: value for key, value in os.environ.items() if key not in configured}
    home = tmp_path / "home"  # to see that nothing is written into the user's home folder
    home.mkdir()
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        WEB_BIND=f"127.0.0.1:{port}",
        VENV=str(Path(sys.executable).parents[1]),
        HOME=str(home),
    )
    output_path = tmp_path / "make-run.out"
    with output_path.open("wb") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:

        def serving() -> bool:
            assert make.poll() is None, output_path.read_text()
            try:
                return requests.get(f"{base_url}/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(serving, timeout=120, what="make run to serve")
        printed = output_path.read_text()
        username, password = re.search(r"Admin user: (\S+)\s+password: (\S+)", printed).groups()
        assert f"Serving on http://127.0.0.1:{port}/" in printed

        session = login(base_url, username, password)  # "/" sends a visitor to sign in, then to the dashboard
        assert re.search(r"\b86 models in the inventory\b", session.dashboard)  # type: ignore[attr-defined]
        assert 'href="/models/?origin=CN" class="bar"' in session.dashboard  # type: ignore[attr-defined]
        job = session.post(f"{base_url}/api/v1/jobs/worker-check/", timeout=10).json()

        def finished() -> dict | None:
            state = session.get(job["url"], timeout=10).json()
            return state if state["state"] in {"succeeded", "failed"} else None

        assert wait_until(finished, timeout=60, what="the worker to run the job")["state"] == "succeeded"
        assert (tmp_path / "data" / "registry.sqlite3").exists()

        served = len(output_path.read_bytes())
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals make's whole process group
        make.wait(timeout=30)
        stopping = output_path.read_bytes()[served:].decode(errors="replace")
        # make dies of the SIGINT it got itself, as any command stopped by Ctrl-C (a shell reports
        # 130): GNU make waits for its recipe and then re-raises the signal, whatever the recipe
        # ended with. So its status says nothing of how honcho ended; honcho's lines below do.
        assert make.returncode == -signal.SIGINT, stopping
        assert "make: ***" not in stopping
        # Honcho's stop lines and each process's own orderly shutdown, nothing more: no pool
        # process reported as killed by a signal, no error or warning. (Honcho's "sending SIGKILL"
        # is not checked: it gives up on the worker 5 s after the web server stopped, and the
        # worker's warm shutdown on the file-system broker takes about that long.)
        assert "SIGINT received" in stopping
        assert "web.1 stopped" in stopping, stopping
        assert "worker.1 stopped" in stopping, stopping
        assert "exited with" not in stopping, stopping
        assert not re.search(r"\b(ERROR|WARNING|CRITICAL)\b", stopping), stopping
        assert "Traceback" not in stopping
        assert "KeyboardInterrupt" not in stopping
        assert not (home / ".gunicorn").exists(), "gunicorn's control socket is not put in the home folder"
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    time.sleep(0.5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/healthz", timeout=2)
