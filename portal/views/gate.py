"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("gate/gate/", DashboardView.as_view(), name="gate"),
]
