"""The refresh benchmark still runs (at a tiny size: its timings mean nothing here)."""

import json
import os
import subprocess
import sys

from tests.support.processes import PROJECT_DIR


def test_the_refresh_benchmark_runs_end_to_end(tmp_path, django_db_setup):
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/registry_bench_ci_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.refresh", "--models", "20", "--delay", "0.01", "--database-url", database,
         "--broker-url", os.environ["CELERY_BROKER_URL"]],
        cwd=PROJECT_DIR, env={**os.environ, "BENCH_LOG_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:] + (tmp_path / "bench-worker.log").read_text()[-3000:]
    results = json.loads(done.stdout[done.stdout.index("{") :])
    for phase in ("baseline", "first_refresh", "steady_refresh"):
        assert results[phase]["requests"] == 20
        assert results[phase]["distinct_models"] == 20
        assert 1 <= results[phase]["peak_in_flight"] <= 32
    assert results["first_refresh"]["ratio"] > 0
