"""``python -m bench.gate``: the deploy gate (``POST /api/v1/gate/``) under gunicorn on PostgreSQL with
N models and 20 enabled policies, against a baseline served by the same gunicorn with the same token
lookup that reads the same model's row and its origin rows with ``.values()`` and returns them with
``JsonResponse`` (bench/baseline.py).

The data set is the benchmarks' own (``bench.data``, its documented shape): the models of the
write benchmark's bulk registration (``bench.writes``: its shape, through ``register_many``), then
given audits (a fixed share approved, pending, rejected or lapsed), refresh times, hub scans and a
few pickle-based files; 20 policies over origin, license, audit and artifacts (``bench.data.POLICIES``)
are created through the policy service and their violations evaluated, and some of those are waived,
so the gate meets every kind of row it reads. Requests go one at a time, ours and the baseline's
alternating, each for a random model (a fixed seed) in ``prod``; nothing is cached. The ratio is
ours / baseline of the median latency. It uses a database of its own (``--database-url``, dropped
and created afresh, dropped again at the end) and a queue of its own.
"""

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from bench.common import free_port, recreate_database, setup_django, start_web, token_session
from bench.data import seed_governance
from bench.writes import bulk_shape, register_in_bulk

ENVIRONMENT = "prod"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="gate calls, and as many of the baseline")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_gate")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--goal", type=float, default=2.0, help="the largest acceptable ratio (ours / baseline)")
    parser.add_argument("--seed", type=int, default=1212)
    return parser.parse_args(argv)


def timed(session: requests.Session, url: str, body: dict[str, str], seen: Counter[str] | None = None) -> float:
    started = time.perf_counter()
    response = session.post(url, json=body, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"POST {url} {body}: {response.status_code} {response.text[:500]}")
    if seen is not None:
        seen[response.json()["decision"]] += 1
    return elapsed


def compare(session: requests.Session, base_url: str, references: list[str]) -> dict[str, Any]:
    """Median latencies of the gate and the baseline, asked alternately about the same model, and
    their ratio; how many of each decision the gate gave."""
    ours, baseline, decisions = [], [], Counter[str]()
    for reference in references:
        body = {"model": reference, "environment": ENVIRONMENT}
        ours.append(timed(session, f"{base_url}/api/v1/gate/", body, decisions))
        baseline.append(timed(session, f"{base_url}/bench/gate/", body))
    our_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    return {
        "requests": len(references),
        "ours_ms": round(our_median * 1000, 2),
        "baseline_ms": round(baseline_median * 1000, 2),
        "ratio": round(our_median / baseline_median, 2),
        "decisions": dict(sorted(decisions.items())),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = parse_args(argv)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "CELERY_BROKER_URL": options.broker_url,
        "CELERY_QUEUE": f"bench-gate-{os.getpid()}",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing refreshes; nothing leaves the machine
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "WEB_BIND": f"127.0.0.1:{port}",
        "API_RATE_LIMIT": "100000000/min",  # the budget is not what is measured
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    web = None
    try:
        setup_django(env, options.database_url)
        from core.changelog import Actor
        from core.tokens import issue_token

        started = time.perf_counter()
        shape = bulk_shape(options.models)
        register_in_bulk(shape)
        seeded = seed_governance(random.Random(options.seed))
        seconds = round(time.perf_counter() - started, 1)
        secret = issue_token(actor=Actor.system("bench"), name="bench-gate", role="deployer").secret
        web = start_web(env, log_dir / "bench-gate-web.log", base_url)
        session = token_session(secret)
        pick = random.Random(options.seed)
        references = [f"huggingface:{pick.choice(shape)['upstream_id']}" for _ in range(options.requests)]
        compare(session, base_url, references[:1] * 8)  # each process's first requests are slower
        results: dict[str, object] = {"models": options.models, **seeded, "seed_seconds": seconds}
        results["gate"] = compare(session, base_url, references)
        from celery import current_app

        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(env["CELERY_QUEUE"])
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        recreate_database(options.database_url, create=False)
    results["goal_ratio"] = options.goal
    results["meets_goal"] = results["gate"]["ratio"] <= options.goal  # type: ignore[index]
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
