"""The write benchmark still runs (at a tiny size: its timings mean nothing here)."""

import json
import os
import subprocess
import sys

from tests.support.processes import PROJECT_DIR


def test_the_write_benchmark_runs_end_to_end(tmp_path, django_db_setup):
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/registry_bench_writes_ci_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.writes", "--models", "60", "--requests", "16", "--clients", "4",
         "--database-url", database, "--broker-url", os.environ["CELERY_BROKER_URL"]],
        cwd=PROJECT_DIR, env={**os.environ, "BENCH_LOG_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout[done.stdout.index("{") :])
    bulk = results["bulk_registration"]
    assert (bulk["models"], bulk["ratio"] > 0) == (60, True)
    assert 0 < bulk["edges"] < 60
    concurrent = results["concurrent_registration"]
    assert concurrent["one_client"]["registrations"] == 4
    assert concurrent["many_clients"]["registrations"] == 16
    assert concurrent["speed_up"] > 0
