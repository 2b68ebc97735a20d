"""Domain events: how a lower app tells higher ones what happened, without knowing they exist.

An app defines its events as frozen dataclasses (``@event_kind``) of JSON-ready fields and records
them with ``record`` inside the transaction of the change, so an event exists exactly when its
change does. A higher app subscribes from its ``AppConfig.ready()`` with ``@subscribe``. Each
subscriber gets each event through an outbox message of its own: broker outages and killed workers
delay a delivery but lose none, and a failing subscriber is retried alone. ``deliver`` runs the
handler and marks the delivery in one transaction, so a subscriber's database work happens once
per event, however often its message arrives. Modules named in ``EVENT_SUBSCRIBER_MODULES`` are
imported at start-up, for subscribers outside the apps (notifications, tests).
"""

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from django.db import transaction

from core import outbox
from core.bulk_insert import append_rows
from core.changelog import Actor
from core.models import DomainEvent, EventDelivery
from core.request_context import current_request_id

DELIVER_TASK = "core.deliver_event"


class Event:
    """Base of every event type: a frozen dataclass with a ``kind`` such as ``inventory.model_registered``."""

    kind: ClassVar[str]


EventType = TypeVar("EventType", bound=type[Event])
Handler = Callable[[Any], None]

_kinds: dict[str, type[Event]] = {}
_subscribers: dict[str, dict[str, Handler]] = {}  # kind -> subscriber name -> handler


def event_kind(cls: EventType) -> EventType:
    """Register an event type under its ``kind`` (each kind names one type)."""
    if _kinds.setdefault(cls.kind, cls) is not cls:
        raise ValueError(f"event kind {cls.kind!r} is already taken by {_kinds[cls.kind].__name__}")
    return cls


def subscribe(event_type: type[Event], *, name: str) -> Callable[[Handler], Handler]:
    """Register ``handler(event)`` as subscriber ``name`` of ``event_type``; the name identifies its
    deliveries, so keep it stable."""

    def register(handler: Handler) -> Handler:
        handlers = _subscribers.setdefault(event_type.kind, {})
        if handlers.setdefault(name, handler) is not handler:
            raise ValueError(f"{event_type.kind} already has a subscriber named {name!r}")
        return handler

    return register


def unsubscribe(event_type: type[Event], *, name: str) -> None:
    """Remove a subscriber (for tests that subscribe for their own duration)."""
    _subscribers.get(event_type.kind, {}).pop(name, None)


def event_types() -> list[type[Event]]:
    """Every registered event type, by kind."""
    return [_kinds[kind] for kind in sorted(_kinds)]


def subscribers_of(kind: str) -> list[str]:
    return sorted(_subscribers.get(kind, {}))


def record(*, actor: Actor, events: Iterable[Event]) -> None:
    """Record events in the current transaction, with one delivery message per subscriber each."""
    rows = [
        DomainEvent(
            kind=event.kind,
            payload=dataclasses.asdict(event),
            actor_name=actor.name,
            request_id=current_request_id(),
        )
        for event in events
    ]
    if not rows:
        return
    with transaction.atomic(savepoint=False):
        subscribed = [row for row in rows if subscribers_of(row.kind)]
        DomainEvent.objects.bulk_create(subscribed)  # their ids go into the delivery messages
        append_rows([row for row in rows if not subscribers_of(row.kind)])
        outbox.enqueue_many(
            task_name=DELIVER_TASK,
            kwargs_list=[
                {"event_id": row.pk, "subscriber": subscriber}
                for row in subscribed
                for subscriber in subscribers_of(row.kind)
            ],
        )


class UnknownSubscriber(Exception):
    """A delivery names a subscriber this process does not have (its module is not loaded)."""


def deliver(*, event_id: int, subscriber: str) -> bool:
    """Hand one event to one subscriber, unless it has had it; True when the handler ran.

    The handler runs in the transaction that marks the delivery: if it fails, nothing it wrote
    stays and the delivery is tried again later.
    """
    with transaction.atomic():
        event = DomainEvent.objects.select_for_update().get(pk=event_id)  # twin deliveries take turns
        if EventDelivery.objects.filter(event=event, subscriber=subscriber).exists():
            return False
        handler = _subscribers.get(event.kind, {}).get(subscriber)
        if handler is None:
            raise UnknownSubscriber(f"no subscriber {subscriber!r} for {event.kind} in this process")
        handler(typed(event))
        EventDelivery.objects.create(event=event, subscriber=subscriber)
        return True


def typed(event: DomainEvent) -> Event:
    """The stored event as an instance of its type."""
    return _kinds[event.kind](**event.payload)
