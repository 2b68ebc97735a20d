"""The benchmarks' data set, and ``python -m bench.data``: that data set alone, left in a database.

Its documented shape (every draw from fixed seeds, so the same ``--models`` gives the same data):

* **Models** (``bench.writes.bulk_shape``, through ``register_many`` in ``bench.writes.register_in_bulk``):
  namespaces of the shipped catalogue and unknown ones (a fifth of the models), in chains of 1 to 6
  models, each a fine-tune, quantization or adapter of the one before; a license of the shipped
  catalogue each; one revision with 2 artifacts (``model.safetensors``, ``tokenizer.json``) each.
* **Card data** (``bench.writes.card_data``): a chain shares one ``architecture_family`` (from
  ``ARCHITECTURE_FAMILIES``; blank for a tenth of the chains: unknown); each model names 0 to 4
  ``datasets`` from the fixed pool ``DATASET_POOL`` of Hugging Face dataset ids (none for about 15%)
  and reports 0 to 3 ``evaluation_results`` from ``EVALUATIONS`` (distinct metrics, a value with
  one decimal, verified true, false or unknown).
* **Governance** (``seed_governance``): audits for about 65% of the models (35% a security approval,
  a fifth of those with conditions; 10% a full approval; 10% a requested security audit; 5% a
  rejected license audit; 5% a security approval past its end), refresh times (85% refreshed 0 to
  45 days ago, the rest never), hub scans for 70% of the revisions (3% of those with issues), a
  pickle-based file instead of ``model.safetensors`` in 5% of the revisions, the 20 enabled
  ``POLICIES`` with their violations evaluated, and 2% of the open violations waived for 90 days.

The events the writes record stay in the outbox undelivered (no worker runs): what their
subscribers would do, ``seed_governance`` does directly (the violations' evaluation).

``python -m bench.data --models 100000 --database-url postgres://.../registry_bench_data`` drops and
creates that database, migrates it, writes the data set, prints what it wrote and how long each
part took (JSON), and leaves the database for other benchmarks (``--keep`` is the default; pass
``--drop`` to drop it at the end).
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from typing import Any

from bench.common import setup_django

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


def seed_governance(chooser: random.Random) -> dict[str, int]:
    """What the gate and the BOMs read beyond the inventory: audits, refreshes, hub scans,
    pickle-based files, the policies, their violations and some waivers. Returns how many of each."""
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


def generate(count: int, *, seed: int = 1212) -> dict[str, Any]:
    """The whole data set of ``count`` models in the current database (see the module docstring):
    what it wrote, and the seconds each part took."""
    from bench.writes import bulk_shape, register_in_bulk

    started = time.perf_counter()
    shape = bulk_shape(count)
    register_in_bulk(shape)
    registered = time.perf_counter()
    seeded = seed_governance(random.Random(seed))
    done = time.perf_counter()
    return {
        "models": count,
        "edges": sum(1 for model in shape if model["parent"]),
        "datasets_named": sum(len(model["datasets"]) for model in shape),
        "evaluation_results": sum(len(model["evaluation_results"]) for model in shape),
        **seeded,
        "register_seconds": round(registered - started, 1),
        "governance_seconds": round(done - registered, 1),
        "seconds": round(done - started, 1),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_data")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--seed", type=int, default=1212, help="the seed of the governance data")
    ending = parser.add_mutually_exclusive_group()
    ending.add_argument("--keep", dest="drop", action="store_false", help="leave the database (the default)")
    ending.add_argument("--drop", dest="drop", action="store_true", help="drop the database at the end")
    parser.set_defaults(drop=False)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.common import recreate_database

    options = parse_args(argv)
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "CELERY_BROKER_URL": options.broker_url,
        "CELERY_QUEUE": f"bench-data-{os.getpid()}",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing refreshes; nothing leaves the machine
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "registry.settings"),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    try:
        started = time.perf_counter()
        setup_django(env, options.database_url)
        migrated = time.perf_counter()
        results = {"database_url": options.database_url, "migrate_seconds": round(migrated - started, 1)}
        results.update(generate(options.models, seed=options.seed))
        from celery import current_app

        # The handed-over deliveries: no worker of this queue will ever run them (their rows stay in the outbox).
        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(env["CELERY_QUEUE"])
    finally:
        if options.drop:
            recreate_database(options.database_url, create=False)
    results["kept"] = not options.drop
    print(json.dumps(results, indent=2))
    sys.stdout.flush()
    return results


if __name__ == "__main__":
    main()
