"""The portal's pages at ``/``: each area's views module brings its own URL patterns."""

from portal.views import (
    audits,
    auth,
    boms,
    catalogue,
    dashboard,
    exports,
    gate,
    ingest,
    inventory,
    jobs,
    people,
    policies,
)

app_name = "portal"

urlpatterns = [
    *auth.urlpatterns,
    *dashboard.urlpatterns,
    *inventory.urlpatterns,
    *audits.urlpatterns,
    *policies.urlpatterns,
    *gate.urlpatterns,
    *catalogue.urlpatterns,
    *people.urlpatterns,
    *jobs.urlpatterns,
    *boms.urlpatterns,
    *ingest.urlpatterns,
    *exports.urlpatterns,
]
