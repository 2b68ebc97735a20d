"""API tokens: issuing (the secret is shown once), revoking, and finding the token a secret belongs to."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core import changelog
from core.changelog import Actor
from core.models import ApiToken

# last_used_at is a hint for people, not an audit trail: write it at most this often per token.
LAST_USED_PRECISION = timedelta(minutes=1)


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_actor(token: ApiToken) -> Actor:
    return Actor(kind="token", id=str(token.pk), name=f"token:{token.name}")


def _logged_snapshot(token: ApiToken) -> dict[str, object]:
    values = changelog.snapshot(token)
    values.pop("secret_sha256")  # even the digest stays out of the log
    return values


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its digest is stored


def issue_token(
    *,
    actor: Actor,
    name: str,
    role: str,
    team: str = "",
    expires_in_days: int | None = None,
    created_by: AbstractBaseUser | None = None,
) -> IssuedToken:
    """Create a token with 256 random bits of secret, URL-safe; ``created_by`` is the person
    accountable for it."""
    secret = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    with transaction.atomic():
        token = ApiToken(
            name=name,
            secret_sha256=digest(secret),
            role=role,
            team=team,
            expires_at=expires_at,
            created_by=created_by,
        )
        token.full_clean()
        token.save()
        changelog.record(actor=actor, action="create", instance=token, after=_logged_snapshot(token))
    return IssuedToken(token=token, secret=secret)


def revoke_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Stop a token from working, at once; it stays listed."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            before = _logged_snapshot(token)
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            changelog.record(actor=actor, action="revoke", instance=token, before=before, after=_logged_snapshot(token))
    return token


def token_for_secret(secret: str) -> ApiToken | None:
    """The live token a secret belongs to (one indexed lookup), marking it used; None otherwise."""
    token = ApiToken.objects.filter(secret_sha256=digest(secret)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
