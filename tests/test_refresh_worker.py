"""Refreshes in a real Celery worker: started through the API, and surviving a killed worker."""

import os
import signal

import pytest
import requests

from core.models import ChangeLogEntry, Job, OutboxMessage
from core.tokens import issue_token
from inventory.models import AIModel, Artifact, Revision
from inventory.refresh.jobs import request_refresh
from inventory.services.ai_models import register_model
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import model_json
from tests.support.processes import start_worker, wait_until
from tests.test_background_work import wait_for_job


def api_session(role: str = "deployer") -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {issue_token(actor=ACTOR, name='ci', role=role).secret}"
    return session


@pytest.mark.smoke
def test_a_refresh_started_through_the_api_completes_in_the_worker(worker, web, hub, catalogue_loaded):
    _, base_url = web
    hub.add(model_json("acme/api-bot", license="mit", bases=[("deepseek-ai/DeepSeek-R1", "finetune")]))
    hub.add(model_json("deepseek-ai/DeepSeek-R1", license="mit"))
    session = api_session()

    created = session.post(f"{base_url}/api/v1/models/", json={"reference": "huggingface:acme/api-bot"}, timeout=10)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["refresh_state"] == "pending"
    assert body["refresh_job"].startswith(f"{base_url}/api/v1/jobs/")

    def finished() -> dict | None:
        job = session.get(body["refresh_job"], timeout=10).json()
        return job if job["state"] in ("succeeded", "failed") else None

    job = wait_until(finished, timeout=60, what="the refresh job")
    assert job["state"] == "succeeded", job
    assert (job["progress_done"], job["progress_total"]) == (2, 2)
    model = session.get(body["links"]["self"], timeout=10).json()
    assert model["refresh_state"] == "ok"
    assert model["license"]["key"] == "MIT"
    assert model["effective_origin"] == ["CN", "unknown"]
    assert model["purl"].startswith("pkg:huggingface/acme/api-bot@")
    lineage = session.get(body["links"]["lineage"], timeout=10).json()
    assert [ancestor["model"] for ancestor in lineage["ancestors"]] == ["huggingface:deepseek-ai/DeepSeek-R1"]

    again = session.post(f"{base_url}/api/v1/models/", json={"reference": "huggingface:acme/api-bot"}, timeout=10)
    assert again.status_code == 200
    assert again.json()["refresh_job"] is None, "a model refreshed successfully is not refreshed on every registration"
    internal = session.post(f"{base_url}/api/v1/models/", json={"reference": "internal:acme/tool"}, timeout=10)
    assert internal.status_code == 201
    assert internal.json()["refresh_job"] is None, "no hub refreshes internal models"


def _redis_worker_env(service_env: dict[str, str]) -> dict[str, str]:
    """The service environment with a short visibility timeout (these tests are about Redis)."""
    assert service_env["CELERY_BROKER_URL"].startswith("redis://"), "the serial stage runs on Redis"
    return {**service_env, "BROKER_VISIBILITY_TIMEOUT_SECONDS": "5"}


def _start_killable_refresh(hub, upstream_id: str) -> tuple[Job, object]:
    hub.add(
        model_json(
            upstream_id,
            files=["config.json", "model.safetensors", "tokenizer.json"],
            bases=[("Qwen/Qwen3-8B", "finetune")],
        )
    )
    hub.add(model_json("Qwen/Qwen3-8B"))
    release = hub.hold(upstream_id)
    model = register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)[0]
    job = request_refresh(actor=ACTOR, model=model)
    wait_until(lambda: hub.requests_for(upstream_id), timeout=60, what="the worker to fetch the model")
    return job, release


def _assert_refreshed_once(job: Job, upstream_id: str, hub) -> None:
    finished = wait_for_job(job.pk, timeout=120)
    assert finished.attempts == 2
    assert "an earlier attempt stopped before it finished" in finished.log
    model = AIModel.objects.get(upstream_id=upstream_id)
    assert model.refresh_state == "ok"
    assert model.refresh_lock_owner == ""
    revision = Revision.objects.get(model=model)
    assert Artifact.objects.filter(revision=revision).count() == 3
    revision_rows = ChangeLogEntry.objects.filter(object_type="inventory.revision", object_id=str(revision.pk))
    assert revision_rows.filter(action="create").count() == 1, "nothing written twice"
    assert AIModel.objects.filter(upstream_id="Qwen/Qwen3-8B", refresh_state="ok").count() == 1
    assert hub.requests_for(upstream_id) == 2, "the killed fetch, then the one that completed"
    assert hub.requests_for("Qwen/Qwen3-8B") == 1
    assert OutboxMessage.objects.get(kwargs={"job_id": job.pk}).state == "done"


@pytest.mark.serial
def test_a_pool_process_killed_mid_refresh_is_redelivered_and_completes_once(
    service_env, logs_dir, hub, catalogue_loaded
):
    env = _redis_worker_env(service_env)
    own_worker = start_worker(env=env, log_dir=logs_dir, name="refresh-kill-worker")
    try:
        job, release = _start_killable_refresh(hub, "acme/killed-pool")
        holder = AIModel.objects.get(upstream_id="acme/killed-pool").refresh_lock_owner
        victim = int(holder.split(":")[1])
        assert victim in own_worker.process_ids()
        assert victim != own_worker.process.pid, "a pool process, not the worker's main process"
        os.kill(victim, signal.SIGKILL)
        release.set()

        _assert_refreshed_once(job, "acme/killed-pool", hub)
    finally:
        own_worker.stop()


@pytest.mark.serial
def test_a_whole_worker_killed_mid_refresh_loses_nothing(service_env, logs_dir, hub, catalogue_loaded):
    env = _redis_worker_env(service_env)
    first = start_worker(env=env, log_dir=logs_dir, name="refresh-dead-worker")
    try:
        job, release = _start_killable_refresh(hub, "acme/killed-worker")
        for pid in first.process_ids():
            os.kill(pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        release.set()
    finally:
        first.stop()
    # Redis hands the unacknowledged message out again once its visibility timeout passes.
    second = start_worker(env=env, log_dir=logs_dir, name="refresh-second-worker")
    try:
        _assert_refreshed_once(job, "acme/killed-worker", hub)
    finally:
        second.stop()
