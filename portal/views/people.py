"""(placeholder: being built)"""

from django.urls import path

from portal.views.dashboard import DashboardView

urlpatterns = [
    path("people/people/", DashboardView.as_view(), name="people"),
    path("people/tokens/", DashboardView.as_view(), name="tokens"),
]
