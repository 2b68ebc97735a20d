"""Governance in the Django admin: audit reviews (``audits``), and policies, violations, overrides
and gate decisions (``policies``). Every change goes through governance's services as the
signed-in person, so the admin writes what the API writes and is refused what the API refuses."""

from governance.admin import audits, policies

__all__ = ["audits", "policies"]
