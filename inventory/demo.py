"""The demo inventory: real public models with their lineage, and a fictional organization's deployments.

``seed_demo`` applies ``inventory/data/demo.toml`` through the services. It is idempotent: what exists
is left as it is, and whatever of the demo set was deleted comes back. Then it sends ``demo_seeded``,
so that apps above the inventory add their own demo records (governance: audit reviews) without the
inventory knowing they exist.
"""

import tomllib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from core.changelog import Actor
from inventory.catalogue import DATA_DIR
from inventory.models import Deployment, EdgeOrigin, Source
from inventory.purls import ModelReference, parse_reference
from inventory.selectors import find_model, license_for_hub
from inventory.services import bulk, deployments
from inventory.services.bulk import ModelEntry
from inventory.services.lineage import EdgeRef

DEMO_FILE = DATA_DIR / "demo.toml"

# Sent by ``seed_demo`` once the demo inventory is in place, with ``actor`` (who seeds). A receiver
# adds its app's demo records idempotently, through its services, and returns one line saying what
# the demo holds of them (or None).
demo_seeded = Signal()


@dataclass(frozen=True)
class DemoSummary:
    models: int
    edges: int
    deployments: int
    others: tuple[str, ...] = ()  # what the receivers of ``demo_seeded`` said they hold


def _reference(text: str) -> ModelReference:
    """A demo reference: ``<hub>:<id>``, or a bare Hugging Face id."""
    return parse_reference(text if ":" in text else f"{Source.HUGGINGFACE}:{text}")


def _entry(entry: dict[str, Any]) -> ModelEntry:
    """A demo model as the bulk path registers it; a hub model keeps the hub's license value."""
    source = entry.get("hub", Source.HUGGINGFACE)
    license_id, license_name = entry["license"], entry.get("license_name", "")
    hub_value = license_name if license_id.lower() == "other" and license_name else license_id
    pinned = entry.get("revision") or entry.get("version")
    return ModelEntry(
        source=source,
        upstream_id=entry["upstream_id"],
        declared_license=license_for_hub(license_id=license_id, license_name=license_name),
        upstream_license=hub_value if source != Source.INTERNAL else "",
        task=entry.get("task", ""),
        library=entry.get("library", ""),
        parameter_count=entry.get("parameter_count"),
        team=entry.get("team", ""),
        revisions=[pinned] if pinned else [],
        bases=[
            EdgeRef(parent.source, parent.upstream_id, base["relation"], EdgeOrigin.MODEL_CARD)
            for base in entry["bases"]
            for parent in [_reference(base["id"])]
        ],
    )


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


def demo_entries() -> list[ModelEntry]:
    """The demo's models, parents before the models derived from them, as the file lists them."""
    return [_entry(entry) for entry in _demo()["model"]]


def _demo() -> dict[str, Any]:
    return tomllib.loads(DEMO_FILE.read_text(encoding="utf-8"))


def seed_demo(*, actor: Actor) -> DemoSummary:
    """Load the demo set through the bulk path, in one transaction, then send ``demo_seeded``; returns
    how many models, edges and deployments it has, and what the receivers said."""
    demo = _demo()
    entries = demo_entries()
    with transaction.atomic():
        bulk.register_many(actor=actor, entries=entries)
        pinned = {
            entry["upstream_id"]: entry.get("revision") or entry["version"]
            for entry in demo["model"]
            if entry.get("revision") or entry.get("version")
        }
        for entry in demo["deployment"]:
            _deploy(actor, entry, pinned)
    edges = sum(len(entry.bases) for entry in entries)
    said = demo_seeded.send(sender=seed_demo, actor=actor)
    others = tuple(line for _, line in said if line)
    return DemoSummary(models=len(entries), edges=edges, deployments=len(demo["deployment"]), others=others)
