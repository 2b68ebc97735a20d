"""ensure_admin: the admin user the README's first command creates and prints."""

import io
import re

import pytest
from django.contrib import auth
from django.core.management import call_command
from django.test import RequestFactory

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def ensure_admin(*args: str) -> str:
    output = io.StringIO()
    call_command("ensure_admin", *args, stdout=output)
    return output.getvalue()


def authenticate(**credentials: str) -> object:
    """A sign-in as the portal's makes it: with its request (django-axes counts it)."""
    return auth.authenticate(RequestFactory().post("/login/"), **credentials)


def printed_password(output: str) -> str:
    return re.search(r"password: (\S+)", output).group(1)


def test_first_run_creates_a_superuser_with_the_printed_password():
    password = printed_password(ensure_admin())

    user = authenticate(username="admin", password=password)
    assert user is not None
    assert (user.is_superuser, user.is_staff) == (True, True)


def test_second_run_keeps_the_password_and_says_how_to_reset():
    password = printed_password(ensure_admin())

    output = ensure_admin()

    assert "exists" in output
    assert "--reset" in output
    assert authenticate(username="admin", password=password) is not None


def test_reset_gives_a_new_password():
    old = printed_password(ensure_admin())

    new = printed_password(ensure_admin("--reset"))

    assert new != old
    assert authenticate(username="admin", password=new) is not None
    assert authenticate(username="admin", password=old) is None
