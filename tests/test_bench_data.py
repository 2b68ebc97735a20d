"""The benchmarks' data set (bench.data) at a tiny size, on a database of its own: its documented shape."""

import json
import os
import subprocess
import sys

import psycopg
import pytest

from bench.writes import ARCHITECTURE_FAMILIES, DATASET_POOL, EVALUATIONS
from tests.support.processes import PROJECT_DIR

MODELS = 40


@pytest.fixture
def data_set(tmp_path, django_db_setup):
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/registry_bench_data_ci_{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.data", "--models", str(MODELS), "--database-url", database,
         "--broker-url", os.environ["CELERY_BROKER_URL"]],
        cwd=PROJECT_DIR, env={**os.environ, "BENCH_LOG_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout[done.stdout.index("{") :])
    try:
        with psycopg.connect(database) as connection:
            yield results, connection
    finally:
        from bench.common import recreate_database

        recreate_database(database, create=False)


def rows(connection, query: str) -> list[tuple]:
    return connection.execute(query).fetchall()


def test_the_data_set_has_its_documented_shape_and_stays_for_other_benchmarks(data_set):
    results, connection = data_set
    assert results["kept"] is True
    [(models, edges)] = rows(
        connection, "SELECT count(*), (SELECT count(*) FROM inventory_lineageedge) FROM inventory_aimodel"
    )
    assert (results["models"], models) == (MODELS, MODELS)
    assert results["edges"] == edges
    assert 0 < edges < MODELS, "chains of 1 to 6 models"
    assert rows(connection, "SELECT count(*) FROM inventory_revision") == [(MODELS,)]
    assert rows(connection, "SELECT count(*) FROM inventory_artifact") == [(2 * MODELS,)]

    cards = rows(connection, "SELECT datasets, evaluation_results, architecture_family FROM inventory_aimodel")
    named = [entry for datasets, _, _ in cards for entry in datasets]
    assert len(named) == results["datasets_named"] > 0
    assert {entry["source"] for entry in named} == {"huggingface"}
    assert {entry["id"] for entry in named} <= set(DATASET_POOL)
    assert all(len(datasets) <= 4 for datasets, _, _ in cards)
    evaluations = [result for _, results_, _ in cards for result in results_]
    assert len(evaluations) == results["evaluation_results"] > 0
    assert all(len(results_) <= 3 for _, results_, _ in cards)
    known = {(task, dataset, name, metric) for task, dataset, name, metric in EVALUATIONS}
    for result in evaluations:
        assert set(result) == {"task", "dataset", "dataset_name", "metric", "value", "verified"}
        assert (result["task"], result["dataset"], result["dataset_name"], result["metric"]) in known
        assert isinstance(result["value"], float)
        assert result["verified"] in (True, False, None)
    families = {family for _, _, family in cards}
    assert families - {""}
    assert families <= {*ARCHITECTURE_FAMILIES, ""}
    [(mixed,)] = rows(
        connection,
        "SELECT count(*) FROM inventory_lineageedge edge JOIN inventory_aimodel child ON child.id = edge.child_id "
        "JOIN inventory_aimodel parent ON parent.id = edge.parent_id "
        "WHERE child.architecture_family <> parent.architecture_family",
    )
    assert mixed == 0, "a chain shares its architecture family"

    assert (
        rows(connection, "SELECT count(*) FROM governance_policy WHERE enabled") == [(20,)] == [(results["policies"],)]
    )
    assert rows(connection, "SELECT count(*) FROM governance_auditreview") == [(results["audit_reviews"],)]
    [(violations, waived)] = rows(
        connection, "SELECT count(*), count(*) FILTER (WHERE state = 'waived') FROM governance_violation"
    )
    assert violations == results["violations"] > 0
    assert waived == results["waived"]
    [(logged,)] = rows(
        connection, "SELECT count(*) FROM core_changelogentry WHERE object_type = 'governance.violation'"
    )
    assert logged == violations + waived, "each violation's creation logged, and each waiver"
    assert results["seconds"] >= results["register_seconds"]
