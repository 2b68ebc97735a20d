"""Jobs in the portal: the list, one job, and the progress fragment that polls while a job runs."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.access import set_user_access
from core.changelog import Actor
from core.models import Job
from tests.portal.conftest import csp_offences

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def viewer_client(client):
    user = get_user_model().objects.create_user(username="vic", password="a long enough password 1")
    set_user_access(actor=Actor.system("test"), user=user, role="viewer")
    client.force_login(user)
    return client


def running(done: int = 42, total: int | None = 100) -> Job:
    return Job.objects.create(
        kind="refresh", state="running", progress_done=done, progress_total=total, requester="ada",
        started_at=timezone.now(),
    )  # fmt: skip


def finished(state: str = "succeeded", error: str = "") -> Job:
    now = timezone.now()
    return Job.objects.create(
        kind="refresh", state=state, progress_done=3, progress_total=3, requester="system:refresh",
        started_at=now, finished_at=now, error=error, result={"refreshed": 3} if state == "succeeded" else None,
        log="2025-01-01T00:00:00+00:00 refreshed org/model\n",
    )  # fmt: skip


def root_of(fragment: str) -> str:
    return re.match(r"\s*(?:\{#.*?#\}\s*)?(<div[^>]*>)", fragment, re.S).group(1)


@pytest.mark.smoke
def test_a_running_jobs_fragment_polls_every_second(viewer_client):
    job = running()
    response = viewer_client.get(reverse("portal:job-progress", args=[job.pk]))
    assert response.status_code == 200
    fragment = response.content.decode()
    root = root_of(fragment)
    assert f'hx-get="{reverse("portal:job-progress", args=[job.pk])}"' in root
    assert 'hx-trigger="every 1s"' in root
    assert 'hx-swap="outerHTML"' in root
    assert f'<progress id="job-progress-bar-{job.pk}" value="42" max="100"' in fragment
    assert re.search(r'role="status">42 of 100 · running<', fragment)
    assert "<html" not in fragment, "a fragment, not a page"


def test_an_unknown_total_is_an_indeterminate_bar(viewer_client):
    job = running(done=5, total=None)
    fragment = viewer_client.get(reverse("portal:job-progress", args=[job.pk])).content.decode()
    progress = re.search(r"<progress[^>]*>", fragment).group(0)
    assert "value=" not in progress
    assert "max=" not in progress
    assert "5 done · running" in fragment
    assert 'hx-trigger="every 1s"' in root_of(fragment)


def test_a_finished_jobs_fragment_stops_polling_and_shows_the_outcome(viewer_client):
    job = finished()
    fragment = viewer_client.get(reverse("portal:job-progress", args=[job.pk])).content.decode()
    root = root_of(fragment)
    assert "hx-trigger" not in root
    assert "hx-get" not in root
    assert "3 of 3 · succeeded" in fragment
    assert f'href="{reverse("portal:job", args=[job.pk])}"' in fragment


def test_a_failed_job_shows_its_error(viewer_client):
    job = finished("failed", error="HubUnavailable: 503")
    fragment = viewer_client.get(reverse("portal:job-progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in root_of(fragment)
    assert "HubUnavailable: 503" in fragment
    assert "· failed" in fragment


def test_the_job_page_shows_the_fragment_log_and_result(viewer_client):
    job = finished()
    page = viewer_client.get(reverse("portal:job", args=[job.pk])).content.decode()
    assert "refreshed org/model" in page
    assert "<dt>refreshed</dt><dd>3</dd>" in page
    assert f'id="job-progress-{job.pk}"' in page
    live = running()
    page = viewer_client.get(reverse("portal:job", args=[live.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page, "the server-rendered fragment keeps polling with htmx"
    assert viewer_client.get(reverse("portal:job", args=[99999])).status_code == 404


def test_the_jobs_list_shows_running_and_recent_jobs(viewer_client):
    live, done, failed = running(), finished(), finished("failed", error="boom")
    page = viewer_client.get(reverse("portal:jobs")).content.decode()
    unfinished, recent = page.split('id="recent-heading"')
    assert f'id="job-progress-{live.pk}"' in unfinished
    assert 'hx-trigger="every 1s"' in unfinished
    assert f"#{done.pk}<" in recent
    assert f"#{failed.pk}<" in recent
    assert "boom" in recent
    assert "system:refresh" in recent


def test_anonymous_visitors_are_sent_to_sign_in(client):
    job = running()
    response = client.get(reverse("portal:job-progress", args=[job.pk]))
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


def test_the_jobs_list_runs_the_same_queries_for_few_and_many(viewer_client):
    def add(count: int) -> None:
        for _ in range(count):
            running()
            finished()

    add(3)
    with CaptureQueriesContext(connection) as few:
        assert viewer_client.get(reverse("portal:jobs")).status_code == 200
    add(27)
    with CaptureQueriesContext(connection) as many:
        assert viewer_client.get(reverse("portal:jobs")).status_code == 200
    assert len(many) == len(few)


def test_the_job_pages_have_nothing_the_csp_would_block(viewer_client):
    live, done = running(), finished("failed", error="boom")
    for url in [reverse("portal:jobs"), reverse("portal:job", args=[live.pk]), reverse("portal:job", args=[done.pk]),
                reverse("portal:job-progress", args=[live.pk])]:  # fmt: skip
        assert csp_offences(viewer_client.get(url).content.decode()) == []
