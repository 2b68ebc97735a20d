"""Jobs: the running and recent background jobs, one job with its log and result, and the live
progress fragment other pages embed (htmx polls it every second until the job has finished).

Anyone who may read may see jobs, as in the API (``api.views.JobViewSet``).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from core.models import Job
from portal.views.base import PortalView

RECENT_JOBS = 50
UNFINISHED_SHOWN = 100


def progress_context(job: Job) -> dict[str, Any]:
    """What the progress fragment shows of a job."""
    finished = job.state in Job.FINISHED_STATES
    total = job.progress_total
    percent = round(100 * job.progress_done / total) if total else None
    return {"job": job, "finished": finished, "percent": percent}


class JobsView(PortalView):
    """Unfinished jobs (queued or running, oldest first) and the most recent finished ones."""

    def get(self, request: HttpRequest) -> HttpResponse:
        jobs = Job.objects.defer("log", "params", "result")
        unfinished = jobs.exclude(state__in=Job.FINISHED_STATES).order_by("created_at", "id")[:UNFINISHED_SHOWN]
        recent = jobs.filter(state__in=Job.FINISHED_STATES).order_by("-created_at", "-id")[:RECENT_JOBS]
        context = {
            "unfinished": [progress_context(job) for job in unfinished],
            "recent": list(recent),
            "recent_limit": RECENT_JOBS,
            "unfinished_limit": UNFINISHED_SHOWN,
        }
        return render(request, "portal/jobs/jobs.html", context)


class JobView(PortalView):
    """A job: what it was asked, its progress (live with htmx), log, result or error."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(Job, pk=pk)
        return render(request, "portal/jobs/job.html", progress_context(job))


class JobProgressView(PortalView):
    """The progress fragment: polls itself while the job runs, shows the outcome once it has finished."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(Job.objects.defer("log", "params", "result"), pk=pk)
        response = render(request, "portal/jobs/_progress.html", progress_context(job))
        response["Cache-Control"] = "no-store"
        return response


urlpatterns = [
    path("jobs/", JobsView.as_view(), name="jobs"),
    path("jobs/<int:pk>/", JobView.as_view(), name="job"),
    path("jobs/<int:pk>/progress/", JobProgressView.as_view(), name="job-progress"),
]
