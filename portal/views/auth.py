"""Sign in and out with Django's own views (django-axes counts failed attempts and locks out)."""

from django.contrib.auth import views as auth_views
from django.urls import path


class SignInView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # a POST, with its CSRF token
]
