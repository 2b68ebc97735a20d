"""Concurrent writers to one lineage lose nothing: whichever commits first, every origin ends right.

Each test holds one writer's transaction open (its change made, not committed) while a second
writer runs, then lets the first commit: the two interleavings that could leave a stale origin.
"""

import threading
import time
from unittest import mock

import pytest
from django.db import connection, transaction

from inventory import origin
from inventory.models import AIModel, LineageEdge, Publisher, PublisherNamespace
from inventory.services import ai_models, publishers, upstream
from inventory.sources.base import UpstreamRecord
from tests.inventory_helpers import ACTOR, derive_from, model, origin_of, publisher

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database that writes concurrently")


def set_country(lab: Publisher, code: str) -> None:
    publishers.update_publisher(actor=ACTOR, publisher=Publisher.objects.get(pk=lab.pk), changes={"country": code})


def link_to(child: AIModel, parent_id: str) -> None:
    derive_from(AIModel.objects.get(pk=child.pk), parent_id)


def link(child: AIModel) -> None:
    link_to(child, "base-lab/base")


def interleave(first_change, second_change, hold: float = 1.0) -> tuple[float, float]:
    """Run ``first_change`` in a transaction held open for ``hold`` seconds while ``second_change``
    runs; returns when the second finished and when the first committed (monotonic seconds)."""
    made = threading.Event()
    times: dict[str, float] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                first_change()
                made.set()
                time.sleep(hold)
            times["first"] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)
            made.set()
        finally:
            connection.close()

    def second() -> None:
        made.wait(10)
        try:
            second_change()
            times["second"] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return times["second"], times["first"]


@pytest.fixture
def lineage(transactional_db):
    base_lab = publisher("base-lab", "FR")
    model("base-lab/base", base_lab)
    child = model("us/child", publisher("us-lab", "US"))
    return base_lab, child


def test_an_edge_added_while_a_country_change_is_uncommitted_gets_the_new_country(lineage):
    base_lab, child = lineage

    interleave(lambda: set_country(base_lab, "CN"), lambda: link(child))

    assert origin_of(child) == {"US", "CN"}


def test_a_country_change_while_an_edge_is_uncommitted_reaches_the_new_child(lineage):
    base_lab, child = lineage

    interleave(lambda: link(child), lambda: set_country(base_lab, "CN"))

    assert origin_of(child) == {"US", "CN"}


def test_a_model_moving_to_a_publisher_while_its_country_changes_gets_the_new_country(lineage):
    _, child = lineage
    link(child)
    mover = AIModel.objects.get(upstream_id="base-lab/base")
    other = publisher("other-lab", "JP")

    def move() -> None:
        ai_models.update_model(actor=ACTOR, model=AIModel.objects.get(pk=mover.pk), changes={"publisher": other})

    interleave(move, lambda: set_country(other, "KR"))

    assert origin_of(mover) == {"KR"}
    assert origin_of(child) == {"US", "KR"}


def register(upstream_id: str) -> None:
    ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)


def test_an_unrelated_registration_commits_while_a_lineage_write_is_open(lineage):
    base_lab, child = lineage
    link(child)

    second, first = interleave(lambda: set_country(base_lab, "CN"), lambda: register("elsewhere/new-model"), hold=3.0)

    assert second < first  # it did not wait for the country change
    assert origin_of(AIModel.objects.get(upstream_id="elsewhere/new-model")) == {"unknown"}


def test_an_unrelated_edge_commits_while_another_lineage_is_being_written(lineage):
    _, child = lineage
    other_base = model("jp-lab/base", publisher("jp-lab", "JP"))
    other_child = model("kr-lab/child", publisher("kr-lab", "KR"))

    second, first = interleave(lambda: link(child), lambda: link_to(other_child, other_base.upstream_id), hold=3.0)

    assert second < first
    assert origin_of(other_child) == {"KR", "JP"}
    assert origin_of(child) == {"US", "FR"}


def test_a_writer_of_the_same_lineage_waits_for_the_open_one(lineage):
    base_lab, child = lineage

    second, first = interleave(lambda: set_country(base_lab, "CN"), lambda: link(child))

    assert second > first
    assert origin_of(child) == {"US", "CN"}


def test_bulk_work_holds_the_whole_lineage(lineage):
    from inventory.services.bulk import ModelEntry, register_many

    def bulk() -> None:
        register_many(actor=ACTOR, entries=[ModelEntry(source="huggingface", upstream_id="bulk-lab/one")])

    second, first = interleave(bulk, lambda: register("elsewhere/single"))

    assert second > first


def test_a_model_registered_while_its_namespace_moves_goes_to_the_new_owner(transactional_db):
    from inventory.models import PublisherNamespace

    register("newcomer/first")  # the namespace gets a publisher of unknown country
    namespace = PublisherNamespace.objects.get(namespace="newcomer")
    owner = publisher("Newcomer Labs", "SG")

    def move() -> None:
        publishers.move_namespace(actor=ACTOR, namespace=namespace, publisher=owner, is_alias=False)

    second, first = interleave(move, lambda: register("newcomer/second"))

    assert second > first  # it read the namespace's owner: it waited for the move
    moved = AIModel.objects.filter(upstream_id__startswith="newcomer/")
    assert {model.publisher_id for model in moved} == {owner.pk}
    assert all(origin_of(model) == {"SG"} for model in moved)


def test_an_edge_named_while_its_parent_is_being_registered_links_to_it(transactional_db):
    lab = publisher("late-lab", "FR")
    child = model("us/late-child", publisher("us-lab", "US"))

    interleave(lambda: model("late-lab/base", lab), lambda: link_to(child, "late-lab/base"))

    assert LineageEdge.objects.get(child=child).parent == AIModel.objects.get(upstream_id="late-lab/base")
    assert origin_of(child) == {"US", "FR"}


def test_writers_that_outgrow_the_lock_bound_while_holding_locks_do_not_deadlock(transactional_db, settings):
    settings.LINEAGE_LOCK_MAX_MODELS = 1  # registering either base reaches two waiting children
    lab = publisher("bound-lab", "FR")
    for base in ("a", "b"):
        for number in range(2):
            link_to(model(f"kid-{base}{number}/m", publisher(f"kid-{base}{number}", "US")), f"bound-lab/base-{base}")
    barrier = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []
    recompute = origin.recompute

    def meet_then_recompute(**options):  # both hold their first locks when they recompute
        barrier.wait()
        return recompute(**options)

    def register_base(upstream_id: str) -> None:
        try:
            ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id, publisher=lab)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch.object(origin, "recompute", meet_then_recompute):
        threads = [threading.Thread(target=register_base, args=(f"bound-lab/base-{base}",)) for base in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    assert all(origin_of(child) == {"US", "FR"} for child in AIModel.objects.filter(upstream_id__startswith="kid-"))


def test_a_refresh_while_a_namespace_moves_keeps_the_new_owner(transactional_db):
    register("moving/m")
    namespace = PublisherNamespace.objects.get(namespace="moving")
    owner = publisher("Moving Labs", "SG")

    def refresh() -> None:
        record = UpstreamRecord(upstream_id="moving/m", revision="b" * 40, license_id="mit")
        upstream.record_refreshes(actor=ACTOR, refreshed=[(AIModel.objects.get(upstream_id="moving/m"), record)])

    interleave(
        lambda: publishers.move_namespace(actor=ACTOR, namespace=namespace, publisher=owner, is_alias=False), refresh
    )

    refreshed = AIModel.objects.get(upstream_id="moving/m")
    assert refreshed.publisher == owner
    assert origin_of(refreshed) == {"SG"}


def test_two_first_reports_of_one_deployment_record_it_once(transactional_db):
    from inventory.models import Deployment
    from inventory.services import deployments, revisions

    pinned, _ = revisions.add_revision(
        actor=ACTOR, model=model("dep-lab/m", publisher("dep-lab", "FR")), revision="c" * 40
    )

    def report() -> None:
        deployments.record_deployment(actor=ACTOR, revision=pinned, system="chat", environment="prod")

    interleave(report, report)

    assert Deployment.objects.filter(revision=pinned, system="chat", environment="prod").count() == 1
