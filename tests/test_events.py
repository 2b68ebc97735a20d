"""Domain events: recorded with the change, delivered once to each subscriber, a failure retried alone."""

import contextlib

import pytest
from django.db import transaction
from django.test import override_settings

from core import events
from core.access import Principal
from core.events import DELIVER_TASK
from core.models import DomainEvent, EventDelivery, OutboxMessage, Role
from inventory.models import AIModel, License, Publisher
from inventory.services import ai_models, deployments, licenses, publishers, revisions, upstream
from inventory.sources.base import FileRecord, UpstreamRecord
from tests.inventory_helpers import ACTOR, derive_from, model, publisher
from tests.support.event_subscribers import KINDS, deliveries
from tests.support.processes import wait_until

SHA = "a" * 40


def deliver_everything() -> None:
    """Run every delivery message as a worker would, each twice (a message handed over twice)."""
    for message in OutboxMessage.objects.filter(task_name=DELIVER_TASK).order_by("created_at"):
        for _ in range(2):
            with contextlib.suppress(RuntimeError):  # the flaky subscriber's first try: the next one succeeds
                events.deliver(**message.kwargs)


def every_kind_of_change() -> None:
    lab = publisher("base-lab", "FR")
    base = model("base-lab/base", lab)
    child = model("us-lab/child", publisher("us-lab", "US"))
    derive_from(child, "base-lab/base")
    ai_models.update_model(actor=ACTOR, model=child, changes={"description": "a chat model"})
    pinned, _ = revisions.add_revision(
        actor=ACTOR, model=child, revision=SHA, artifacts=[FileRecord("model.bin", 10, "b" * 64)]
    )
    publishers.update_publisher(actor=ACTOR, publisher=Publisher.objects.get(pk=lab.pk), changes={"country": "CN"})
    licenses.update_license(actor=ACTOR, license_=License.objects.get(key="MIT"), changes={"commercial_use": "no"})
    deployment, _ = deployments.record_deployment(actor=ACTOR, revision=pinned, system="chat", environment="prod")
    deployments.retire_deployment(principal=Principal(actor=ACTOR, role=Role.ADMIN), deployment=deployment)
    for license_id in ("mit", "apache-2.0"):  # the second refresh sees the license change upstream
        record = UpstreamRecord(upstream_id=base.upstream_id, revision="b" * 40, license_id=license_id)
        upstream.record_refreshes(actor=ACTOR, refreshed=[(AIModel.objects.get(pk=base.pk), record)])


@pytest.mark.smoke
@pytest.mark.django_db
def test_each_kind_of_event_is_recorded_with_its_change_and_delivered_once_per_subscriber(test_subscribers):
    every_kind_of_change()

    deliver_everything()

    recorded = deliveries(test_subscribers)
    kinds = {line["kind"] for line in recorded if line["subscriber"] == "tests.recorder"}
    assert kinds == {kind.kind for kind in KINDS}
    event_count = DomainEvent.objects.count()
    registered = DomainEvent.objects.filter(kind="inventory.model_registered").count()
    assert len(recorded) == event_count + registered  # recorder: every event; flaky: each registration
    assert EventDelivery.objects.filter(subscriber__startswith="tests.").count() == event_count + registered


@pytest.mark.smoke
@pytest.mark.django_db
def test_the_payload_says_what_changed():
    lab = publisher("lab", "FR")
    target = model("lab/m", lab)
    ai_models.update_model(actor=ACTOR, model=target, changes={"task": "text-generation", "gated": True})
    publishers.update_publisher(actor=ACTOR, publisher=Publisher.objects.get(pk=lab.pk), changes={"country": "CN"})

    facts = DomainEvent.objects.get(kind="inventory.model_facts_changed").payload
    country = DomainEvent.objects.get(kind="inventory.publisher_country_changed").payload
    derived = DomainEvent.objects.filter(kind="inventory.derived_facts_changed").order_by("id").last().payload

    assert facts == {
        "model_id": target.pk,
        "changes": {"task": {"before": "", "after": "text-generation"}, "gated": {"before": False, "after": True}},
    }
    assert (country["before"], country["after"]) == ("FR", "CN")
    assert (derived["before"]["effective_origin"], derived["after"]["effective_origin"]) == (["FR"], ["CN"])


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_event_and_no_delivery(test_subscribers):
    def change_that_fails() -> None:
        with transaction.atomic():
            model("lab/m", publisher("lab", "FR"))
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert not DomainEvent.objects.exists()
    assert not OutboxMessage.objects.filter(task_name=DELIVER_TASK).exists()


@pytest.mark.django_db
def test_no_subscriber_means_the_event_is_kept_without_deliveries():
    pinned, _ = revisions.add_revision(actor=ACTOR, model=model("lab/m", publisher("lab", "FR")), revision=SHA)
    deployments.record_deployment(actor=ACTOR, revision=pinned, system="chat", environment="prod")

    [event] = DomainEvent.objects.filter(kind="inventory.deployment_registered")  # nothing subscribes to it
    messages = OutboxMessage.objects.filter(task_name=DELIVER_TASK)
    assert messages.exists(), "the other events here have subscribers (governance)"
    assert event.pk not in {message.kwargs["event_id"] for message in messages}


def test_the_worker_delivers_to_each_subscriber_once_and_retries_a_failing_one_alone(
    worker, test_subscribers, transactional_db
):
    registered = model("lab/worker-delivered", publisher("lab", "FR"))
    event = DomainEvent.objects.get(kind="inventory.model_registered", payload__model_id=registered.pk)

    def delivered_to_both() -> bool:
        return EventDelivery.objects.filter(event=event, subscriber__startswith="tests.").count() == 2

    wait_until(delivered_to_both, timeout=60, what="delivery to both subscribers")
    delivered = [line["subscriber"] for line in deliveries(test_subscribers) if line["payload"] == event.payload]
    failed = [line["subscriber"] for line in deliveries(test_subscribers, "failed") if line["payload"] == event.payload]
    assert sorted(delivered) == ["tests.flaky", "tests.recorder"]  # once each
    assert failed == ["tests.flaky"]  # its first try failed and was retried; the recorder's was not
    states = {
        message.kwargs["subscriber"]: message.state
        for message in OutboxMessage.objects.filter(task_name=DELIVER_TASK, kwargs__event_id=event.pk)
        if message.kwargs["subscriber"].startswith("tests.")
    }
    assert states == {"tests.recorder": "done", "tests.flaky": "done"}


@pytest.mark.smoke
@pytest.mark.django_db
@override_settings(EVENT_DELIVERY_MAX_ATTEMPTS=3, EVENT_RETRY_SECONDS=0, OUTBOX_MAX_RUNS=2)
def test_a_subscriber_that_keeps_failing_is_given_up_after_its_attempts_with_its_error():
    from core.tasks import deliver_event
    from inventory.events import ModelRegistered

    tries: list[int] = []

    def broken(event: ModelRegistered) -> None:
        tries.append(event.model_id)
        raise RuntimeError("the notification service is down")

    events.subscribe(ModelRegistered, name="tests.broken")(broken)
    try:
        model("lab/m", publisher("lab", "FR"))
        message = OutboxMessage.objects.get(task_name=DELIVER_TASK, kwargs__subscriber="tests.broken")

        deliver_event.apply(kwargs=message.kwargs, task_id=str(message.id))  # eager: each retry at once
    finally:
        events.unsubscribe(ModelRegistered, name="tests.broken")

    message.refresh_from_db()
    assert len(tries) == 3  # EVENT_DELIVERY_MAX_ATTEMPTS, more than OUTBOX_MAX_RUNS: retries are no dead runs
    assert (message.state, message.last_error) == ("failed", "RuntimeError: the notification service is down")
    assert not EventDelivery.objects.filter(subscriber="tests.broken").exists()
