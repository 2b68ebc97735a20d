"""The demo inventory: real public models with their lineage, and a fictional organization's deployments.

``seed_demo`` applies ``inventory/data/demo.toml`` through the services. It is idempotent: what exists
is left as it is, and whatever of the demo set was deleted comes back.
"""

import tomllib
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.changelog import Actor
from inventory.catalogue import DATA_DIR
from inventory.models import AIModel, Deployment, Source
from inventory.purls import ModelReference, parse_reference
from inventory.selectors import find_model, license_for_hub
from inventory.services import ai_models, deployments, lineage, revisions

DEMO_FILE = DATA_DIR / "demo.toml"


@dataclass(frozen=True)
class DemoSummary:
    models: int
    edges: int
    deployments: int


def _reference(text: str) -> ModelReference:
    """A demo reference: ``<hub>:<id>``, or a bare Hugging Face id."""
    return parse_reference(text if ":" in text else f"{Source.HUGGINGFACE}:{text}")


def _model(actor: Actor, entry: dict[str, Any]) -> AIModel:
    model, _ = ai_models.register_model(
        actor=actor,
        source=entry.get("hub", Source.HUGGINGFACE),
        upstream_id=entry["upstream_id"],
        declared_license=license_for_hub(license_id=entry["license"], license_name=entry.get("license_name", "")),
        task=entry.get("task", ""),
        library=entry.get("library", ""),
        parameter_count=entry.get("parameter_count"),
        team=entry.get("team", ""),
    )
    pinned = entry.get("revision") or entry.get("version")
    if pinned:
        revisions.add_revision(actor=actor, model=model, revision=pinned)
    return model


def _deploy(actor: Actor, entry: dict[str, Any], pinned: dict[str, str]) -> bool:
    reference = _reference(entry["model"])
    model = find_model(source=reference.source, upstream_id=reference.upstream_id)
    revision = model.revisions.get(revision=pinned[model.upstream_id].lower())
    exists = Deployment.objects.filter(
        revision=revision, system=entry["system"], environment=entry["environment"]
    ).exists()
    if not exists:  # an existing one is left alone: seeding again must change nothing
        deployments.record_deployment(
            actor=actor, revision=revision, system=entry["system"], environment=entry["environment"], team=entry["team"]
        )
    return not exists


def seed_demo(*, actor: Actor) -> DemoSummary:
    """Load the demo set, in one transaction; returns how many models, edges and deployments it has."""
    demo = tomllib.loads(DEMO_FILE.read_text(encoding="utf-8"))
    edges = 0
    with transaction.atomic():
        models = {entry["upstream_id"]: _model(actor, entry) for entry in demo["model"]}
        for entry in demo["model"]:
            for base in entry["bases"]:
                parent = _reference(base["id"])
                lineage.add_lineage_edge(
                    actor=actor,
                    child=models[entry["upstream_id"]],
                    parent_source=parent.source,
                    parent_upstream_id=parent.upstream_id,
                    relation=base["relation"],
                    origin_of_edge="model_card",
                )
                edges += 1
        pinned = {
            entry["upstream_id"]: entry.get("revision") or entry["version"]
            for entry in demo["model"]
            if entry.get("revision") or entry.get("version")
        }
        for entry in demo["deployment"]:
            _deploy(actor, entry, pinned)
    return DemoSummary(models=len(models), edges=edges, deployments=len(demo["deployment"]))
