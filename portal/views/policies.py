"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("policies/policies/", DashboardView.as_view(), name="policies"),
    path("policies/violations/", DashboardView.as_view(), name="violations"),
]
