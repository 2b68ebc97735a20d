"""The benchmarks' baselines: the rows of the model list, detail and lineage (bench/api.py), and of the
model a gate call names with its origin rows (bench/gate.py), read with ``.values()`` and returned as
``JsonResponse``, behind the same bearer-token lookup as the API. Mounted only by ``bench.settings``
(the benchmarks' gunicorn); the registry's own URLs never include it."""

import json

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.tokens import token_for_secret
from inventory.models import AIModel, LineageEdge, OriginCountry
from registry.urls import urlpatterns as registry_urlpatterns

# The columns a model in the API is made of: its own, its publisher's and its declared license's.
MODEL_COLUMNS = (
    "id", "source", "upstream_id", "publisher_id", "publisher__name", "publisher__country", "declared_license__key",
    "declared_license__category", "declared_license__commercial_use", "upstream_license", "license_mismatch",
    "lineage_cuts", "audit_status", "refresh_state", "refreshed_at", "refresh_error", "task", "library",
    "architecture", "parameter_count", "gated", "description", "tags", "team",
)  # fmt: skip
EDGE_COLUMNS = ("child_id", "parent_id", "parent_source", "parent_upstream_id", "relation")
PAGE = 100


def _authenticated(request: HttpRequest) -> bool:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_for_secret(secret) is not None


def _models() -> QuerySet[AIModel]:
    return AIModel.objects.order_by("upstream_id", "id").values(*MODEL_COLUMNS)


def model_list(request: HttpRequest) -> HttpResponse:
    """A page of models and their count, as ``?offset=`` asks."""
    if not _authenticated(request):
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    offset = int(request.GET.get("offset", "0"))
    return JsonResponse({"count": _models().count(), "results": list(_models()[offset : offset + PAGE])})


def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not _authenticated(request):
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    return JsonResponse(_models().get(pk=pk))


def model_lineage(request: HttpRequest, pk: int) -> HttpResponse:
    """The model's edges up and down, level by level, as plainly as they can be read."""
    if not _authenticated(request):
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    walks = {}
    for direction, start, step in (("ancestors", "child_id", "parent_id"), ("descendants", "parent_id", "child_id")):
        edges, seen, frontier = [], {pk}, {pk}
        while frontier:
            level = list(LineageEdge.objects.filter(**{f"{start}__in": frontier}).values(*EDGE_COLUMNS))
            edges += level
            frontier = {edge[step] for edge in level if edge[step] is not None} - seen
            seen |= frontier
        walks[direction] = edges
    return JsonResponse(walks)


@csrf_exempt  # a bearer token, no cookie: as the API's token authentication, no CSRF check
@require_POST
def gate(request: HttpRequest) -> HttpResponse:
    """The gate's request body (``{"model": "<source>:<upstream id>", "environment": ...}``); the
    model's row and its origin rows."""
    if not _authenticated(request):
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    source, _, upstream_id = json.loads(request.body)["model"].partition(":")
    model = _models().filter(source=source, upstream_id=upstream_id).first()
    if model is None:
        return JsonResponse({"detail": "not found"}, status=404)
    origin = list(OriginCountry.objects.filter(model_id=model["id"]).order_by("country").values("country"))
    return JsonResponse({"model": model, "origin": origin})


urlpatterns = [
    path("bench/gate/", gate),
    path("bench/models/", model_list),
    path("bench/models/<int:pk>/", model_detail),
    path("bench/models/<int:pk>/lineage/", model_lineage),
    *registry_urlpatterns,
]
