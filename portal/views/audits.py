"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("audits/audits/", DashboardView.as_view(), name="audits"),
]
