"""Services for publishers and their hub namespaces."""

from typing import TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction

from core import changelog, events
from core.changelog import Actor
from inventory import origin
from inventory.events import PublisherCountryChanged
from inventory.models import AIModel, Publisher, PublisherNamespace
from inventory.services._common import create_validated, delete_logged, update_validated
from inventory.services.ai_models import record_facts_changed


class PublisherChanges(TypedDict, total=False):
    display_name: str
    country: str
    country_source: str
    parent: Publisher | None
    website: str


def create_publisher(
    *,
    actor: Actor,
    name: str,
    display_name: str = "",
    country: str = "",
    country_source: str = "",
    parent: Publisher | None = None,
    website: str = "",
) -> Publisher:
    """Add a publisher; ``country`` is an ISO 3166-1 alpha-2 code, or empty when unknown."""
    with transaction.atomic():
        publisher = Publisher(
            name=name,
            display_name=display_name,
            country=country,
            country_source=country_source,
            parent=parent,
            website=website,
        )
        return create_validated(actor=actor, instance=publisher)


def update_publisher(*, actor: Actor, publisher: Publisher, changes: PublisherChanges) -> Publisher:
    """Change a publisher; a new country updates the effective origin of its models and their descendants."""
    with transaction.atomic():
        models_of_publisher = set(AIModel.objects.filter(publisher=publisher).values_list("id", flat=True))
        if "country" in changes:
            origin.lock_lineage(changing=models_of_publisher, publishers_changing={publisher.pk})
        _refuse_parent_cycle(publisher, changes.get("parent"))
        previous_country = Publisher.objects.values_list("country", flat=True).get(pk=publisher.pk)
        publisher, changed = update_validated(
            actor=actor, instance=publisher, changes=changes, allowed=set(PublisherChanges.__annotations__)
        )
        if "country" in changed:
            events.record(
                actor=actor,
                events=[PublisherCountryChanged(publisher.pk, publisher.name, previous_country, publisher.country)],
            )
            # Models that took this publisher while we waited for the lock are recomputed too.
            models_of_publisher |= set(AIModel.objects.filter(publisher=publisher).values_list("id", flat=True))
            origin.recompute(actor=actor, model_ids=models_of_publisher)
        return publisher


def _refuse_parent_cycle(publisher: Publisher, parent: Publisher | None) -> None:
    ancestor_id, seen = (parent.pk if parent else None), set()
    while ancestor_id is not None and ancestor_id not in seen:
        if ancestor_id == publisher.pk:
            raise ValidationError({"parent": "a publisher cannot be its own parent, directly or through others"})
        seen.add(ancestor_id)
        ancestor_id = Publisher.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()


def delete_publisher(*, actor: Actor, publisher: Publisher) -> None:
    """Delete a publisher that no model refers to, with its namespaces (each logged)."""
    with transaction.atomic():
        if AIModel.objects.filter(publisher=publisher).exists():
            raise ValidationError("the publisher has models: move them to another publisher first")
        for namespace in PublisherNamespace.objects.filter(publisher=publisher):
            delete_logged(actor=actor, instance=namespace, message=f"deleted with {publisher}")
        delete_logged(actor=actor, instance=publisher)


def add_namespace(
    *, actor: Actor, publisher: Publisher, source: str, namespace: str, is_alias: bool = False
) -> PublisherNamespace:
    """Record a hub namespace of the publisher (an alias when the hub renamed it)."""
    with transaction.atomic():
        origin.lock_lineage(new_namespaces={namespace})  # as a registration meeting it first does
        entry = PublisherNamespace(publisher=publisher, source=source, namespace=namespace, is_alias=is_alias)
        return create_validated(actor=actor, instance=entry)


def move_namespace(
    *, actor: Actor, namespace: PublisherNamespace, publisher: Publisher, is_alias: bool
) -> PublisherNamespace:
    """Give a hub namespace to the publisher that owns it; the namespace's models move along.

    This is how a curator settles a namespace that registration met first and gave a publisher
    of unknown country: the models take the owner's country, and their descendants follow.
    """
    with transaction.atomic():
        movers = AIModel.objects.filter(
            publisher_id=namespace.publisher_id,
            source=namespace.source,
            upstream_id__istartswith=f"{namespace.namespace}/",
        )
        # The previous owner exclusively: a registration that read it as the namespace's owner
        # commits first (and its model moves too) or waits and sees the new owner.
        origin.lock_lineage(
            changing=set(movers.values_list("id", flat=True)),
            publishers_read={publisher.pk},
            publishers_changing={namespace.publisher_id},
        )
        namespace, _ = update_validated(
            actor=actor,
            instance=namespace,
            changes={"publisher": publisher, "is_alias": is_alias},
            allowed={"publisher", "is_alias"},
        )
        moved = list(movers.select_for_update())  # the previous owner's, as the queryset was built
        for model in moved:
            before = changelog.snapshot(model)
            updated, _ = update_validated(
                actor=actor, instance=model, changes={"publisher": publisher}, allowed={"publisher"}
            )
            record_facts_changed(actor=actor, before=before, model=updated)
        origin.recompute(actor=actor, model_ids={model.id for model in moved})
        return namespace


def remove_namespace(*, actor: Actor, namespace: PublisherNamespace) -> None:
    """Forget a hub namespace."""
    with transaction.atomic():
        delete_logged(actor=actor, instance=namespace)
