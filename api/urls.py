"""URLs of the REST API, mounted under /api/v1/."""

from rest_framework.routers import DefaultRouter

from api.views import JobViewSet

router = DefaultRouter()
router.register("jobs", JobViewSet, basename="job")

urlpatterns = router.urls
