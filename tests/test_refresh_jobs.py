"""Refresh jobs: which models are stale, one job per model at a time, progress, and the schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel
from inventory.refresh.jobs import REFRESH_MODEL, request_refresh, stale_model_ids, start_stale_refresh
from inventory.services.ai_models import register_model
from inventory.tasks import refresh_stale
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import Reply, model_json

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def registered(upstream_id: str, source: str = "huggingface", **state) -> AIModel:
    model = register_model(actor=ACTOR, source=source, upstream_id=upstream_id)[0]
    if state:
        AIModel.objects.filter(pk=model.pk).update(**state)
    return model


def test_stale_models_are_the_never_refreshed_the_failed_and_the_old(settings):
    settings.REFRESH_STALE_AFTER_SECONDS = 3600
    now = timezone.now()
    never = registered("acme/never")
    failed = registered("acme/failed", refresh_state="error", refreshed_at=now)
    old = registered("acme/old", refresh_state="ok", refreshed_at=now - timedelta(hours=2))
    gone_long_ago = registered("acme/gone", refresh_state="gone", refreshed_at=now - timedelta(hours=2))
    registered("acme/fresh", refresh_state="ok", refreshed_at=now - timedelta(minutes=5))
    registered("acme/gone-recently", refresh_state="gone", refreshed_at=now)
    registered("acme/internal-tool", source="internal")

    # the never refreshed first, then the longest waiting
    assert stale_model_ids() == [never.pk, old.pk, gone_long_ago.pk, failed.pk]


def test_one_refresh_job_per_model_at_a_time():
    model = registered("acme/popular")

    first = request_refresh(actor=ACTOR, model=model)
    again = request_refresh(actor=ACTOR, model=model)

    assert first.kind == REFRESH_MODEL
    assert again.pk == first.pk
    Job.objects.filter(pk=first.pk).update(state=Job.State.SUCCEEDED)
    assert request_refresh(actor=ACTOR, model=model).pk != first.pk
    assert request_refresh(actor=ACTOR, model=registered("acme/tool", source="internal")) is None


def test_a_refresh_job_reports_progress_over_the_model_and_its_bases(hub):
    hub.add(model_json("acme/bot", bases=[("Qwen/Qwen2.5-7B-Instruct", "finetune")]))
    hub.add(model_json("Qwen/Qwen2.5-7B-Instruct", bases=[("Qwen/Qwen2.5-7B", "finetune")]))
    hub.add(model_json("Qwen/Qwen2.5-7B"))
    job = request_refresh(actor=ACTOR, model=registered("acme/bot"))

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result["refreshed"] == 3
    assert job.result["failed"] == {}


def test_a_refresh_job_fails_with_the_reason_when_its_model_cannot_be_refreshed(hub, settings):
    settings.REFRESH_MAX_ATTEMPTS = 2
    hub.add(model_json("acme/broken"))
    hub.script("acme/broken", Reply(status=500), Reply(status=500))
    job = request_refresh(actor=ACTOR, model=registered("acme/broken"))

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == "failed"
    assert "500" in job.error
    assert "acme/broken: failed" in job.log


def test_a_gone_model_ends_its_job_successfully(hub):
    job = request_refresh(actor=ACTOR, model=registered("acme/deleted-upstream"))

    run_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == "succeeded"
    assert job.result["gone"] == ["huggingface:acme/deleted-upstream"]


def test_the_scheduled_refresh_takes_every_stale_model_and_the_bases_found_on_the_way(hub):
    hub.add(model_json("acme/one", bases=[("Qwen/Qwen3-8B", "finetune")]))
    hub.add(model_json("acme/two"))
    hub.add(model_json("Qwen/Qwen3-8B"))
    one, two = registered("acme/one"), registered("acme/two")
    registered("acme/current", refresh_state="ok", refreshed_at=timezone.now())

    job_id = refresh_stale()  # what beat runs
    assert refresh_stale() is None, "one scheduled refresh at a time"
    run_job(job_id=job_id)

    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.error
    assert job.progress_total == 3
    assert "2 stale models to refresh" in job.log
    assert {AIModel.objects.get(pk=pk).refresh_state for pk in (one.pk, two.pk)} == {"ok"}
    assert AIModel.objects.get(upstream_id="Qwen/Qwen3-8B").refresh_state == "ok"
    assert hub.requests_for("acme/current") == 0
    assert start_stale_refresh(actor=ACTOR) is not None, "a finished run does not block the next"
