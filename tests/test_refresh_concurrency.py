"""Refresh runs at the same time: one row per discovered base, one fetch per model at a time."""

import threading

import pytest
from django.db import connection

from inventory.models import AIModel
from inventory.refresh.runner import RefreshRun, RunSummary
from inventory.services.ai_models import register_model
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import model_json
from tests.support.processes import wait_until

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("catalogue_loaded")]


def refresh_in_thread(model_id: int, results: dict[int, RunSummary]) -> threading.Thread:
    def run() -> None:
        try:
            results[model_id] = RefreshRun(actor=ACTOR).run([model_id])
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def registered(upstream_id: str) -> AIModel:
    return register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)[0]


def test_two_runs_discovering_the_same_base_register_and_fetch_it_once(hub):
    hub.add(model_json("team-a/bot", bases=[("deepseek-ai/DeepSeek-V3", "finetune")]))
    hub.add(model_json("team-b/bot", bases=[("deepseek-ai/DeepSeek-V3", "adapter")]))
    hub.add(model_json("deepseek-ai/DeepSeek-V3", license="mit"))
    a, b = registered("team-a/bot"), registered("team-b/bot")
    release_a, release_b = hub.hold("team-a/bot"), hub.hold("team-b/bot")
    results: dict[int, RunSummary] = {}

    threads = [refresh_in_thread(a.pk, results), refresh_in_thread(b.pk, results)]
    wait_until(lambda: hub.requests_for("team-a/bot") and hub.requests_for("team-b/bot"), what="both fetches")
    release_a.set()
    release_b.set()  # both answers arrive together; both runs now register the same base
    for thread in threads:
        thread.join(timeout=60)

    assert AIModel.objects.filter(upstream_id__iexact="deepseek-ai/DeepSeek-V3").count() == 1
    base = AIModel.objects.get(upstream_id="deepseek-ai/DeepSeek-V3")
    assert base.refresh_state == "ok"
    assert hub.requests_for("deepseek-ai/DeepSeek-V3") == 1, "the second run found it refreshed during its run"
    for summary in results.values():
        assert "huggingface:deepseek-ai/DeepSeek-V3" in summary.ok
        assert summary.failed == {}
    assert sorted(base.child_edges.values_list("relation", flat=True)) == ["adapter", "finetune"]


def test_two_refreshes_of_one_model_never_overlap(hub, monkeypatch):
    from inventory.refresh import lease

    hub.add(model_json("acme/contended"))
    model = registered("acme/contended")
    release = hub.hold("acme/contended")
    refused = threading.Event()
    take = lease.try_acquire_many

    def watched_take(*, model_ids, holder):
        held = take(model_ids=model_ids, holder=holder)
        if model.pk in model_ids and model.pk not in held:
            refused.set()
        return held

    monkeypatch.setattr(lease, "try_acquire_many", watched_take)
    results: dict[int, RunSummary] = {}
    first = refresh_in_thread(model.pk, results)
    wait_until(lambda: hub.requests_for("acme/contended"), what="the first fetch")
    second_results: dict[int, RunSummary] = {}
    second = refresh_in_thread(model.pk, second_results)
    assert refused.wait(timeout=30), "the second run was refused the lock while the first one fetched"
    assert hub.in_flight == 1
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)

    assert hub.requests_for("acme/contended") == 1, "the waiting run did not fetch again"
    assert hub.peak_in_flight == 1
    assert results[model.pk].ok == second_results[model.pk].ok == [str(model)]
    assert AIModel.objects.get(pk=model.pk).refresh_lock_owner == ""


def test_a_result_whose_lock_was_lost_meanwhile_is_not_written(hub):
    hub.add(model_json("acme/slow"))
    model = registered("acme/slow")
    release = hub.hold("acme/slow")

    def take_over_while_fetching():
        wait_until(lambda: hub.requests_for("acme/slow"), what="the fetch")
        # the lease ran out and another run took the model
        try:
            AIModel.objects.filter(pk=model.pk).update(refresh_lock_owner="elsewhere:1:other-run")
        finally:
            release.set()
            connection.close()

    thief = threading.Thread(target=take_over_while_fetching)
    thief.start()
    summary = RefreshRun(actor=ACTOR).run([model.pk])
    thief.join()

    assert summary.failed == {}
    assert AIModel.objects.get(pk=model.pk).refresh_state == "pending", (
        "the other run's result wins; this one is dropped"
    )
    assert AIModel.objects.get(pk=model.pk).refresh_lock_owner == "elsewhere:1:other-run", (
        "and its lock is not released"
    )
