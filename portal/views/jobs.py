"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("jobs/jobs/", DashboardView.as_view(), name="jobs"),
]
