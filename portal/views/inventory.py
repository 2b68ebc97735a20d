"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("inventory/models/", DashboardView.as_view(), name="models"),
    path("inventory/deployments/", DashboardView.as_view(), name="deployments"),
    path("inventory/model/<int:pk>/", DashboardView.as_view(), name="model"),
]
