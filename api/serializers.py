"""Serializers of the REST API."""

from rest_framework import serializers

from api.inputs import StrictSerializer
from core.models import Job
from core.worker_check import MAX_HOLD_SECONDS


class JobSerializer(serializers.ModelSerializer):
    """A job with its live progress, log and result."""

    requested_by = serializers.CharField(
        source="requester", read_only=True, help_text="who asked: a person, a token, the system"
    )
    params = serializers.DictField(read_only=True, help_text="what the job was asked to do (its kind's own fields)")
    result = serializers.DictField(read_only=True, allow_null=True, help_text="what it found; null until it succeeds")
    url = serializers.HyperlinkedIdentityField(view_name="job-detail")

    class Meta:
        model = Job
        fields = [
            "id",
            "url",
            "kind",
            "state",
            "params",
            "progress_done",
            "progress_total",
            "log",
            "result",
            "error",
            "attempts",
            "requested_by",
            "request_id",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class WorkerCheckSerializer(StrictSerializer):
    """Input of a worker check: how long the job holds its worker (default 0)."""

    hold_seconds = serializers.FloatField(required=False, default=0, min_value=0, max_value=MAX_HOLD_SECONDS)
