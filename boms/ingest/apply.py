"""Applying a CycloneDX document: the ``bom_ingest`` job, and ``apply_document`` that it runs.

The request (``boms.ingest.uploads``) has validated and stored the document; the job parses the
stored bytes again (``parsing.parse_document``; XML through ``xml_reading``), reads what it says of
models (``mapping.plan_document``, no database) and applies that in ONE transaction:

1. the system's ingest lock (a PostgreSQL advisory lock per system name: one ingest per system at a
   time; SQLite lets one writer in anyway), then the whole lineage (bulk work: other lineage
   writers wait, never see half a BOM);
2. publisher countries: a manufacturer's ``address.country`` sets the country of the namespace's
   publisher when it is unknown (never one a curator set; a different one is a conflict, logged);
3. every model, its revisions and its lineage edges through ``inventory.services.bulk.register_many``
   (one recompute for the whole BOM); licenses through the catalogue (an SPDX id, a key, an alias or
   a license's name; anything else leaves the license unset and is logged);
4. with a system (``metadata.component``) and an environment (the upload's ``?environment=``), a
   deployment of each model's revision in that system (``inventory.services.deployments.record_deployment``).

Any failure rolls the whole document back and fails the job with the reason (the component's path
when it is one component's fault). Progress is committed outside the transaction: the models the
document holds as the total, all of them done when the transaction has committed. The log says
each thing worth knowing (countries set, conflicts, unknown licenses, what was left out and why);
the result sums it up. Existing models keep their facts (what a hub or a curator said wins): a BOM
adds models, revisions, edges, deployments and unknown countries, never overwrites.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Lower

from boms.ingest import mapping
from boms.ingest.mapping import ModelPlan, Plan
from boms.ingest.parsing import JSON, parse_document
from boms.ingest.uploads import INGEST_JOB_KIND
from boms.ingest.xml_reading import document_from_xml
from boms.models import BomUpload
from core.changelog import Actor
from core.jobs import JobRun, job_handler
from core.models import Job
from core.request_context import bound_request_id, current_request_id
from inventory import origin
from inventory.models import AIModel, EdgeOrigin, License, LineageEdge, Revision, Source
from inventory.selectors import find_models, licenses_for_hub
from inventory.services.ai_models import publisher_for_namespace
from inventory.services.bulk import ModelEntry, register_many
from inventory.services.deployments import record_deployment
from inventory.services.lineage import EdgeRef
from inventory.services.publishers import update_publisher

JOB_KIND = INGEST_JOB_KIND
INGEST_ACTOR = Actor.system("bom-ingest")
_INGEST_LOCK = 7_400  # advisory-lock namespace (two-key form): key = a hash of the system's name
MAX_LOG_NOTES = 500  # log lines per job; more are counted, not written
SYSTEM_MAX_LENGTH = 100
ENVIRONMENT_MAX_LENGTH = 50
UPSTREAM_LICENSE_MAX_LENGTH = 200


class BomApplyError(Exception):
    """The document could not be applied; the message says where and why. Nothing was stored."""


@dataclass
class IngestSummary:
    """What an ingest did: the job's result."""

    models: int = 0
    models_created: int = 0
    models_existing: int = 0
    revisions_added: int = 0
    edges_added: int = 0
    deployments_created: int = 0
    deployments_seen_again: int = 0
    publisher_countries_set: int = 0
    country_conflicts: int = 0
    licenses_unknown: int = 0
    data_components: int = 0
    system: str = ""
    environment: str = ""
    notes: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        result = asdict(self)
        result["notes"] = len(self.notes)
        return result


def apply_document(
    *,
    actor: Actor,
    document: dict[str, Any],
    system: str = "",
    environment: str = "",
    team: str = "",
    progress: Callable[..., None] | None = None,
) -> IngestSummary:
    """Register what the document (CycloneDX JSON shape) says, in one transaction (see the module).
    ``system`` defaults to the document's ``metadata.component`` name. Raises ``BomApplyError``."""
    try:
        plan = mapping.plan_document(document)
    except ValidationError as error:
        raise BomApplyError(_described(error, [])) from None
    summary = IngestSummary(
        models=len(plan.models),
        data_components=plan.data_components,
        system=system or plan.system,
        environment=environment,
        notes=list(plan.notes),
    )
    if progress is not None:
        progress(done=0, total=len(plan.models))
    try:
        with transaction.atomic():
            _lock_system(summary.system)
            origin.lock_whole_lineage()
            _apply(actor=actor, plan=plan, summary=summary, team=team)
    except ValidationError as error:
        raise BomApplyError(_described(error, plan.models)) from None
    if progress is not None:
        progress(done=len(plan.models), total=len(plan.models))
    return summary


def _system_key(system: str) -> int:
    """The system's advisory-lock key: a 32-bit hash of its name (two names sharing one merely take turns)."""
    return int.from_bytes(hashlib.sha256(system.lower().encode()).digest()[:4], "big", signed=True)


def _lock_system(system: str) -> None:
    """One ingest per system at a time, until this transaction ends (documents without a system
    take turns with each other)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_INGEST_LOCK, _system_key(system)])


def _apply(*, actor: Actor, plan: Plan, summary: IngestSummary, team: str) -> None:
    notes = summary.notes
    licenses = _catalogue_licenses({value for model in plan.models for value in model.licenses})
    _set_countries(actor=actor, plan=plan, summary=summary)
    existing = _existing_models(plan.models)
    known_edges = _known_edges(existing.values())
    entries = []
    for model in plan.models:
        found = existing.get(model.key)
        declared = _declared_license(model, licenses, summary)
        parents = [
            parent
            for parent in model.parents
            if found is None or (found.pk, parent.source, parent.upstream_id.lower()) not in known_edges
        ]
        summary.edges_added += len(parents)
        upstream_license = ""
        if model.source == Source.BOM and model.licenses:  # not refreshed: what the BOM says stays visible
            upstream_license = " OR ".join(model.licenses)[:UPSTREAM_LICENSE_MAX_LENGTH]
        entries.append(
            ModelEntry(
                source=model.source,
                upstream_id=model.upstream_id,
                declared_license=declared,
                upstream_license=upstream_license,
                team=team,
                task=model.task,
                architecture=model.architecture,
                description=model.description,
                tags=model.tags,
                datasets=model.datasets,
                evaluation_results=model.evaluation_results,
                architecture_family=model.architecture_family,
                model_card=model.model_card,
                revisions=model.revisions,
                bases=[EdgeRef(p.source, p.upstream_id, p.relation, EdgeOrigin.BOM) for p in parents],
            )
        )
    revisions_before = Revision.objects.filter(model__in=list(existing.values())).count()
    result = register_many(actor=actor, entries=entries)
    summary.models_created = len(result.created)
    summary.models_existing = len(plan.models) - len(result.created)
    touched = [result.models[entry.key] for entry in entries]
    summary.revisions_added = Revision.objects.filter(model__in=touched).count() - revisions_before
    _deploy(actor=actor, plan=plan, models=result.models, summary=summary, team=team)
    if plan.models and not summary.environment and summary.system:
        notes.append(f"no environment given: no deployment recorded in system {summary.system!r}")
    if plan.data_components:
        notes.append(
            f"{plan.data_components} data component(s): kept as the datasets of the model cards that name them"
        )


def _existing_models(plans: list[ModelPlan]) -> dict[tuple[str, str], AIModel]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for model in plans:
        by_source[model.source].append(model.upstream_id)
    return {
        (source, key): found
        for source, ids in by_source.items()
        for key, found in find_models(source=source, upstream_ids=ids).items()
    }


def _known_edges(models: Any) -> set[tuple[int, str, str]]:
    """The edges the existing models have (any origin): a BOM never changes their relation."""
    edges = LineageEdge.objects.filter(child__in=list(models)).annotate(key=Lower("parent_upstream_id"))
    return set(edges.values_list("child_id", "parent_source", "key"))


def _catalogue_licenses(values: set[str]) -> dict[str, License | None]:
    """The catalogue license each written value names: a key, an alias, or a license's name (each
    case-insensitive); None for a value the catalogue does not know."""
    if not values:
        return {}
    lowered = {value.lower() for value in values}
    by_key = {row.lowered: row for row in License.objects.annotate(lowered=Lower("key")).filter(lowered__in=lowered)}
    by_alias = licenses_for_hub((value, "") for value in values)
    by_name = {row.lowered: row for row in License.objects.annotate(lowered=Lower("name")).filter(lowered__in=lowered)}
    return {
        value: by_key.get(value.lower()) or by_alias.get((value, "")) or by_name.get(value.lower()) for value in values
    }


def _declared_license(model: ModelPlan, licenses: dict[str, License | None], summary: IngestSummary) -> License | None:
    known = [licenses[value] for value in model.licenses if licenses.get(value) is not None]
    for value in model.licenses:
        if licenses.get(value) is None:
            summary.licenses_unknown += 1
            summary.notes.append(f"{model.path}: license {value!r} is not in the catalogue: left unset")
    distinct = list(dict.fromkeys(known))
    if len(distinct) > 1:
        summary.notes.append(
            f"{model.path}: several licenses ({', '.join(str(one) for one in distinct)}): declared the first"
        )
    return distinct[0] if distinct else None


def _set_countries(*, actor: Actor, plan: Plan, summary: IngestSummary) -> None:
    """Each namespace's publisher of unknown country takes its manufacturer's (when the document
    agrees with itself); a curated country stays, and a different one is a logged conflict."""
    said: dict[tuple[str, str], dict[str, list[ModelPlan]]] = defaultdict(lambda: defaultdict(list))
    for model in plan.models:
        if model.country:
            said[(model.source, model.namespace.lower())][model.country].append(model)
    for (source, _), countries in sorted(said.items()):
        first = next(iter(countries.values()))[0]
        if len(countries) > 1:
            summary.country_conflicts += 1
            summary.notes.append(
                f"{first.path}: namespace {first.namespace!r} has manufacturers in {', '.join(sorted(countries))}"
                " in this document: no country set"
            )
            continue
        country = next(iter(countries))
        publisher = publisher_for_namespace(actor=actor, source=source, namespace=first.namespace)
        if not publisher.country:
            update_publisher(actor=actor, publisher=publisher, changes={"country": country})
            summary.publisher_countries_set += 1
            summary.notes.append(f"publisher {publisher.name!r}: country set to {country} ({first.path}.manufacturer)")
        elif publisher.country != country:
            summary.country_conflicts += 1
            summary.notes.append(
                f"{first.path}.manufacturer.address.country: {first.country_given!r} ({country}) conflicts with"
                f" publisher {publisher.name!r}'s country {publisher.country}: kept {publisher.country}"
            )


def _deploy(
    *, actor: Actor, plan: Plan, models: dict[tuple[str, str], AIModel], summary: IngestSummary, team: str
) -> None:
    """A deployment of each model's revision in the system, in the environment."""
    if not (summary.system and summary.environment):
        return
    if len(summary.system) > SYSTEM_MAX_LENGTH or len(summary.environment) > ENVIRONMENT_MAX_LENGTH:
        summary.notes.append("the system or environment name is too long for a deployment: none recorded")
        return
    wanted = [(models[model.key], revision, model) for model in plan.models for revision in model.revisions]
    for model in plan.models:
        if not model.revisions:
            summary.notes.append(f"{model.path}: no revision (version) to deploy: no deployment recorded")
    revisions = {
        (row.model_id, row.revision): row
        for row in Revision.objects.filter(model__in=list({found for found, _, _ in wanted}))
    }
    for found, revision, _ in wanted:
        _, created = record_deployment(
            actor=actor,
            revision=revisions[(found.pk, revision)],
            system=summary.system,
            environment=summary.environment,
            team=team,
        )
        if created:
            summary.deployments_created += 1
        else:
            summary.deployments_seen_again += 1


def _described(error: ValidationError, plans: list[ModelPlan]) -> str:
    """A refusal as one line naming the component: ``entries.<n>.<field>`` is the n-th model's."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for name, messages in error.message_dict.items():
        where = name
        head, _, rest = name.partition(".")
        number, _, field_name = rest.partition(".")
        if head == "entries" and number.isdigit() and int(number) < len(plans):
            where = f"{plans[int(number)].path} ({plans[int(number)].upstream_id}): {field_name}"
        parts.append(f"{where}: {' '.join(messages)}")
    return "; ".join(parts)


def _actor_of(job: Job) -> Actor:
    """Who the ingest writes as: the person who sent the document, else the system on behalf of the
    token or process that did (named in the job's ``requester``)."""
    if job.requested_by is not None:
        return Actor.for_user(job.requested_by)
    if job.requester.startswith("token:"):
        return Actor(kind="token", id="", name=job.requester)
    return INGEST_ACTOR


def _write_notes(run: JobRun, notes: list[str]) -> None:
    for note in notes[:MAX_LOG_NOTES]:
        run.log(note)
    if len(notes) > MAX_LOG_NOTES:
        run.log(f"... and {len(notes) - MAX_LOG_NOTES} more notes (see the result's counts)")


@job_handler(JOB_KIND)
def ingest_bom(run: JobRun) -> dict[str, Any]:
    """The ``bom_ingest`` job: apply the stored upload ``params["document_id"]`` (see the module)."""
    params = run.job.params
    upload = BomUpload.objects.get(pk=params["document_id"])
    environment = params.get("environment", upload.environment) or ""
    parsed = parse_document(bytes(upload.content), upload.media_type)
    document = parsed.document if parsed.format == JSON else document_from_xml(parsed.document, parsed.spec_version)
    run.log(
        f"applying BOM upload #{upload.pk} ({parsed.format.upper()} {parsed.spec_version}, {upload.size} bytes)"
        + (f" for system {upload.system!r}" if upload.system else "")
        + (f" in environment {environment!r}" if environment else "")
    )
    with bound_request_id(run.job.request_id or current_request_id()):
        try:
            summary = apply_document(
                actor=_actor_of(run.job),
                document=document,
                system=upload.system,
                environment=environment,
                progress=run.progress,
            )
        except BomApplyError:
            run.log("rolled back: nothing of the document was stored")
            raise
    _write_notes(run, summary.notes)
    run.log(
        f"done: {summary.models_created} model(s) created, {summary.models_existing} already registered,"
        f" {summary.revisions_added} revision(s), {summary.edges_added} lineage edge(s),"
        f" {summary.deployments_created + summary.deployments_seen_again} deployment(s)"
    )
    return {"document_id": upload.pk, **summary.as_result()}
