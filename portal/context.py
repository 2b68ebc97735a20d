"""What every portal page knows about its viewer: the principal and what it may do, so a page hides
what its viewer's role cannot do (the server refuses it all the same)."""

from django.http import HttpRequest

from core.access import Capability, Principal, principal_for_user


def principal_of(request: HttpRequest) -> Principal | None:
    """The signed-in person as the rules see them, built once per request; None for a visitor."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_portal_principal"):
        request._portal_principal = principal_for_user(request.user)  # type: ignore[attr-defined]
    return request._portal_principal  # type: ignore[attr-defined]


def principal(request: HttpRequest) -> dict[str, object]:
    """Template context: ``principal`` and ``can`` (``can.audit``, ``can.administer`` ...)."""
    found = principal_of(request) if hasattr(request, "user") else None
    can = {capability.value: bool(found and found.can(capability)) for capability in Capability}
    return {"principal": found, "can": can}
