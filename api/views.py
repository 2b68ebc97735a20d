"""Views of the REST API. They call services and selectors; they hold no business rules."""

from django.urls import resolve
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import RegistryViewSet
from api.errors import problem
from api.serializers import JobSerializer, WorkerCheckSerializer
from core.access import Capability
from core.jobs import start_job
from core.models import Job


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Background jobs: list, inspect, and start a worker check."""

    serializer_class = JobSerializer
    queryset = Job.objects.all()
    capabilities = {"worker_check": Capability.ADMINISTER}

    @extend_schema(request=WorkerCheckSerializer, responses={202: JobSerializer})
    @action(detail=False, methods=["post"], url_path="worker-check")
    def worker_check(self, request: Request) -> Response:
        """Start a job that a worker answers: proves the background path works end to end."""
        params = WorkerCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        principal = self.principal
        job = start_job(
            actor=principal.actor, kind="worker_check", params=params.validated_data, requested_by=principal.person
        )
        body = self.get_serializer(job).data
        # str(): the URL is a DRF Hyperlink, a str subclass that WSGI servers (wsgiref) refuse as a header value.
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])})


@extend_schema(exclude=True)  # not an operation: what every other path answers
@api_view(["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE"])
@permission_classes([AllowAny])
@authentication_classes([])
def unknown_route(request: Request) -> Response:
    """Any other path under /api/v1/, for any method: a problem+json 404 rather than an HTML page, pointing
    at the route a missing trailing slash left out (Django's APPEND_SLASH cannot: this route matches)."""
    detail = f"no such API route: {request.path}"
    if not request.path_info.endswith("/") and resolve(f"{request.path_info}/").func is not unknown_route:
        detail += f"; did you mean {request.path}/ (API routes end with a slash)?"
    return problem(status.HTTP_404_NOT_FOUND, detail)
