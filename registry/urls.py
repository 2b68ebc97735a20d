"""Top-level URL map."""

from csp.decorators import csp_exempt
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api.parsers import FormatParameterNegotiation

# Under /api/ these answer problem+json, elsewhere Django's pages.
handler400 = "api.errors.bad_request"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"

urlpatterns = [
    path("", include("portal.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path(
        "api/schema/", SpectacularAPIView.as_view(content_negotiation_class=FormatParameterNegotiation), name="schema"
    ),
    # The API's reference pages are the libraries' own, which start their viewers with inline scripts.
    path("api/docs/", csp_exempt()(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path(
        "api/redoc/",
        csp_exempt()(SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")),
        name="redoc",
    ),
]
