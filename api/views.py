"""Views of the REST API. They call services and selectors; they hold no business rules."""

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import principal_of
from api.permissions import requires
from api.serializers import JobSerializer, WorkerCheckSerializer
from core.access import Capability
from core.jobs import start_job
from core.models import Job


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
        requested_by = request.user if principal.actor.kind == "user" else None
        job = start_job(
            actor=principal.actor, kind="worker_check", params=params.validated_data, requested_by=requested_by
        )
        body = self.get_serializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
