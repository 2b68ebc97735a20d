"""Policies: writing them (each edit a new version, logged and published), their scope, whether they
flag a model's facts, and a dry run over the inventory before one is saved."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Subquery

from core import changelog, events
from core.changelog import Actor
from governance.conditions import checked_conditions, describe, holds
from governance.events import PolicyChanged
from governance.facts import facts_of, models_with_facts, revision_of
from governance.models import Policy, PolicyMatch, PolicyVersion
from inventory.models import AIModel

# What a policy's definition is made of (all a version keeps).
DEFINITION = ("name", "description", "enabled", "action", "match", "environments", "tags", "teams", "conditions")


def create_policy(*, actor: Actor, definition: Mapping[str, Any]) -> Policy:
    """Add a policy (version 1); its conditions are checked and stored normalized."""
    with transaction.atomic():
        policy = Policy(**_checked_definition(definition))
        policy.full_clean()
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:  # the same name, created by someone else since full_clean looked
            raise ValidationError({"name": "a policy with this name exists"}) from None
        _record_version(actor=actor, policy=policy, before=None)
        return policy


def update_policy(*, actor: Actor, policy: Policy, changes: Mapping[str, Any]) -> Policy:
    """Change a policy: a new version when anything differs (nothing is written otherwise)."""
    with transaction.atomic():
        current = Policy.objects.select_for_update().get(pk=policy.pk)
        before = changelog.snapshot(current)
        merged = {name: getattr(current, name) for name in DEFINITION} | dict(changes)
        for name, value in _checked_definition(merged).items():
            setattr(current, name, value)
        if {name: getattr(current, name) for name in DEFINITION} == {name: before[name] for name in DEFINITION}:
            return current
        current.version += 1
        current.full_clean()
        current.save()
        _record_version(actor=actor, policy=current, before=before)
        return current


def _checked_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(definition) - set(DEFINITION))
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    checked = dict(definition)
    if "conditions" in checked:
        checked["conditions"] = checked_conditions(checked["conditions"])
    for name in ("environments", "tags", "teams"):
        values = checked.get(name, [])
        if not isinstance(values, list) or not all(isinstance(value, str) and value for value in values):
            raise ValidationError({name: "a list of non-empty strings (empty: everywhere)"})
        checked[name] = sorted(set(values))
    return checked


def _record_version(*, actor: Actor, policy: Policy, before: dict[str, Any] | None) -> None:
    global _enabled
    definition = {name: getattr(policy, name) for name in DEFINITION}
    PolicyVersion.objects.create(policy=policy, version=policy.version, definition=definition, actor_name=actor.name)
    _enabled = None  # this process reads them afresh, even if this write is rolled back
    after = changelog.snapshot(policy)
    changelog.record(
        actor=actor, action="update" if before else "create", instance=policy, before=before, after=after,
        message=f"version {policy.version}",
    )  # fmt: skip
    events.record(actor=actor, events=[PolicyChanged(policy_id=policy.pk, version=policy.version)])


def definition_of(policy: Policy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in DEFINITION}


# --- The enabled policies, as the gate reads them ------------------------------------------------

# The id of the newest policy version. Every policy written adds a version (and none is ever
# deleted), so it moves with every change, in any process: the gate reads it with the model, in the
# same query, and reads the enabled policies again only when it moved.
NEWEST_VERSION = Subquery(PolicyVersion.objects.order_by("-pk").values("pk")[:1])
_enabled: tuple[int | None, list[Policy]] | None = None  # (newest version id, the enabled policies)


def enabled_policies(newest_version: int | None) -> list[Policy]:
    """The enabled policies as of ``newest_version`` (a value of ``NEWEST_VERSION``): kept by the
    process between calls while no policy is written. The list is shared: read it, never change it."""
    global _enabled
    known = _enabled
    if known is None or known[0] != newest_version:
        known = _enabled = (newest_version, list(Policy.objects.filter(enabled=True).order_by("pk")))
    return known[1]


# --- Scope and evaluation -----------------------------------------------------------------------


def applies_to(policy: Policy, model: AIModel, environment: str | None = None) -> bool:
    """Whether the model is in the policy's scope: its tags and teams (empty: every model), and, when
    an environment is named (the gate), its environments."""
    if policy.tags and not set(policy.tags) & set(model.tags):
        return False
    if policy.teams and model.team not in policy.teams:
        return False
    return environment is None or not policy.environments or environment in policy.environments


def findings(policy: Policy, facts: Mapping[str, Any]) -> list[str]:
    """What the policy finds in the facts: the conditions that hold, described, when they meet its
    ``match``; empty when it does not flag them."""
    met = [describe(condition, facts) for condition in policy.conditions if holds(condition, facts)]
    flagged = len(met) == len(policy.conditions) if policy.match == PolicyMatch.ALL else bool(met)
    return met if flagged else []


@dataclass(frozen=True)
class Flagged:
    """A model a policy flags, and why."""

    model: AIModel
    message: str


def dry_run(*, definition: Mapping[str, Any], model_ids: Iterable[int] | None = None) -> list[Flagged]:
    """The models a policy with this definition would flag now, without saving anything."""
    checked = _checked_definition(definition)
    policy = Policy(**{**{"match": PolicyMatch.ALL}, **checked})
    ids = model_ids if model_ids is not None else AIModel.objects.values_list("pk", flat=True)
    flagged = []
    for model in models_with_facts(ids).iterator(chunk_size=500):
        if applies_to(policy, model) and (met := findings(policy, facts_of(model, revision_of(model, None)))):
            flagged.append(Flagged(model=model, message="; ".join(met)))
    return flagged
