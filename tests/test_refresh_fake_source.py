"""The refresh runner on an in-memory source (no HTTP): each way a fetch can end, and how long a
model whose refresh failed is left alone by registrations and the schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import run_job
from core.models import Job
from inventory.models import AIModel
from inventory.refresh.jobs import request_refresh, stale_model_ids
from inventory.refresh.runner import RefreshRun
from inventory.services.ai_models import register_model
from inventory.sources.base import PermanentError, RateLimited, TransientError
from tests.inventory_helpers import ACTOR
from tests.support.fake_source import base, fake_source_fixture

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

modelscope = fake_source_fixture("modelscope")


def registered(upstream_id: str) -> AIModel:
    return register_model(actor=ACTOR, source="modelscope", upstream_id=upstream_id)[0]


def refresh(*models: AIModel):
    return RefreshRun(actor=ACTOR).run([model.pk for model in models])


def fresh(model: AIModel) -> AIModel:
    return AIModel.objects.get(pk=model.pk)


def seconds_until_retry(model: AIModel) -> float:
    return (fresh(model).refresh_retry_at - timezone.now()).total_seconds()


def test_a_refresh_records_the_sources_facts_and_revision_as_given(modelscope):
    modelscope.add("qwen/Qwen2.5-7B-Instruct", revision="v1.0-RC", license_id="apache-2.0", task="text-generation")
    model = registered("qwen/Qwen2.5-7B-Instruct")

    summary = refresh(model)

    model = fresh(model)
    assert summary.ok == [str(model)]
    assert (model.refresh_state, model.refresh_error, model.refresh_retry_at) == ("ok", "", None)
    assert (model.declared_license.key, model.task) == ("Apache-2.0", "text-generation")
    assert model.revisions.get().revision == "v1.0-RC", "ModelScope revisions are not commit shas"


def test_a_model_the_source_does_not_have_is_gone(modelscope):
    model = registered("acme/never-there")

    summary = refresh(model)

    assert summary.gone == [str(model)]
    assert (fresh(model).refresh_state, fresh(model).refresh_retry_at) == ("gone", None)
    assert "no model acme/never-there" in fresh(model).refresh_error


def test_transient_errors_are_tried_again_until_the_source_answers(modelscope):
    modelscope.add("acme/flaky")
    modelscope.fail("acme/flaky", TransientError("timed out"), TransientError("502"))
    model = registered("acme/flaky")
    log: list[str] = []

    summary = RefreshRun(actor=ACTOR, on_log=log.append).run([model.pk])

    assert summary.ok == [str(model)]
    assert fresh(model).refresh_state == "ok"
    assert modelscope.fetches("acme/flaky") == 3
    assert log == ["modelscope:acme/flaky: refreshed after 3 attempts"]


def test_a_rate_limit_waits_as_asked_and_one_too_long_is_retried_no_sooner_than_asked(modelscope):
    modelscope.add("acme/popular")
    modelscope.add("acme/throttled")
    modelscope.fail("acme/popular", RateLimited("slow down", retry_after=0.2))
    modelscope.fail("acme/throttled", RateLimited("slow down", retry_after=3600))
    popular, throttled = registered("acme/popular"), registered("acme/throttled")

    summary = refresh(popular)
    assert summary.ok == [str(popular)]
    assert modelscope.fetches("acme/popular") == 2

    summary = refresh(throttled)
    assert summary.failed == {str(throttled): "RateLimited: slow down"}
    assert modelscope.fetches("acme/throttled") == 1, "REFRESH_MAX_RETRY_AFTER_SECONDS is 5 in the tests"
    assert fresh(throttled).refresh_state == "error"
    assert 3590 < seconds_until_retry(throttled) <= 3600, "the hub's Retry-After, longer than the usual wait"


def test_a_permanent_error_is_not_tried_again_in_the_run_and_waits_longer(modelscope, settings):
    settings.REFRESH_RETRY_FAILED_AFTER_SECONDS = 300
    settings.REFRESH_PERMANENT_ERROR_RETRY_SECONDS = 86400
    modelscope.add("acme/locked")
    modelscope.add("acme/down")
    modelscope.fail("acme/locked", PermanentError("access refused (403)"))
    modelscope.fail("acme/down", *[TransientError("503")] * settings.REFRESH_MAX_ATTEMPTS)
    locked, down = registered("acme/locked"), registered("acme/down")

    summary = refresh(locked, down)

    assert summary.failed == {str(locked): "PermanentError: access refused (403)", str(down): "TransientError: 503"}
    assert modelscope.fetches("acme/locked") == 1
    assert 86390 < seconds_until_retry(locked) <= 86400
    assert 290 < seconds_until_retry(down) <= 300


def test_the_schedule_leaves_a_failed_model_alone_until_its_retry_is_due(modelscope):
    modelscope.add("acme/locked")
    modelscope.fail("acme/locked", PermanentError("access refused (403)"))
    locked, never = registered("acme/locked"), registered("acme/never-refreshed")
    refresh(locked)

    assert stale_model_ids() == [never.pk]

    AIModel.objects.filter(pk=locked.pk).update(refresh_retry_at=timezone.now() - timedelta(seconds=1))
    assert set(stale_model_ids()) == {never.pk, locked.pk}


def test_a_base_found_on_the_way_is_not_tried_again_before_its_retry_but_one_asked_for_is(modelscope):
    modelscope.add("acme/bot", base_models=(base("acme/locked-base"),))
    modelscope.add("acme/locked-base")
    modelscope.fail("acme/locked-base", PermanentError("access refused (403)"))
    bot = registered("acme/bot")
    refresh(bot)
    locked = AIModel.objects.get(upstream_id="acme/locked-base")
    assert fresh(locked).refresh_state == "error"

    summary = refresh(bot)
    assert "not tried again before" in summary.skipped[str(locked)]
    assert modelscope.fetches("acme/locked-base") == 1

    summary = refresh(locked)
    assert summary.ok == [str(locked)], "a refresh asked for by name is not held back"
    assert (fresh(locked).refresh_state, fresh(locked).refresh_retry_at) == ("ok", None)


def test_registering_again_after_a_failure_returns_the_failed_job_until_the_retry_is_due(modelscope):
    modelscope.add("acme/locked")
    modelscope.fail("acme/locked", PermanentError("access refused (403)"))
    model = registered("acme/locked")
    job = request_refresh(actor=ACTOR, model=model)
    assert request_refresh(actor=ACTOR, model=model) == job, "queued: joined"
    run_job(job_id=job.pk)
    assert Job.objects.get(pk=job.pk).state == "failed"

    again = [request_refresh(actor=ACTOR, model=fresh(model)) for _ in range(5)]

    assert {joined.pk for joined in again} == {job.pk}, "the failed job, no new one"
    assert Job.objects.filter(kind="refresh_model").count() == 1
    AIModel.objects.filter(pk=model.pk).update(refresh_retry_at=timezone.now() - timedelta(seconds=1))
    retried = request_refresh(actor=ACTOR, model=fresh(model))
    assert retried.pk != job.pk
    assert retried.state == "queued"


def test_a_failure_in_another_run_holds_registrations_back_without_a_job_to_show(modelscope):
    modelscope.fail("acme/down", *[TransientError("503")] * 5)
    model = registered("acme/down")
    refresh(model)  # the schedule, or a command: no job of this model's own

    assert request_refresh(actor=ACTOR, model=fresh(model)) is None
    assert not Job.objects.filter(kind="refresh_model").exists()
