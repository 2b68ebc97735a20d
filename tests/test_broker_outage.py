"""With the broker down, changes still commit, and their work runs once it is back: exactly once.

Serial: these tests stop their own redis-server, and they run in a pytest process of their own,
since any other worker on the test database would relay the same outbox through another broker.
"""

import time
from contextlib import ExitStack

import pytest
import requests

from core.models import Job, OutboxMessage
from tests.conftest import login
from tests.support.processes import PrivateRedis, start_web, start_worker, wait_until

pytestmark = pytest.mark.serial


@pytest.fixture
def private_redis(logs_dir):
    redis = PrivateRedis(logs_dir)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def outage(private_redis, service_env, logs_dir, admin_credentials):
    """A worker and a web server on the private Redis, which is then stopped; yields the worker,
    the web's address and an admin's session."""
    env = {**service_env, "CELERY_BROKER_URL": private_redis.url}
    with ExitStack() as cleanup:
        worker = start_worker(env=env, log_dir=logs_dir, name="outage-worker")
        cleanup.callback(worker.stop)
        web, base_url = start_web(env=env, log_dir=logs_dir, name="outage-web")
        cleanup.callback(web.stop)
        session = login(base_url, *admin_credentials)
        private_redis.stop()
        yield worker, base_url, session


def test_work_caused_while_the_broker_is_down_runs_once_it_returns(outage, private_redis):
    worker, base_url, session = outage
    response = session.post(f"{base_url}/api/v1/jobs/worker-check/", timeout=30)

    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    message = OutboxMessage.objects.get(kwargs={"job_id": job_id})
    time.sleep(3)  # several relay rounds fail meanwhile
    assert Job.objects.get(pk=job_id).state == "queued"
    message.refresh_from_db()
    assert (message.state, message.publish_count) == ("pending", 0)

    private_redis.start()

    job = wait_until(
        lambda: Job.objects.filter(pk=job_id, state="succeeded").first(), timeout=90, what="the job to run"
    )
    assert job.attempts == 1
    assert job.result["pid"] in worker.process_ids()
    message.refresh_from_db()
    assert (message.state, message.run_count) == ("done", 1)
    assert "outbox relay: broker unreachable" in worker.log_text()


def test_readyz_names_a_stopped_broker(private_redis, service_env, logs_dir):
    web, base_url = start_web(env={**service_env, "CELERY_BROKER_URL": private_redis.url}, log_dir=logs_dir)
    try:
        assert requests.get(f"{base_url}/readyz", timeout=10).status_code == 200
        private_redis.stop()

        response = requests.get(f"{base_url}/readyz", timeout=30)

        assert response.status_code == 503
        assert response.json()["failing"] == ["broker"]
        assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}
    finally:
        web.stop()


def test_events_recorded_while_the_broker_is_down_reach_their_subscribers_once_it_returns(outage, private_redis):
    from core.models import DomainEvent, EventDelivery

    _, base_url, session = outage
    response = session.post(
        f"{base_url}/api/v1/models/", json={"reference": "internal:lab/registered-during-outage"}, timeout=30
    )

    assert response.status_code == 201, response.text
    event = DomainEvent.objects.get(kind="inventory.model_registered", payload__model_id=response.json()["id"])
    time.sleep(2)  # relay rounds fail meanwhile
    assert not EventDelivery.objects.filter(event=event).exists()

    private_redis.start()

    subscribers = ["governance.violations", "tests.flaky", "tests.recorder"]  # every subscriber of the kind
    wait_until(
        lambda: EventDelivery.objects.filter(event=event).count() == len(subscribers),
        timeout=90,
        what="every delivery",
    )
    messages = OutboxMessage.objects.filter(kwargs__event_id=event.pk)
    assert sorted((message.kwargs["subscriber"], message.state) for message in messages) == [
        (subscriber, "done") for subscriber in subscribers
    ]
