"""Views of the REST API. They call services and selectors; they hold no business rules."""

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import principal_of
from api.errors import problem
from api.permissions import requires
from api.serializers import JobSerializer, WorkerCheckSerializer
from api.throttling import ThrottleFirst
from core.access import Capability
from core.jobs import start_job
from core.models import Job


class JobViewSet(ThrottleFirst, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background jobs: list, inspect, and start a worker check."""

    serializer_class = JobSerializer
    queryset = Job.objects.select_related("requested_by")
    permission_classes = [requires(Capability.READ)]

    @action(
        detail=False, methods=["post"], url_path="worker-check", permission_classes=[requires(Capability.ADMINISTER)]
    )
    def worker_check(self, request: Request) -> Response:
        """Start a job that a worker answers: proves the background path works end to end."""
        params = WorkerCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        principal = principal_of(request)
        job = start_job(
            actor=principal.actor, kind="worker_check", params=params.validated_data, requested_by=principal.person
        )
        body = self.get_serializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
@authentication_classes([])
def unknown_route(request: Request) -> Response:
    """Any other path under /api/v1/: a problem+json 404 rather than an HTML page."""
    return problem(status.HTTP_404_NOT_FOUND, f"no such API route: {request.path}")
