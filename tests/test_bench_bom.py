"""The BOM benchmark still runs (at a tiny size: its timings mean nothing here)."""

import json
import os
import subprocess
import sys

from tests.support.processes import PROJECT_DIR


def test_the_bom_benchmark_runs_end_to_end(tmp_path, django_db_setup):
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/registry_bench_bom_ci_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.bom", "--floor-models", "40", "--library-models", "20", "--linear", "20,40",
         "--runs", "1", "--database-url", database, "--broker-url", os.environ["CELERY_BROKER_URL"],
         "--out-dir", str(tmp_path)],
        cwd=PROJECT_DIR, env=os.environ, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout[done.stdout.index("{") :])
    assert (results["floor"]["models"], results["library"]["models"], results["linear"]["models"]) == (40, 20, [20, 40])
    assert min(results["floor"]["ratio"], results["library"]["speedup"], results["linear"]["ratio"]) > 0
    at_40 = results["sizes"]["40"]
    assert at_40["floor"]["rows"]["models"] == 40
    assert at_40["data"]["deployments"] > 0
    # What ours wrote is a whole CycloneDX document with every model as a top-level component.
    document = json.loads((tmp_path / "bench-bom-ours-40.json").read_text())
    models = [component for component in document["components"] if component["type"] == "machine-learning-model"]
    assert (document["bomFormat"], document["specVersion"], len(models)) == ("CycloneDX", "1.6", 40)
    assert at_40["ours"]["components"] == len(document["components"])
    library = json.loads((tmp_path / "bench-bom-library-20.json").read_text())
    assert len(library["components"]) == results["sizes"]["20"]["ours"]["components"]
