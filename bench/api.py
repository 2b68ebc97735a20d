"""``python -m bench.api``: the model list (limit=100), detail and lineage under gunicorn on PostgreSQL
with N models, each against a baseline served by the same gunicorn with the same token lookup that
reads the same rows with ``.values()`` and returns them with ``JsonResponse`` (bench/baseline.py).

Requests go one at a time, ours and the baseline's alternating, each for a random page or model (a
fixed seed); nothing is cached. The ratio is ours / baseline of the median latency. The models come
in lineage chains of five, so a lineage has ancestors and descendants to walk. It uses a database of
its own (``--database-url``, dropped and created afresh, dropped again at the end).
"""

import argparse
import itertools
import json
import os
import random
import statistics
import time
from pathlib import Path

import requests

from bench.common import free_port, recreate_database, setup_django, start_web, token_session

PAGE = 100
CHAIN = 5  # models per lineage chain
COUNTRIES = ("CN", "US", "FR", "")  # "" is a publisher whose country is unknown


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint, for ours and for the baseline")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_api")
    parser.add_argument("--goal", type=float, default=3.0, help="the largest acceptable ratio (ours / baseline)")
    parser.add_argument("--seed", type=int, default=1010)
    return parser.parse_args(argv)


def seed_models(count: int) -> list[int]:
    """``count`` hub models in bulk (publishers, licenses from the catalogue, a revision each, lineage
    chains with the derived facts that go with them); returns their ids."""
    from inventory.models import AIModel, License, LineageEdge, OriginCountry, Publisher, Revision

    publishers = Publisher.objects.bulk_create(
        Publisher(name=f"bench-org-{index}", country=COUNTRIES[index % len(COUNTRIES)]) for index in range(50)
    )
    licenses = list(License.objects.order_by("key"))
    models = AIModel.objects.bulk_create(
        AIModel(
            source="huggingface", upstream_id=f"{publishers[index % 50].name}/model-{index:06d}",
            publisher=publishers[index % 50], declared_license=licenses[index % len(licenses)],
            upstream_license=licenses[index % len(licenses)].key, task="text-generation", library="transformers",
            architecture="LlamaForCausalLM", parameter_count=7_000_000_000, description=f"bench model {index}",
            tags=["bench", "text-generation"], team="ml", refresh_state="ok",
        )
        for index in range(count)
    )  # fmt: skip
    Revision.objects.bulk_create(Revision(model=model, revision=f"{model.pk:040x}") for model in models)
    OriginCountry.objects.bulk_create(
        OriginCountry(model=model, country=model.publisher.country or "unknown") for model in models
    )
    pairs = enumerate(itertools.pairwise(models), start=1)
    children = [(child, parent) for index, (parent, child) in pairs if index % CHAIN]  # chains of CHAIN models
    LineageEdge.objects.bulk_create(
        LineageEdge(child=child, parent=parent, parent_source=parent.source, parent_upstream_id=parent.upstream_id,
                    relation="finetune", origin="manual")
        for child, parent in children
    )  # fmt: skip
    AIModel.inherited_licenses.through.objects.bulk_create(
        AIModel.inherited_licenses.through(aimodel_id=child.pk, license_id=parent.declared_license_id)
        for child, parent in children
    )
    return [model.pk for model in models]


def timed(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code} {response.text[:500]}")
    return elapsed


def endpoints(offsets: list[int], picked: list[int]) -> dict[str, list[tuple[str, str]]]:
    """For each endpoint, the paths of ours and of the baseline, one pair per request."""
    return {
        "list": [
            (f"/api/v1/models/?limit={PAGE}&offset={offset}", f"/bench/models/?offset={offset}") for offset in offsets
        ],
        "detail": [(f"/api/v1/models/{pk}/", f"/bench/models/{pk}/") for pk in picked],
        "lineage": [(f"/api/v1/models/{pk}/lineage/", f"/bench/models/{pk}/lineage/") for pk in picked],
    }


def compare(
    session: requests.Session,
    base_url: str,
    pairs: list[tuple[str, str]],
    baseline_session: requests.Session | None = None,
) -> dict[str, float]:
    """Median latencies of ours and the baseline's (asked with ``baseline_session`` when it signs in
    another way), requested alternately, and their ratio."""
    ours, baseline = [], []
    for our_path, baseline_path in pairs:
        ours.append(timed(session, base_url + our_path))
        baseline.append(timed(baseline_session or session, base_url + baseline_path))
    our_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    return {
        "requests": len(pairs),
        "ours_ms": round(our_median * 1000, 2),
        "baseline_ms": round(baseline_median * 1000, 2),
        "ratio": round(our_median / baseline_median, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = parse_args(argv)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
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

        ids = seed_models(options.models)
        secret = issue_token(actor=Actor.system("bench"), name="bench", role="viewer").secret
        web = start_web(env, log_dir / "bench-api-web.log", base_url)
        session = token_session(secret)
        pick = random.Random(options.seed)
        offsets = [pick.randrange(0, max(options.models - PAGE, 1)) for _ in range(options.requests)]
        picked = [pick.choice(ids) for _ in range(options.requests)]
        for warm_up in endpoints(offsets[:1], picked[:1]).values():  # each process's first request is slower
            compare(session, base_url, warm_up * 4)
        results: dict[str, object] = {"models": options.models}
        for name, pairs in endpoints(offsets, picked).items():
            results[name] = compare(session, base_url, pairs)
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        recreate_database(options.database_url, create=False)
    results["goal_ratio"] = options.goal
    results["meets_goal"] = all(results[name]["ratio"] <= options.goal for name in ("list", "detail", "lineage"))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
