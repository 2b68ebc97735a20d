"""``python -m bench.writes``: the write paths against their baselines, in one run.

1. **Bulk registration.** N models with lineage, registered through the bulk service
   (``register_many``: validation, change log, events, one recompute of effective origins), against
   ``bulk_create`` of the same rows (publishers, models, revisions, artifacts, edges) without
   services, change log or recompute. The shape (``bulk_shape``, documented in ``bench.data``, which
   the other benchmarks use too): namespaces of the shipped catalogue and unknown ones (a fifth of
   the models), chains of 1 to 6 models (each a fine-tune, quantization or adapter of the one
   before), one revision per model with 2 artifacts, and each model's card data (datasets,
   evaluation results, architecture family). Each side runs in a
   transaction that is rolled back afterwards, so both start from the same database.
2. **Concurrent registration.** New, unrelated hub models registered through the API of a real
   gunicorn on PostgreSQL, by 1 client and then by 32 clients at once: registrations per second of
   each (each registration also records its refresh job, handed to Redis; no worker runs them).

It uses a database of its own (``--database-url``, dropped and created afresh) and a queue of its own.
"""

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.common import free_port, prepare_database, recreate_database, start_process, wait_for

CHAIN_LENGTHS = (1, 2, 3, 4, 5, 6)
RELATIONS = ("finetune", "quantized", "adapter")
# Model card data: real Hugging Face dataset ids, the model_type of common configs, and evaluation
# results as cards report them (task, dataset id, dataset name, metric).
DATASET_POOL = (
    "HuggingFaceFW/fineweb", "HuggingFaceFW/fineweb-edu", "allenai/c4", "allenai/dolma",
    "togethercomputer/RedPajama-Data-1T", "cerebras/SlimPajama-627B", "wikimedia/wikipedia",
    "bigcode/the-stack-v2", "bigcode/starcoderdata", "HuggingFaceH4/ultrachat_200k",
    "HuggingFaceH4/ultrafeedback_binarized", "Open-Orca/OpenOrca", "teknium/OpenHermes-2.5", "tatsu-lab/alpaca",
    "databricks/databricks-dolly-15k", "OpenAssistant/oasst1", "meta-math/MetaMathQA", "openai/gsm8k",
    "nvidia/HelpSteer2", "Anthropic/hh-rlhf", "lmsys/lmsys-chat-1m", "mlabonne/orpo-dpo-mix-40k",
)  # fmt: skip
ARCHITECTURE_FAMILIES = ("llama", "qwen2", "qwen3", "mistral", "gemma2", "phi3", "deepseek_v3", "gpt_neox")
EVALUATIONS = (
    ("text-generation", "cais/mmlu", "MMLU (5-Shot)", "acc"),
    ("text-generation", "openai/gsm8k", "GSM8k (5-shot)", "acc"),
    ("text-generation", "Rowan/hellaswag", "HellaSwag (10-Shot)", "acc_norm"),
    ("text-generation", "allenai/ai2_arc", "AI2 Reasoning Challenge (25-Shot)", "acc_norm"),
    ("text-generation", "truthfulqa/truthful_qa", "TruthfulQA (0-shot)", "mc2"),
    ("text-generation", "allenai/winogrande", "Winogrande (5-shot)", "acc"),
    ("text-generation", "openai/openai_humaneval", "HumanEval", "pass@1"),
    ("text-generation", "google/IFEval", "IFEval (0-Shot)", "inst_level_strict_acc"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000, help="models in the bulk registration")
    parser.add_argument(
        "--requests", type=int, default=800, help="registrations by the 32 clients (1 client: a quarter)"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_writes")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--bulk-goal", type=float, default=5.0, help="the largest acceptable ratio (ours / baseline)")
    parser.add_argument("--concurrency-goal", type=float, default=2.0, help="the smallest acceptable speed-up")
    return parser.parse_args(argv)


class Rollback(Exception):
    """Ends a timed run and undoes what it wrote."""


def timed_and_undone(run: Callable[[], object]) -> float:
    from django.db import transaction

    started = time.perf_counter()
    try:
        with transaction.atomic():
            run()
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        return elapsed


def bulk_shape(count: int) -> list[dict[str, Any]]:
    """The models of the bulk run, parents before children, with a fixed seed."""
    from inventory.models import License, PublisherNamespace

    chooser = random.Random(20261201)
    cards = random.Random(20261202)  # apart, so that the lineage is the same as before the card data
    known = sorted(PublisherNamespace.objects.filter(source="huggingface").values_list("namespace", flat=True))[:40]
    unknown = [f"bench-org-{number}" for number in range(10)]
    licenses = list(License.objects.order_by("key").values_list("key", flat=True))
    models: list[dict[str, Any]] = []
    while len(models) < count:
        namespace = chooser.choice(unknown) if chooser.random() < 0.2 else chooser.choice(known)
        parent = None
        family = cards.choice(ARCHITECTURE_FAMILIES) if cards.random() >= 0.1 else ""
        for depth in range(chooser.choice(CHAIN_LENGTHS)):
            upstream_id = f"{namespace}/bench-{len(models)}"
            models.append(
                {
                    "upstream_id": upstream_id,
                    "license": chooser.choice(licenses),
                    "revision": hashlib.sha1(upstream_id.encode()).hexdigest(),
                    "parent": parent,
                    "relation": RELATIONS[depth % len(RELATIONS)],
                    "architecture_family": family,
                    **card_data(cards),
                }
            )
            parent = upstream_id
            if len(models) == count:
                break
    return models


def card_data(chooser: random.Random) -> dict[str, list[dict[str, Any]]]:
    """A model's datasets (0 to 4 of the pool; none for about 15%) and evaluation results (0 to 3)."""
    datasets = [] if chooser.random() < 0.15 else chooser.sample(DATASET_POOL, chooser.randint(1, 4))
    evaluations = chooser.sample(EVALUATIONS, chooser.randint(0, 3))
    return {
        "datasets": [{"source": "huggingface", "id": dataset_id} for dataset_id in datasets],
        "evaluation_results": [
            {
                "task": task,
                "dataset": dataset,
                "dataset_name": name,
                "metric": metric,
                "value": round(chooser.uniform(20, 90), 1),
                "verified": chooser.choice((True, False, None)),
            }
            for task, dataset, name, metric in evaluations
        ],
    }


def files_of(model: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (path, 1000 + index, hashlib.sha256(f"{model['upstream_id']}/{path}".encode()).hexdigest())
        for index, path in enumerate(("model.safetensors", "tokenizer.json"))
    ]


def register_in_bulk(models: list[dict[str, Any]]) -> None:
    """Ours: the bulk service."""
    from core.changelog import Actor
    from inventory.models import License
    from inventory.services.bulk import ModelEntry, register_many
    from inventory.services.lineage import EdgeRef
    from inventory.sources.base import FileRecord

    licenses = License.objects.in_bulk(field_name="key")
    entries = [
        ModelEntry(
            source="huggingface",
            upstream_id=model["upstream_id"],
            declared_license=licenses[model["license"]],
            revisions=[model["revision"]],
            artifacts=[FileRecord(path, size, sha256) for path, size, sha256 in files_of(model)],
            bases=[EdgeRef("huggingface", model["parent"], model["relation"], "bom")] if model["parent"] else [],
            datasets=model["datasets"],
            evaluation_results=model["evaluation_results"],
            architecture_family=model["architecture_family"],
        )
        for model in models
    ]
    register_many(actor=Actor.system("bench"), entries=entries)


def create_rows(models: list[dict[str, Any]]) -> None:
    """The baseline: the same rows with ``bulk_create``, nothing else."""
    from inventory.models import AIModel, Artifact, License, LineageEdge, Publisher, PublisherNamespace, Revision

    licenses = License.objects.in_bulk(field_name="key")
    namespaces = {model["upstream_id"].split("/")[0] for model in models}
    owners = {
        entry.namespace: entry.publisher_id
        for entry in PublisherNamespace.objects.filter(source="huggingface", namespace__in=namespaces)
    }
    new = Publisher.objects.bulk_create(Publisher(name=name) for name in sorted(namespaces - set(owners)))
    PublisherNamespace.objects.bulk_create(
        PublisherNamespace(publisher=publisher, source="huggingface", namespace=publisher.name) for publisher in new
    )
    owners.update({publisher.name: publisher.pk for publisher in new})
    rows = AIModel.objects.bulk_create(
        AIModel(
            source="huggingface",
            upstream_id=model["upstream_id"],
            publisher_id=owners[model["upstream_id"].split("/")[0]],
            declared_license=licenses[model["license"]],
            datasets=model["datasets"],
            evaluation_results=model["evaluation_results"],
            architecture_family=model["architecture_family"],
        )
        for model in models
    )
    by_id = {row.upstream_id: row for row in rows}
    revisions = Revision.objects.bulk_create(
        Revision(model=by_id[model["upstream_id"]], revision=model["revision"]) for model in models
    )
    Artifact.objects.bulk_create(
        Artifact(revision=revision, path=path, size=size, sha256=sha256, format="other", pickle_based=False)
        for model, revision in zip(models, revisions, strict=True)
        for path, size, sha256 in files_of(model)
    )
    LineageEdge.objects.bulk_create(
        LineageEdge(
            child=by_id[model["upstream_id"]],
            parent=by_id[model["parent"]],
            parent_source="huggingface",
            parent_upstream_id=model["parent"],
            relation=model["relation"],
            origin="bom",
        )
        for model in models
        if model["parent"]
    )


def bulk_phase(count: int) -> dict[str, Any]:
    models = bulk_shape(count)
    baseline = timed_and_undone(lambda: create_rows(models))
    ours = timed_and_undone(lambda: register_in_bulk(models))
    return {
        "models": count,
        "edges": sum(1 for model in models if model["parent"]),
        "baseline_seconds": round(baseline, 3),
        "ours_seconds": round(ours, 3),
        "ratio": round(ours / baseline, 2),
    }


class LockWaits:
    """Samples, every 50 ms while in use, how many database sessions wait for a lock (``pg_locks``
    rows not granted): writers that do not queue keep it at zero."""

    def __init__(self) -> None:
        self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "LockWaits":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            while not self._done.wait(0.05):
                waiting = connection.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted").fetchone()
                self.most = max(self.most, waiting[0])


def registrations(base_url: str, token: str, *, clients: int, total: int, label: str) -> dict[str, Any]:
    """``total`` registrations of new models by ``clients`` threads; rate and latencies."""
    sessions: dict[int, requests.Session] = {}
    latencies: list[float] = []

    def register(number: int) -> None:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        # 20 namespaces, met first in the warm-up: then no registration creates a publisher.
        body = {"source": "huggingface", "upstream_id": f"bench-org-{number % 20}/{label}-{number}"}
        started = time.perf_counter()
        response = session.post(
            f"{base_url}/api/v1/models/", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        latencies.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise SystemExit(f"registration answered {response.status_code}: {response.text[:500]}")

    started = time.perf_counter()
    with LockWaits() as waits, ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(register, range(total)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "registrations": total,
        "per_second": round(total / elapsed, 1),
        "most_sessions_waiting_for_a_lock": waits.most,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
    }


def concurrency_phase(env: dict[str, str], options: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    from core.changelog import Actor
    from core.tokens import issue_token

    token = issue_token(actor=Actor.system("bench"), name="bench-writes", role="deployer").secret
    port = free_port()
    web_env = {
        **env,
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": os.environ.get("BENCH_WEB_CONCURRENCY", "4"),
        "WEB_THREADS": os.environ.get("BENCH_WEB_THREADS", "8"),
    }
    web = start_process(
        [str(Path(sys.executable).parent / "gunicorn"), "registry.wsgi", "--config", "gunicorn.conf.py"],
        web_env,
        log_dir / "bench-writes-web.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/healthz")
        registrations(base_url, token, clients=4, total=40, label="warm-up")  # every gunicorn process started
        one = registrations(base_url, token, clients=1, total=max(options.requests // 4, 1), label="one")
        many = registrations(base_url, token, clients=options.clients, total=options.requests, label="many")
    finally:
        web.terminate()
        web.wait(timeout=30)
    return {"one_client": one, "many_clients": many, "speed_up": round(many["per_second"] / one["per_second"], 2)}


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = parse_args(argv)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "CELERY_BROKER_URL": options.broker_url,
        "CELERY_QUEUE": f"bench-writes-{os.getpid()}",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing runs the refreshes; nothing leaves the machine
        "API_RATE_LIMIT": "1000000/min",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    try:
        prepare_database(env, options.database_url)
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
        django.setup()
        bulk = bulk_phase(options.models)
        concurrency = concurrency_phase(env, options, log_dir)
        from celery import current_app

        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(env["CELERY_QUEUE"])
    finally:
        recreate_database(options.database_url, create=False)
    results = {
        "bulk_registration": {**bulk, "goal_ratio": options.bulk_goal},
        "concurrent_registration": {**concurrency, "goal_speed_up": options.concurrency_goal},
        "meets_goal": bulk["ratio"] <= options.bulk_goal and concurrency["speed_up"] >= options.concurrency_goal,
    }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
