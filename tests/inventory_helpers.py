"""Building inventories through the services, as the product does."""

from core.changelog import Actor
from inventory.models import AIModel, License, Publisher
from inventory.services import ai_models, licenses, lineage, publishers

ACTOR = Actor.system("test")


def publisher(name: str, country: str = "") -> Publisher:
    return publishers.create_publisher(actor=ACTOR, name=name, country=country)


def license_(key: str, category: str = "permissive") -> License:
    return licenses.create_license(actor=ACTOR, key=key, name=key, category=category, commercial_use="yes")


def model(upstream_id: str, owner: Publisher, declared: License | None = None) -> AIModel:
    created, _ = ai_models.register_model(
        actor=ACTOR, source="huggingface", upstream_id=upstream_id, publisher=owner, declared_license=declared
    )
    return created


def derive_from(child: AIModel, parent_id: str, relation: str = "finetune") -> None:
    lineage.add_lineage_edge(
        actor=ACTOR,
        child=child,
        parent_source="huggingface",
        parent_upstream_id=parent_id,
        relation=relation,
        origin_of_edge="manual",
    )


def origin_of(instance: AIModel) -> set[str]:
    return set(instance.origin_countries.values_list("country", flat=True))


def cuts_of(instance: AIModel) -> list[dict]:
    return AIModel.objects.get(pk=instance.pk).lineage_cuts
