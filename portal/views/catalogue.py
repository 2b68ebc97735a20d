"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("catalogue/catalogue/", DashboardView.as_view(), name="catalogue"),
]
