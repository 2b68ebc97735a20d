"""The product's CycloneDX property namespace, ``mpr:`` (each name's meaning: docs/boms.md).

A list-valued fact is written as one property per value (CycloneDX properties may repeat a name),
in a fixed order, so a consumer reads each value without splitting strings.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boms.loading import ModelFacts

ORIGIN_EFFECTIVE = "mpr:origin:effective"  # one per country of the effective origin (ISO code or "unknown")
LICENSE_INHERITED = "mpr:license:inherited"  # one per license key inherited from an ancestor
LICENSE_MISMATCH = "mpr:license:mismatch"  # "true" when an inherited license differs from the declared one
LICENSE_KEY = "mpr:license:key"  # on a named license: the catalogue key (a LicenseRef- id)
AUDIT_STATUS = "mpr:audit:status"  # unaudited, pending, approved, conditional, rejected, expired
AUDIT_EXPIRES = "mpr:audit:expires"  # when the first approval the status rests on runs out (ISO 8601)
AUDIT_CONDITIONS = "mpr:audit:conditions"  # one per condition of the approvals a conditional status rests on
VIOLATIONS_OPEN = "mpr:violations:open"  # how many policy violations are open
VIOLATIONS_POLICY = "mpr:violations:open:policy"  # one per policy with an open violation
DEPLOYMENT_ENVIRONMENTS = "mpr:deployment:environments"  # one per environment with an active deployment
LINEAGE_RELATION = "mpr:lineage:relation"  # on a pedigree ancestor: finetune, adapter, quantized, merge...
LINEAGE_DEPTH = "mpr:lineage:depth"  # on a pedigree ancestor: 1 for a parent, 2 for a grandparent...
LINEAGE_CHILD = "mpr:lineage:child"  # on a pedigree ancestor: the purl of the model it is the parent of
LINEAGE_IN_INVENTORY = "mpr:lineage:in-inventory"  # "false" on an ancestor named upstream but not registered
LINEAGE_CUT = "mpr:lineage:cut"  # one per place the lineage walk was cut: "<reason>: <at> -> <parent>"
SCOPE_ROLE = "mpr:scope:role"  # "ancestor" on a top-level component that is only another's ancestor
SCOPE_KIND = "mpr:scope:kind"  # on the metadata: model, system, team, environment or organization
SCOPE_NAME = "mpr:scope:name"  # on the metadata: the system, team or environment name, or the model


def prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def model_properties(facts: "ModelFacts", ancestor_only: bool = False) -> list[dict[str, Any]]:
    """The ``mpr:`` properties of a model component, from its loaded facts."""
    row = facts.row
    props = [prop(ORIGIN_EFFECTIVE, country) for country in facts.origin]
    props += [prop(LICENSE_INHERITED, key) for key in facts.inherited_licenses]
    if row["license_mismatch"]:
        props.append(prop(LICENSE_MISMATCH, "true"))
    for cut in row["lineage_cuts"] or []:
        props.append(prop(LINEAGE_CUT, f"{cut['reason']}: {cut['at']} -> {cut['parent']}"))
    if facts.audit is not None:
        props.append(prop(AUDIT_STATUS, facts.audit.status))
        if facts.audit.expires_at is not None:
            props.append(prop(AUDIT_EXPIRES, facts.audit.expires_at.isoformat()))
        props += [prop(AUDIT_CONDITIONS, condition) for condition in facts.audit.conditions]
    props.append(prop(VIOLATIONS_OPEN, str(len(facts.open_policies))))
    props += [prop(VIOLATIONS_POLICY, name) for name in facts.open_policies]
    props += [prop(DEPLOYMENT_ENVIRONMENTS, environment) for environment in facts.environments]
    if ancestor_only:
        props.append(prop(SCOPE_ROLE, "ancestor"))
    return props
