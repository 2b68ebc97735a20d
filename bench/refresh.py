"""``python -m bench.refresh``: N model refreshes through the real worker vs 32 plain threads.

A fake hub runs as its own process and sleeps ``--delay`` seconds per request; it counts the
requests and the peak number in flight. The baseline is 32 threads fetching the same N model-info
URLs from the same hub with ``requests``. Ours is the scheduled refresh job, run by a real Celery
worker (Redis broker, PostgreSQL), timed from the job's creation to its end, twice: the first
refresh of N new models (revisions, artifacts, change log) and a second one where nothing changed
upstream (the steady state of the schedule).

It uses a database of its own (``--database-url``, dropped and created afresh) and a queue of its own.
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.common import free_port, prepare_database, recreate_database, start_process, wait_for

BASELINE_THREADS = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the hub sleeps per request")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--goal", type=float, default=1.5, help="the largest acceptable ratio (ours / baseline)")
    return parser.parse_args(argv)


def hub_stats(hub_url: str) -> dict[str, int]:
    return requests.get(f"{hub_url}/_stats", timeout=5).json()


def model_ids(count: int) -> list[str]:
    return [f"bench/model-{number}" for number in range(count)]


def run_baseline(hub_url: str, count: int) -> float:
    """32 plain threads, one requests.Session each, fetching the URLs the refresh fetches."""
    sessions: dict[int, requests.Session] = {}

    def fetch(upstream_id: str) -> None:
        import threading

        session = sessions.setdefault(threading.get_ident(), requests.Session())
        response = session.get(
            f"{hub_url}/api/models/{upstream_id}", params={"securityStatus": "True", "blobs": "True"}, timeout=30
        )
        response.raise_for_status()
        response.json()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=BASELINE_THREADS) as pool:
        list(pool.map(fetch, model_ids(count)))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = parse_args(argv)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    port = free_port()
    hub_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "CELERY_BROKER_URL": options.broker_url,
        "CELERY_QUEUE": f"bench-{os.getpid()}",
        "HF_ENDPOINT": hub_url,
        "HUB_MAX_IN_FLIGHT": "32",
        "HUB_REQUESTS_PER_SECOND": "100000",  # the hub here has no limit; the in-flight bound is measured
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    hub = start_process(
        [sys.executable, "-m", "tests.support.fake_hub", "--port", str(port), "--delay", str(options.delay),
         "--models", str(options.models)],
        env, log_dir / "bench-hub.log",
    )  # fmt: skip
    worker = None
    try:
        wait_for(f"{hub_url}/_stats")
        prepare_database(env, options.database_url)
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
        django.setup()
        from core.changelog import Actor
        from core.models import Job
        from inventory.refresh.jobs import start_stale_refresh
        from inventory.services.ai_models import register_model

        actor = Actor.system("bench")
        for upstream_id in model_ids(options.models):
            register_model(actor=actor, source="huggingface", upstream_id=upstream_id)
        worker = start_process(
            [str(Path(sys.executable).parent / "celery"), "-A", "registry", "worker", "--concurrency", "2",
             "--loglevel", "WARNING"],
            env, log_dir / "bench-worker.log",
        )  # fmt: skip

        def timed_refresh() -> tuple[float, dict[str, int]]:
            requests.get(f"{hub_url}/_reset_counters", timeout=5)
            job = start_stale_refresh(actor=actor)
            while not Job.objects.filter(pk=job.pk, state__in=Job.FINISHED_STATES).exists():
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited; see {log_dir / 'bench-worker.log'}")
                time.sleep(0.02)
            job.refresh_from_db()
            if job.state != Job.State.SUCCEEDED or job.result["refreshed"] != options.models:
                raise SystemExit(f"the refresh job did not refresh every model: {job.state} {job.error} {job.result}")
            return (job.finished_at - job.created_at).total_seconds(), hub_stats(hub_url)

        requests.get(f"{hub_url}/_reset_counters", timeout=5)
        baseline = run_baseline(hub_url, options.models)
        baseline_stats = hub_stats(hub_url)
        first, first_stats = timed_refresh()
        from django.conf import settings

        settings.REFRESH_STALE_AFTER_SECONDS = 0  # every model is stale again: the scheduled case
        from inventory.models import AIModel

        AIModel.objects.update(refreshed_at=None)
        steady, steady_stats = timed_refresh()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        hub.terminate()
        hub.wait(timeout=10)
        recreate_database(options.database_url, create=False)
    results = {
        "models": options.models,
        "hub_delay_seconds": options.delay,
        "baseline": {"seconds": round(baseline, 3), **baseline_stats},
        "first_refresh": {"seconds": round(first, 3), "ratio": round(first / baseline, 2), **first_stats},
        "steady_refresh": {"seconds": round(steady, 3), "ratio": round(steady / baseline, 2), **steady_stats},
        "goal_ratio": options.goal,
        "meets_goal": all(
            phase["ratio"] <= options.goal and phase["peak_in_flight"] <= BASELINE_THREADS
            for phase in ({"ratio": first / baseline, **first_stats}, {"ratio": steady / baseline, **steady_stats})
        ),
    }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
