"""``python -m bench.gate``: the deploy gate (``POST /api/v1/gate/``) under gunicorn on PostgreSQL with
N models and 20 enabled policies, against a baseline served by the same gunicorn with the same token
lookup that reads the same model's row and its origin rows with ``.values()`` and returns them with
``JsonResponse`` (bench/baseline.py).

The models are those of the write benchmark's bulk registration (``bench.writes``: its shape, through
``register_many``), then given audits (a fixed share approved, pending, rejected or lapsed), refresh times, hub scans
and a few pickle-based files; 20 policies over origin, license, audit and artifacts are created through
the policy service and their violations evaluated, and some of those are waived, so the gate meets
every kind of row it reads. Requests go one at a time, ours and the baseline's alternating, each for a
random model (a fixed seed) in ``prod``; nothing is cached. The ratio is ours / baseline of the median
latency. It uses a database of its own (``--database-url``, dropped and created afresh, dropped again
at the end) and a queue of its own.
"""

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bench.common import free_port, recreate_database, setup_django, start_web, token_session
from bench.writes import bulk_shape, register_in_bulk

ENVIRONMENT = "prod"
APPROVED = ["approved", "conditional"]
# 20 enabled policies, as a registry's governance team might write them: origin, license, audit, artifacts.
POLICIES: list[dict[str, Any]] = [
    {"name": "cn-derived-needs-security-audit", "action": "fail", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "effective_origin", "operator": "contains_any", "value": ["CN"]},
                    {"subject": "audit_status", "kind": "security", "operator": "not_in", "value": APPROVED}]},
    {"name": "sanctioned-origin", "action": "fail", "match": "any",
     "conditions": [{"subject": "effective_origin", "operator": "contains_any", "value": ["RU", "IR", "KP"]},
                    {"subject": "publisher_country", "operator": "in", "value": ["RU", "IR", "KP"]}]},
    {"name": "origin-unknown", "action": "warn", "match": "all",
     "conditions": [{"subject": "origin_unknown", "operator": "is", "value": True}]},
    {"name": "unknown-publisher-in-prod", "action": "fail", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "publisher_country", "operator": "is", "value": "unknown"},
                    {"subject": "audit_status", "kind": "full", "operator": "is_not", "value": "approved"}]},
    {"name": "license-unknown", "action": "fail", "match": "any",
     "conditions": [{"subject": "license_unknown", "operator": "is", "value": True},
                    {"subject": "license_category", "operator": "is", "value": "unknown"}]},
    {"name": "no-commercial-use", "action": "fail", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "commercial_use", "operator": "is", "value": "no"}]},
    {"name": "conditional-commercial-use-needs-license-audit", "action": "warn", "match": "all",
     "conditions": [{"subject": "commercial_use", "operator": "is", "value": "conditional"},
                    {"subject": "audit_status", "kind": "license", "operator": "not_in", "value": APPROVED}]},
    {"name": "copyleft-review", "action": "warn", "match": "all",
     "conditions": [{"subject": "license_category", "operator": "is", "value": "copyleft"}]},
    {"name": "network-copyleft", "action": "fail", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "license", "operator": "in", "value": ["AGPL-3.0-only", "GPL-3.0-only"]}]},
    {"name": "license-mismatch", "action": "warn", "match": "all",
     "conditions": [{"subject": "license_mismatch", "operator": "is", "value": True}]},
    {"name": "audit-rejected", "action": "fail", "match": "any",
     "conditions": [{"subject": "audit_status", "operator": "is", "value": "rejected"},
                    {"subject": "audit_status", "kind": "security", "operator": "is", "value": "rejected"}]},
    {"name": "audit-expired", "action": "fail", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "audit_status", "operator": "is", "value": "expired"}]},
    {"name": "stale-approval", "action": "warn", "match": "all",
     "conditions": [{"subject": "days_since_approval", "operator": "gt", "value": 365}]},
    {"name": "security-audit-in-prod", "action": "warn", "match": "all", "environments": ["prod"],
     "conditions": [{"subject": "audit_status", "kind": "security", "operator": "in",
                     "value": ["unaudited", "pending"]}]},
    {"name": "pickle-files", "action": "fail", "match": "all",
     "conditions": [{"subject": "pickle_artifacts", "operator": "is", "value": True}]},
    {"name": "hub-scan-issues", "action": "fail", "match": "all",
     "conditions": [{"subject": "scan_issues", "operator": "gt", "value": 0}]},
    {"name": "hub-scan-not-done", "action": "warn", "match": "all", "environments": ["prod", "staging"],
     "conditions": [{"subject": "scan_not_done", "operator": "is", "value": True}]},
    {"name": "stale-metadata", "action": "warn", "match": "any",
     "conditions": [{"subject": "metadata_age_days", "operator": "gt", "value": 30},
                    {"subject": "refresh_state", "operator": "in", "value": ["error", "gone"]}]},
    {"name": "ml-team-full-audit", "action": "warn", "match": "all", "teams": ["ml"],
     "conditions": [{"subject": "audit_status", "kind": "full", "operator": "not_in", "value": APPROVED}]},
    {"name": "gated-models-staging", "action": "info", "match": "all", "environments": ["staging"],
     "conditions": [{"subject": "gated", "operator": "is", "value": True}]},
]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="gate calls, and as many of the baseline")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_gate")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--goal", type=float, default=2.0, help="the largest acceptable ratio (ours / baseline)")
    parser.add_argument("--seed", type=int, default=1212)
    return parser.parse_args(argv)


def seed_governance(chooser: random.Random) -> dict[str, int]:
    """What the gate reads beyond the inventory: audits, refreshes, hub scans, pickle-based files, the
    policies, their violations and some waivers. Returns how many of each."""
    from django.utils import timezone

    from core.access import Principal
    from core.changelog import Actor
    from core.models import Role
    from governance import violations
    from governance.models import AuditReview, Violation, ViolationState
    from governance.policies import create_policy
    from inventory.models import AIModel, Artifact, Revision

    now = timezone.now()
    reviews = []
    model_ids = list(AIModel.objects.order_by("pk").values_list("pk", flat=True))
    for model_id in model_ids:
        roll = chooser.random()
        decided = now - timedelta(days=chooser.randint(1, 600))
        review = {"model_id": model_id, "requester_kind": "system", "requester_name": "bench"}
        if roll < 0.35:  # a security approval, some with conditions
            state = "approved" if chooser.random() < 0.8 else "approved_with_conditions"
            reviews.append(AuditReview(**review, kind="security", state=state, decided_at=decided))
        elif roll < 0.45:  # a full audit, which counts for security and license too
            reviews.append(AuditReview(**review, kind="full", state="approved", decided_at=decided))
        elif roll < 0.55:
            reviews.append(AuditReview(**review, kind="security", state="requested"))
        elif roll < 0.60:
            reviews.append(AuditReview(**review, kind="license", state="rejected", decided_at=decided))
        elif roll < 0.65:  # an approval past its end
            expired = decided + timedelta(days=chooser.randint(0, 30))
            expires = min(expired, now - timedelta(days=1))
            reviews.append(AuditReview(**review, kind="security", state="approved", decided_at=decided,
                                       expires_at=expires))  # fmt: skip
    AuditReview.objects.bulk_create(reviews, batch_size=2000)
    refreshed: dict[int, list[int]] = {}  # days ago: the models last refreshed then (the rest never were)
    for model_id in model_ids:
        if chooser.random() < 0.85:
            refreshed.setdefault(chooser.randint(0, 45), []).append(model_id)
    for days, ids in refreshed.items():
        AIModel.objects.filter(pk__in=ids).update(refresh_state="ok", refreshed_at=now - timedelta(days=days))
    revision_ids = list(Revision.objects.order_by("pk").values_list("pk", flat=True))
    scanned = [pk for pk in revision_ids if chooser.random() < 0.7]
    Revision.objects.filter(pk__in=scanned).update(scan_done=True)
    issues = [pk for pk in scanned if chooser.random() < 0.03]
    Revision.objects.filter(pk__in=issues).update(scan_issues=[{"path": "model.safetensors", "issue": "bench"}])
    pickled = [pk for pk in revision_ids if chooser.random() < 0.05]
    Artifact.objects.filter(revision_id__in=pickled, path="model.safetensors").update(
        path="pytorch_model.bin", format="pytorch-pickle", pickle_based=True
    )
    actor = Actor.system("bench")
    policies = [create_policy(actor=actor, definition={**policy, "enabled": True}) for policy in POLICIES]
    # What the policies' subscribers would do when their events are delivered (no worker runs here).
    violations.evaluate(model_ids=model_ids)
    auditor = Principal(actor=Actor.system("bench-auditor"), role=Role.AUDITOR)
    open_violations = list(Violation.objects.filter(state=ViolationState.OPEN).order_by("pk"))
    waived = [violation for violation in open_violations if chooser.random() < 0.02]
    for violation in waived:
        violations.waive(principal=auditor, violation=violation, reason="bench", until=now + timedelta(days=90))
    return {
        "policies": len(policies),
        "audit_reviews": len(reviews),
        "revisions_scanned": len(scanned),
        "revisions_with_pickle_files": len(pickled),
        "violations": len(open_violations),
        "waived": len(waived),
    }


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
