"""The portal's security: signing in and out, throttled sign-in, the headers every page carries, cookies
in production, and templates the Content-Security-Policy can serve as they are."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from tests.portal.conftest import PASSWORD, csp_offences, portal_routes, route_methods, route_url
from tests.test_configuration import PRODUCTION, read_setting

pytestmark = [pytest.mark.django_db]

PUBLIC = {"login"}  # the only page a visitor sees
TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def sign_in(client: Client, username: str, password: str, **extra: object):
    return client.post(reverse("portal:login"), {"username": username, "password": password}, **extra)


def assert_sent_to_login(response, path: str) -> None:
    assert response.status_code == 302, (path, response.status_code)
    target = urlsplit(response["Location"])
    assert target.path == reverse("portal:login"), (path, response["Location"])
    assert parse_qs(target.query).get("next") == [path]


# --- visitors ------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_a_visitor_is_sent_to_the_login_page_from_every_page(client):
    pages = 0
    for name, pattern in portal_routes().items():
        if name in PUBLIC:
            continue
        path = route_url(name, pattern)
        for method in route_methods(pattern):
            if name == "logout":  # signing out needs no sign-in: it ends nothing, then shows the login page
                continue
            assert_sent_to_login(getattr(client, method)(path), path)
            pages += method == "get"
    assert pages >= 5  # the resolver did find the portal's pages


def test_a_visitor_writing_anything_is_refused_and_nothing_is_written(client):
    from core.models import ChangeLogEntry

    before = ChangeLogEntry.objects.count()
    for name, pattern in portal_routes().items():
        if name in PUBLIC or "post" not in route_methods(pattern):
            continue
        path = route_url(name, pattern)
        response = client.post(path, {"name": "x", "reason": "x", "enabled": "true"})
        if name == "logout":
            assert response.status_code == 302
            assert response["Location"] == reverse("portal:login")
        else:
            assert_sent_to_login(response, path)
    assert ChangeLogEntry.objects.count() == before


def test_the_login_page_is_public_and_labelled(client):
    response = client.get(reverse("portal:login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


# --- signing in and out --------------------------------------------------------------------------


@pytest.mark.smoke
def test_sign_in_with_the_right_password_then_sign_out_with_a_post(make_person):
    make_person("ana", "auditor")
    client = Client(enforce_csrf_checks=True)
    form = client.get(reverse("portal:login"))
    token = form.context["csrf_token"]

    response = client.post(
        reverse("portal:login"), {"username": "ana", "password": PASSWORD, "csrfmiddlewaretoken": str(token)}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    assert signed_in(client)
    dashboard = client.get(reverse("portal:dashboard"))
    assert dashboard.status_code == 200
    assert "ana · auditor" in dashboard.content.decode()

    assert client.get(reverse("portal:logout")).status_code == 405  # a link cannot sign anyone out
    assert client.post(reverse("portal:logout")).status_code == 403  # nor a form from elsewhere (no token)
    assert signed_in(client)

    response = client.post(reverse("portal:logout"), {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login")
    assert not signed_in(client)
    assert_sent_to_login(client.get(reverse("portal:dashboard")), reverse("portal:dashboard"))


def test_a_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client, make_person):
    make_person("ana")
    wanted = reverse("portal:models")

    response = client.post(
        reverse("portal:login") + f"?next={wanted}", {"username": "ana", "password": PASSWORD, "next": wanted}
    )
    assert response["Location"] == wanted

    client.logout()
    response = client.post(
        reverse("portal:login"), {"username": "ana", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("portal:dashboard")


def test_a_wrong_password_shows_the_form_again_and_signs_nobody_in(client, make_person):
    make_person("ana")

    response = sign_in(client, "ana", "not-the-password")

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not signed_in(client)


def test_after_the_failure_limit_even_the_right_password_is_refused(client, make_person):
    make_person("ana")
    make_person("bob")
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5  # LOGIN_FAILURE_LIMIT's default

    for _ in range(limit - 1):
        assert sign_in(client, "ana", "wrong").status_code == 200
    locked = sign_in(client, "ana", "wrong")  # the limit-th failure locks the name out from this address
    assert locked.status_code == 429

    response = sign_in(client, "ana", PASSWORD)

    assert response.status_code == 429
    assert "portal/locked_out.html" in [template.name for template in response.templates]
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)
    # Locked out by user name and address together: another name from here, or this name from elsewhere, still signs in.
    assert sign_in(Client(), "bob", PASSWORD).status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert sign_in(elsewhere, "ana", PASSWORD).status_code == 302
    assert signed_in(elsewhere)


def test_failures_below_the_limit_are_forgotten_after_a_sign_in(client, make_person):
    make_person("ana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "ana", "wrong")
    assert sign_in(client, "ana", PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "ana", "wrong").status_code == 200
    assert sign_in(client, "ana", PASSWORD).status_code == 302


# --- headers and cookies -------------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {parts[0]: parts[1:] for parts in (directive.split() for directive in header.split(";")) if parts}


@pytest.mark.smoke
def test_pages_carry_the_content_security_policy_and_the_other_headers(client, client_as):
    admin = client_as("admin")
    responses = {
        "login": client.get(reverse("portal:login")),
        "redirect": client.get(reverse("portal:dashboard")),
        "dashboard": admin.get(reverse("portal:dashboard")),
        "not allowed": admin.put(reverse("portal:dashboard")),
    }
    for what, response in responses.items():
        directives = csp_directives(response)
        assert directives["script-src"] == ["'self'"], what
        assert directives["style-src"] == ["'self'"], what
        assert directives["frame-ancestors"] == ["'none'"], what
        assert directives["object-src"] == ["'none'"], what
        for directive in ("default-src", "script-src", "style-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(directives[directive]), (what, directive)
        assert response["X-Content-Type-Options"] == "nosniff", what
        assert response["X-Frame-Options"] == "DENY", what
        assert "Strict-Transport-Security" not in response, what  # development over plain HTTP: no HSTS


@pytest.mark.smoke
@override_settings(
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_in_production_mode_hsts_is_sent_over_tls_and_cookies_are_secure(make_person):
    make_person("ana")
    client = Client()

    behind_tls = client.get(reverse("portal:login"), headers={"X-Forwarded-Proto": "https"})
    direct_tls = client.get(reverse("portal:login"), secure=True)
    plain = client.get(reverse("portal:login"))

    for response in (behind_tls, direct_tls):
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain  # HSTS means nothing over plain HTTP
    assert behind_tls.cookies["csrftoken"]["secure"] is True
    signed = client.post(reverse("portal:login"), {"username": "ana", "password": PASSWORD}, secure=True)
    assert signed.status_code == 302
    assert signed.cookies[settings.SESSION_COOKIE_NAME]["secure"] is True
    assert signed.cookies[settings.SESSION_COOKIE_NAME]["httponly"] is True


def test_production_settings_turn_on_hsts_and_secure_cookies(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": "x" * 50}
    expression = (
        "[settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_PROXY_SSL_HEADER, settings.X_FRAME_OPTIONS, settings.SESSION_COOKIE_HTTPONLY]"
    )

    hsts, session_secure, csrf_secure, proxy_header, frames, httponly = read_setting(expression, env, tmp_path)
    assert hsts >= 31_536_000
    assert session_secure
    assert csrf_secure
    assert frames == "DENY"
    assert httponly
    assert proxy_header == ["HTTP_X_FORWARDED_PROTO", "https"]
    # A trial over plain HTTP may turn the cookies' flag off; development has them off and no HSTS.
    assert read_setting("settings.SESSION_COOKIE_SECURE", {**env, "SECURE_COOKIES": "false"}, tmp_path) is False
    assert read_setting("[settings.SECURE_HSTS_SECONDS, settings.CSRF_COOKIE_SECURE]", {}, tmp_path) == [0, False]


# --- templates the CSP serves as they are --------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b", re.IGNORECASE)
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
HANDLER_OR_STYLE = re.compile(r"\s(on[a-z]+|style|hx-on\S*)\s*=", re.IGNORECASE)


def test_no_portal_template_has_inline_script_style_or_handlers():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) >= 4
    offences = []
    for template in templates:
        text = template.read_text()
        where = template.relative_to(TEMPLATES)
        offences += [f"{where}: inline script {m.group(0)}" for m in INLINE_SCRIPT.finditer(text)]
        offences += [f"{where}: inline <style>" for _ in INLINE_STYLE.finditer(text)]
        for tag in TAG.finditer(text):
            offences += [
                f"{where}: {m.group(1)}= in {tag.group(0)[:80]}" for m in HANDLER_OR_STYLE.finditer(tag.group(0))
            ]
    assert offences == []


def test_the_guards_catch_what_they_guard_against():
    page = (
        '<p style="color:red">x</p><button onclick="go()">b</button>'
        '<script>alert(1)</script><script src="/a.js"></script>'
    )
    assert len(csp_offences(page)) == 3
    assert INLINE_SCRIPT.findall(page) == ["<script>"]
    assert [m.group(1) for m in HANDLER_OR_STYLE.finditer(page)] == ["style", "onclick"]


def test_rendered_pages_have_no_inline_script_or_style(client, client_as):
    for response in (client.get(reverse("portal:login")), client_as("admin").get(reverse("portal:dashboard"))):
        assert response.status_code == 200
        assert csp_offences(response.content.decode()) == []
