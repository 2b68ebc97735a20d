"""URLs of the REST API, mounted under /api/v1/."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from api.boms.exports import ExportFileViewSet, ExportScheduleViewSet
from api.boms.ingest import BomIngestViewSet
from api.boms.views import BomViewSet
from api.change_log import ChangeLogViewSet
from api.governance.policies import GateDecisionViewSet, GateViewSet, OverrideViewSet, PolicyViewSet, ViolationViewSet
from api.governance.views import AuditViewSet
from api.inventory.views import (
    ArtifactViewSet,
    DeploymentViewSet,
    LicenseViewSet,
    ModelViewSet,
    PublisherViewSet,
    RevisionViewSet,
)
from api.views import JobViewSet, unknown_route

router = DefaultRouter()
router.register("models", ModelViewSet, basename="model")
router.register("revisions", RevisionViewSet, basename="revision")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("publishers", PublisherViewSet, basename="publisher")
router.register("licenses", LicenseViewSet, basename="license")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("audits", AuditViewSet, basename="audit")
router.register("policies", PolicyViewSet, basename="policy")
router.register("violations", ViolationViewSet, basename="violation")
router.register("overrides", OverrideViewSet, basename="override")
router.register("gate", GateViewSet, basename="gate")
router.register("gate-decisions", GateDecisionViewSet, basename="gate-decision")
router.register("changes", ChangeLogViewSet, basename="change")
router.register("jobs", JobViewSet, basename="job")
router.register("exports", ExportScheduleViewSet, basename="export")
router.register("export-files", ExportFileViewSet, basename="export-file")

urlpatterns = [
    *router.urls,
    path("models/<str:pk>/bom/", BomViewSet.as_view({"get": "model"}), name="model-bom"),
    path("boms/", BomIngestViewSet.as_view({"get": "scope", "post": "ingest"}), name="bom-list"),
    path("boms/files/<str:pk>/", BomViewSet.as_view({"get": "file"}), name="bom-file"),
    re_path(r"^.*$", unknown_route),
]
