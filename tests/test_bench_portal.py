"""The portal benchmark still runs (at a tiny size: its timings mean nothing here)."""

import json
import os
import subprocess
import sys

from tests.support.processes import PROJECT_DIR


def test_the_portal_benchmark_runs_end_to_end(tmp_path, django_db_setup):
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/registry_bench_portal_ci_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.portal", "--models", "30", "--requests", "4", "--database-url", database],
        cwd=PROJECT_DIR, env={**os.environ, "BENCH_LOG_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:] + (tmp_path / "bench-portal-web.log").read_text()[-3000:]
    results = json.loads(done.stdout[done.stdout.index("{") :])
    assert results["models"] == 30
    for kind in ("all", "origin", "search"):
        assert results[kind]["requests"] == 4
        assert results[kind]["ratio"] > 0
    assert results["all"]["matching"] == 30
