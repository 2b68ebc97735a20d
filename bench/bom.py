"""``python -m bench.bom``: the organization's CycloneDX BOM, PostgreSQL to a validated JSON file,
against a floor (the same rows read with ``.values()`` and written with ``json.dumps``), against
cyclonedx-python-lib (building, serializing and validating the same components with the library),
and at two sizes (linear growth).

Every measurement runs in a fresh process (``python -m bench.bom --measure <kind>``: Django set up,
the database connection opened, then the timed part), which reports its seconds, the file's size
and its peak memory (``ru_maxrss`` of that process, before and after the timed part). Measurements
of one size alternate (ours, floor, ours, floor...) and the figure is the ratio of the medians.

The data set is the benchmarks' own (``bench.data.generate``: the bulk shape through
``register_many``, card data, audits, violations, waivers), plus the deployments a BOM reads
(``seed_deployments``: a tenth of the models' revisions in 50 systems across prod, staging and dev,
a tenth of those retired), then ``VACUUM ANALYZE`` (the planner's statistics of the new rows, as
autovacuum would gather them; without them the 100,000-model document took 56 s instead of 16 s).
One database per size (``--database-url`` with the size appended,
dropped and created afresh, dropped again when its measurements are done).

Figures (``--figure``; all by default):

* ``floor``: ours at most ``--floor-goal`` (3) times the floor, at ``--floor-models`` (10,000);
* ``library``: ours at least ``--library-goal`` (50) times faster than the library, at
  ``--library-models`` (2,000);
* ``linear``: ours at the larger of ``--linear`` (10,000,100,000) over ours at the smaller, at most
  ``--linear-goal`` (12).
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR, recreate_database, setup_django

SYSTEMS = 50
ENVIRONMENTS = ("prod", "staging", "dev")
CHUNK = 1000  # models per load_chunk in the library's path (the BOM's own chunk)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figure", choices=("floor", "library", "linear", "all"), default="all")
    parser.add_argument("--floor-models", type=int, default=10_000)
    parser.add_argument("--library-models", type=int, default=2_000)
    parser.add_argument("--linear", default="10000,100000", help="two sizes: small,large")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each side per figure (median)")
    parser.add_argument("--floor-goal", type=float, default=3.0)
    parser.add_argument("--library-goal", type=float, default=50.0)
    parser.add_argument("--linear-goal", type=float, default=12.0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_bom")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--seed", type=int, default=1414)
    parser.add_argument("--out-dir", default=os.environ.get("BENCH_LOG_DIR", "/tmp"), help="where the files go")
    # A child's part (internal): prepare a database, or measure one side on it.
    parser.add_argument("--prepare", type=int, metavar="MODELS", help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=("ours", "floor", "library"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the data set ---------------------------------------------------------------------------------


def seed_deployments(chooser: random.Random) -> int:
    """A tenth of the revisions deployed: each in one of ``SYSTEMS`` systems and one to three
    environments, a tenth of those deployments retired. Returns how many deployments."""
    from django.utils import timezone

    from inventory.models import Deployment, Revision

    now = timezone.now()
    rows = []
    for revision_id, team in Revision.objects.order_by("pk").values_list("pk", "model__team"):
        if chooser.random() >= 0.1:
            continue
        system = f"bench-system-{chooser.randrange(SYSTEMS)}"
        for environment in chooser.sample(ENVIRONMENTS, chooser.randint(1, 3)):
            first_seen = now - timedelta(days=chooser.randint(1, 300))
            retired = chooser.random() < 0.1
            rows.append(
                Deployment(revision_id=revision_id, system=system, environment=environment, team=team,
                           first_seen=first_seen, last_seen=now, active=not retired,
                           retired_at=now if retired else None)
            )  # fmt: skip
    Deployment.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def prepare(models: int, seed: int) -> dict[str, Any]:
    """In a child: the data set of ``models`` models in the (fresh, migrated) database."""
    from celery import current_app
    from django.db import connection

    from bench.data import generate

    results = generate(models, seed=seed)
    results["deployments"] = seed_deployments(random.Random(seed))
    with connection.cursor() as cursor:  # the planner's statistics of the new rows, as autovacuum would soon gather
        cursor.execute("VACUUM ANALYZE")
    with current_app.connection_for_write() as connection:  # the registrations' handed-over deliveries
        connection.default_channel.queue_purge(os.environ["CELERY_QUEUE"])
    return results


# --- the three sides --------------------------------------------------------------------------------


def ours(out: Path) -> dict[str, Any]:
    """The product's path: ``write_bom`` of the organization, CycloneDX 1.6 JSON, validated as it streams."""
    from boms.documents import Scope, write_bom

    with out.open("wb") as file:
        info = write_bom(Scope.organization(), "1.6", out=file)
    return {"components": info.component_count}


def floor(out: Path) -> dict[str, Any]:
    """The same rows the BOM reads, with ``.values()`` (one query per table, no chunks, no joins but
    the model's publisher and license columns and a violation's policy name), written with
    ``json.dumps``: no components built, nothing validated."""
    from django.utils import timezone

    from boms.loading import FULL_FIELDS, IDENTITY_FIELDS
    from governance.models import AuditReview, Violation, ViolationState
    from governance.selectors import NOT_COUNTING
    from governance.violations import with_state
    from inventory.models import AIModel, Artifact, Deployment, LineageEdge, OriginCountry, Revision

    tables = {
        "models": AIModel.objects.order_by("pk").values(*IDENTITY_FIELDS, *FULL_FIELDS),
        "revisions": Revision.objects.values("id", "model_id", "revision", "created_at"),
        "files": Artifact.objects.exclude(sha256="").values("revision_id", "path", "sha256"),
        "origin": OriginCountry.objects.values("model_id", "country"),
        "inherited_licenses": AIModel.inherited_licenses.through.objects.values("aimodel_id", "license__key"),
        "lineage": LineageEdge.objects.values(
            "child_id", "parent_id", "parent_source", "parent_upstream_id", "relation"
        ),
        "reviews": AuditReview.objects.exclude(state__in=NOT_COUNTING).values(
            "id", "model_id", "revision_id", "kind", "state", "conditions", "decided_at", "expires_at", "requested_at"
        ),
        "violations": with_state(Violation.objects.all(), ViolationState.OPEN, timezone.now()).values(
            "model_id", "policy__name"
        ),
        "deployments": Deployment.objects.filter(active=True).values("revision__model_id", "environment"),
    }
    counts = {}
    with out.open("w", encoding="utf-8") as file:
        for name, rows in tables.items():
            rows = list(rows)
            counts[name] = len(rows)
            file.write(json.dumps({name: rows}, default=str))
            file.write("\n")
    return {"rows": counts}


def library(out: Path) -> dict[str, Any]:
    """cyclonedx-python-lib's path: the same loading (``boms.loading.load_chunk``, chunks of 1,000)
    and the same ``mpr:`` property values, then the components built with the library's model,
    serialized whole with its JSON 1.6 outputter and validated with its strict JSON validator."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from django.utils import timezone

    from boms.components import datasets_of
    from boms.documents import Scope, scope_entries
    from boms.loading import load_chunk

    started = time.perf_counter()
    now = timezone.now()
    entries, _ = scope_entries(Scope.organization())
    bom = Bom()
    bom.metadata.timestamp = now
    built: dict[int, Any] = {}  # model id -> its component
    parents: dict[int, list[int]] = {}
    datasets: dict[str, dict[str, str]] = {}
    for start in range(0, len(entries), CHUNK):
        part = entries[start : start + CHUNK]
        chunk = load_chunk(part, now)
        for entry, facts in zip(part, chunk.models, strict=True):
            component = library_component(facts, chunk.ancestors)
            bom.components.add(component)
            built[entry.model_id] = component
            parents[entry.model_id] = chunk.parents.get(entry.model_id, [])
            for dataset in datasets_of(facts):
                datasets.setdefault(f"dataset:{dataset['source']}/{dataset['id']}", dataset)
    for ref, dataset in datasets.items():
        bom.components.add(library_dataset(ref, dataset))
    for model_id, component in built.items():
        bom.register_dependency(component, [built[pid] for pid in parents[model_id] if pid in built])
    built_at = time.perf_counter()
    text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string()
    out.write_text(text, encoding="utf-8")
    written_at = time.perf_counter()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise SystemExit(f"the library's document is not valid: {error}")
    steps = {"load_and_build": built_at - started, "serialize": written_at - built_at}
    steps["validate"] = time.perf_counter() - written_at
    return {"components": len(bom.components), "steps": {step: round(value, 2) for step, value in steps.items()}}


def library_purl(source: str, upstream_id: str, revision: str | None) -> Any:
    from packageurl import PackageURL

    from inventory.models import Source
    from inventory.purls import repository_urls

    namespace, name = upstream_id.split("/", 1)
    if source == Source.HUGGINGFACE:
        return PackageURL(type="huggingface", namespace=namespace, name=name, version=revision)
    qualifiers = {"repository_url": repository_urls()[source]}
    return PackageURL(type="generic", namespace=namespace, name=name, version=revision, qualifiers=qualifiers)


def library_identity(row: dict[str, Any], revision: str | None, **extra: Any) -> Any:
    """A model's identity as the library's Component (the fields of ``boms.components.identity``)."""
    from cyclonedx.model import XsUri
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity, PostalAddress

    from boms.components import hub_of
    from inventory.models import UNKNOWN_COUNTRY

    namespace, name = row["upstream_id"].split("/", 1)
    manufacturer = None
    if publisher := row["publisher__display_name"] or row["publisher__name"]:
        country = row["publisher__country"]
        manufacturer = OrganizationalEntity(
            name=publisher,
            address=PostalAddress(country=country) if country and country != UNKNOWN_COUNTRY else None,
            urls=[XsUri(row["publisher__website"])] if row["publisher__website"] else None,
        )
    hub = hub_of(row["source"])
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        group=namespace,
        name=name,
        version=revision,
        purl=library_purl(row["source"], row["upstream_id"], revision),
        manufacturer=manufacturer,
        supplier=OrganizationalEntity(name=hub["name"], urls=[XsUri(hub["url"])]) if hub else None,
        licenses=library_licenses(row),
        **extra,
    )


def library_licenses(row: dict[str, Any]) -> list[Any]:
    from cyclonedx import spdx
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.license import DisjunctiveLicense, LicenseAcknowledgement, LicenseExpression

    from boms import properties as mpr

    key, url = row["declared_license__key"], row["declared_license__url"]
    declared = LicenseAcknowledgement.DECLARED
    if not key:
        return []
    if spdx.is_supported_id(key):
        return [DisjunctiveLicense(id=key, url=XsUri(url) if url else None, acknowledgement=declared)]
    if not key.startswith("LicenseRef-") and spdx.is_expression(key):
        return [LicenseExpression(key, acknowledgement=declared)]
    return [
        DisjunctiveLicense(
            name=row["declared_license__name"] or key,
            url=XsUri(url) if url else None,
            acknowledgement=declared,
            properties=[Property(name=mpr.LICENSE_KEY, value=key)],
        )
    ]


def library_component(facts: Any, ancestors: dict[int, dict[str, Any]]) -> Any:
    """The component of ``boms.components.model_component`` with the library's model, model card aside."""
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
    from cyclonedx.model.component import Component, ComponentType, Pedigree

    from boms import properties as mpr
    from boms.components import hub_page
    from inventory.models import Source
    from inventory.purls import build_purl

    row = facts.row
    own = build_purl(source=row["source"], upstream_id=row["upstream_id"], revision=facts.revision)
    references = []
    if page := hub_page(row["source"], row["upstream_id"]):
        references.append(ExternalReference(type=ExternalReferenceType.MODEL_CARD, url=XsUri(page)))
        tree = f"{page}/tree/{facts.revision}" if row["source"] == Source.HUGGINGFACE and facts.revision else page
        references.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(tree)))
    if row["declared_license__url"]:
        references.append(
            ExternalReference(type=ExternalReferenceType.LICENSE, url=XsUri(row["declared_license__url"]))
        )
    pedigree = None
    if facts.lineage:
        entries = []
        for link in facts.lineage:
            child = own if link.depth == 1 else ancestors[link.child_id]["purl"]
            properties = [
                Property(name=mpr.LINEAGE_RELATION, value=link.relation),
                Property(name=mpr.LINEAGE_DEPTH, value=str(link.depth)),
                Property(name=mpr.LINEAGE_CHILD, value=child),
            ]
            parent = ancestors.get(link.parent_id) if link.parent_id is not None else None
            if parent is not None:
                entries.append(library_identity(parent, parent["revision"], properties=properties))
            else:
                namespace, _, name = link.parent_upstream_id.partition("/")
                properties.append(Property(name=mpr.LINEAGE_IN_INVENTORY, value="false"))
                entries.append(
                    Component(type=ComponentType.MACHINE_LEARNING_MODEL, group=namespace if name else None,
                              name=name or namespace, properties=properties,
                              purl=library_purl(link.parent_source, link.parent_upstream_id, None) if name else None)
                )  # fmt: skip
        pedigree = Pedigree(ancestors=entries)
    return library_identity(
        row,
        facts.revision,
        bom_ref=own,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256) for sha256 in facts.sha256s],
        external_references=references,
        pedigree=pedigree,
        properties=[Property(name=prop["name"], value=prop["value"]) for prop in mpr.model_properties(facts)],
    )


def library_dataset(ref: str, dataset: dict[str, str]) -> Any:
    """A dataset as the library's ``data`` component (its ``data`` field aside: the library has none)."""
    from cyclonedx.model import ExternalReference, ExternalReferenceType, XsUri
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity

    namespace, _, name = dataset["id"].partition("/")
    return Component(
        type=ComponentType.DATA,
        bom_ref=ref,
        group=namespace if name else None,
        name=name or namespace,
        supplier=OrganizationalEntity(name="Hugging Face", urls=[XsUri("https://huggingface.co")]),
        external_references=[
            ExternalReference(
                type=ExternalReferenceType.WEBSITE, url=XsUri(f"https://huggingface.co/datasets/{dataset['id']}")
            )
        ],
    )


SIDES = {"ours": ours, "floor": floor, "library": library}
# What each side imports, imported before the clock starts: a server has loaded its code before a request.
IMPORTS = {
    "ours": ("boms.documents",),
    "floor": ("boms.loading", "governance.violations"),
    "library": ("boms.documents", "cyclonedx.model.bom", "cyclonedx.output", "cyclonedx.validation.json"),
}


def measure(kind: str, out: Path) -> dict[str, Any]:
    """In a child: one side, timed from an open connection (its code imported) to a closed file."""
    import importlib

    from django.db import connection

    for module in IMPORTS[kind]:
        importlib.import_module(module)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = SIDES[kind](out)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "kind": kind,
        "seconds": round(seconds, 3),
        "bytes": out.stat().st_size,
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - before) / 1024, 1),
        **result,
    }


# --- the parent ----------------------------------------------------------------------------------


def child_env(options: argparse.Namespace, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": options.broker_url,
        "CELERY_QUEUE": f"bench-bom-{os.getpid()}",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing refreshes; nothing leaves the machine
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "registry.settings"),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bom", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"bench.bom {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured(sides: list[str], runs: int, env: dict[str, str], out_dir: Path, models: int) -> dict[str, Any]:
    """Each side ``runs`` times, alternating, each in a fresh process: their runs and medians. The
    library's side runs once (minutes, where ours takes a second)."""
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for run in range(runs):
        for side in sides:
            if side == "library" and run > 0:
                continue
            out = out_dir / f"bench-bom-{side}-{models}.json"
            results[side].append(run_child(["--measure", side, "--out", str(out)], env))
    summary: dict[str, Any] = {}
    for side, runs_of_side in results.items():
        summary[side] = {
            "seconds": round(statistics.median(run["seconds"] for run in runs_of_side), 3),
            "runs": [run["seconds"] for run in runs_of_side],
            "peak_mib": max(run["peak_mib"] for run in runs_of_side),
            "growth_mib": max(run["growth_mib"] for run in runs_of_side),
            "bytes": runs_of_side[-1]["bytes"],
            **{key: runs_of_side[-1][key] for key in ("components", "rows", "steps") if key in runs_of_side[-1]},
        }
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = parse_args(argv)
    if options.prepare is not None:  # a child: the data set
        env = child_env(options, os.environ["DATABASE_URL"])
        setup_django(env, env["DATABASE_URL"])
        print(json.dumps(prepare(options.prepare, options.seed)))
        return {}
    if options.measure is not None:  # a child: one side, measured
        import django

        django.setup()
        print(json.dumps(measure(options.measure, Path(options.out))))
        return {}
    figures = ("floor", "library", "linear") if options.figure == "all" else (options.figure,)
    small, large = (int(size) for size in options.linear.split(","))
    wanted: dict[int, set[str]] = {}  # models -> the sides measured at that size
    if "floor" in figures:
        wanted.setdefault(options.floor_models, set()).update(("ours", "floor"))
    if "library" in figures:
        wanted.setdefault(options.library_models, set()).update(("ours", "library"))
    if "linear" in figures:
        wanted.setdefault(small, set()).add("ours")
        wanted.setdefault(large, set()).add("ours")
    out_dir = Path(options.out_dir)
    at: dict[int, dict[str, Any]] = {}
    for models, sides in sorted(wanted.items()):
        database_url = f"{options.database_url}_{models}"
        env = child_env(options, database_url)
        started = time.perf_counter()
        try:
            data = run_child(["--prepare", str(models), "--seed", str(options.seed)], env)
            data["prepare_seconds"] = round(time.perf_counter() - started, 1)
            at[models] = {"data": data, **measured(sorted(sides, reverse=True), options.runs, env, out_dir, models)}
            print(json.dumps({str(models): at[models]}), file=sys.stderr, flush=True)  # progress
        finally:
            recreate_database(database_url, create=False)
    results: dict[str, Any] = {"sizes": {str(models): value for models, value in at.items()}}
    if "floor" in figures:
        ours_s, floor_s = at[options.floor_models]["ours"]["seconds"], at[options.floor_models]["floor"]["seconds"]
        ratio = round(ours_s / floor_s, 2)
        results["floor"] = {"models": options.floor_models, "ours_s": ours_s, "floor_s": floor_s, "ratio": ratio,
                            "goal": options.floor_goal, "met": ratio <= options.floor_goal}  # fmt: skip
    if "library" in figures:
        ours_s, lib_s = at[options.library_models]["ours"]["seconds"], at[options.library_models]["library"]["seconds"]
        speedup = round(lib_s / ours_s, 1)
        results["library"] = {"models": options.library_models, "ours_s": ours_s, "library_s": lib_s,
                              "speedup": speedup, "goal": options.library_goal,
                              "met": speedup >= options.library_goal}  # fmt: skip
    if "linear" in figures:
        small_s, large_s = at[small]["ours"]["seconds"], at[large]["ours"]["seconds"]
        ratio = round(large_s / small_s, 2)
        results["linear"] = {"models": [small, large], "seconds": [small_s, large_s], "ratio": ratio,
                             "growth_mib": [at[small]["ours"]["growth_mib"], at[large]["ours"]["growth_mib"]],
                             "goal": options.linear_goal, "met": ratio <= options.linear_goal}  # fmt: skip
    print(json.dumps(results, indent=2))
    sys.stdout.flush()
    return results


if __name__ == "__main__":
    main()
