"""Fixtures for the portal's tests: people with a role, signed in through the test client."""

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.access import set_user_access
from core.changelog import Actor

PASSWORD = "a-long-test-password"
ROLES = ("viewer", "deployer", "editor", "auditor", "admin")


@pytest.fixture
def make_person(db: None) -> Callable[..., AbstractBaseUser]:
    """``make_person("ana", "auditor")``: a person with that role (and team) through core.access, as
    an admin gives one in the portal; the password is ``PASSWORD``. ``superuser=True`` makes an admin
    the other way (a superuser is an admin whatever their access record says)."""

    def make(username: str, role: str = "viewer", team: str = "", *, superuser: bool = False) -> AbstractBaseUser:
        users = get_user_model().objects
        if superuser:
            return users.create_superuser(username=username, email="", password=PASSWORD)
        user = users.create_user(username=username, email="", password=PASSWORD)
        set_user_access(actor=Actor.system("test"), user=user, role=role, team=team)
        return user

    return make


@pytest.fixture
def client_as(make_person: Callable[..., AbstractBaseUser]) -> Callable[..., Client]:
    """``client_as("auditor")``: a test client signed in as a new person with that role."""

    def make(role: str, username: str | None = None, **client_options: object) -> Client:
        client = Client(**client_options)
        client.force_login(make_person(username or f"{role}-person", role))
        return client

    return make


def portal_routes() -> dict[str, URLPattern]:
    """The portal's URL patterns by name (namespace ``portal``), from Django's URL resolver."""
    portal = next(
        pattern
        for pattern in get_resolver().url_patterns
        if isinstance(pattern, URLResolver) and pattern.namespace == "portal"
    )
    return {pattern.name: pattern for pattern in portal.url_patterns if isinstance(pattern, URLPattern)}


def route_methods(pattern: URLPattern) -> list[str]:
    """The HTTP methods a route's view answers (of GET and the writes), as its class declares them."""
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:  # a plain function view: assume a page
        return ["get"]
    allowed = view_class.http_method_names
    return [m for m in ("get", "post", "put", "patch", "delete") if m in allowed and hasattr(view_class, m)]


def route_url(name: str, pattern: URLPattern, value: object = 1) -> str:
    """The route's path with ``value`` for each of its parameters."""
    converters = getattr(pattern.pattern, "converters", {})
    return reverse(f"portal:{name}", kwargs={parameter: value for parameter in converters})


class _CspOffences(HTMLParser):
    """What a Content-Security-Policy of ``script-src 'self'; style-src 'self'`` would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.offences: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.offences.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.offences.append(f"inline <style> at line {self.getpos()[0]}")
        for name in names:
            if name.startswith("on") or name == "style" or name.startswith("hx-on"):
                self.offences.append(f"<{tag} {name}=...> at line {self.getpos()[0]}")


def csp_offences(html: str) -> list[str]:
    """Inline scripts, inline styles, handler and style attributes in a rendered page."""
    parser = _CspOffences()
    parser.feed(html)
    parser.close()
    return parser.offences
