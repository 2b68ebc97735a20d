"""boms.documents: CycloneDX documents of every scope, valid against the official schemas, with
everything the inventory knows of each model and nothing it does not."""

import io
import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boms import components as build
from boms import documents, numbering
from boms.documents import Scope, build_bom, iter_document, write_bom
from boms.models import BomSerial
from boms.validation import BomInvalid, SchemaSet, build_validators
from governance.models import AuditReview, Policy, ReviewKind, ReviewState, Violation
from inventory.models import AIModel, Artifact, Deployment, License, Revision
from tests import inventory_helpers as inv

pytestmark = [pytest.mark.django_db]

OFFICIAL = SchemaSet(directory=Path(__file__).resolve().parents[2] / "shared" / "conformance" / "cyclonedx" / "schema")
SHA = {name: (f"{index:x}" * 40)[:40] for index, name in enumerate(["leaf", "a4", "a3", "m2", "l1", "base"], start=1)}


def official_validate(document: dict[str, Any]) -> None:
    """Against the specification's own schema files (not the bundled copies the product uses)."""
    checks = build_validators(document["specVersion"], OFFICIAL)
    errors = [f"{list(error.instance_path)}: {error.message}" for error in checks.document.iter_errors(document)]
    assert errors == []


def written(scope: Scope, version: str = "1.6", **kwargs: Any) -> dict[str, Any]:
    out = io.BytesIO()
    info = write_bom(scope, version, out=out, **kwargs)
    document = json.loads(out.getvalue().decode("utf-8"))
    assert info.component_count == len(document["components"])
    assert (info.serial, info.version) == (document["serialNumber"], document["version"])
    return document


def _revision(model: AIModel, sha: str, files: dict[str, str]) -> Revision:
    revision = Revision.objects.create(model=model, revision=sha)
    for path, digest in files.items():
        Artifact.objects.create(
            revision=revision, path=path, sha256=digest, format="safetensors", pickle_based=False, size=10
        )
    return revision


@pytest.fixture
def lineage() -> dict[str, AIModel]:
    """A model five levels below a base, across China, the US and France (and unknown), with its facts."""
    return build_lineage()


def build_lineage() -> dict[str, AIModel]:
    """The ``lineage`` fixture's inventory (shared with the library round-trip tests)."""
    deepseek = inv.publisher("cn-lab", "CN")
    meta = inv.publisher("us-lab", "US")
    mistral = inv.publisher("fr-lab", "FR")
    acme = inv.publisher("acme-test")  # country unknown
    mit = License.objects.filter(key="MIT").first() or inv.licenses.create_license(
        actor=inv.ACTOR, key="MIT", name="MIT License", category="permissive", commercial_use="yes",
        url="https://opensource.org/license/mit",
    )  # fmt: skip
    License.objects.filter(pk=mit.pk).update(url="https://opensource.org/license/mit")
    llama = inv.licenses.create_license(
        actor=inv.ACTOR, key="LicenseRef-test-community", name="Llama 3.3 Community License Agreement",
        category="use-restricted", commercial_use="conditional",
        url="https://www.llama.com/llama3_3/license/",
    )  # fmt: skip
    models = {
        "base": inv.model("cn-lab/base", deepseek, mit),
        "l1": inv.model("us-lab/l1", meta, llama),
        "m2": inv.model("fr-lab/m2", mistral, None),
        "a3": inv.model("acme-test/a3", acme, mit),
        "a4": inv.model("acme-test/a4", acme, mit),
        "leaf": inv.model("acme-test/leaf", acme, llama),
    }
    chain = [("leaf", "a4", "adapter"), ("a4", "a3", "quantized"), ("a3", "m2", "merge"),
             ("m2", "l1", "distillation"), ("l1", "base", "finetune")]  # fmt: skip
    for child, parent, relation in chain:
        inv.derive_from(models[child], models[parent].upstream_id, relation)
    inv.derive_from(models["leaf"], "ghost/unregistered-base", "finetune")
    for name, model in models.items():
        _revision(model, SHA[name], {f"{name}.safetensors": f"{ord(name[0]):02x}" * 32})
    leaf = models["leaf"]
    _revision(leaf, "0" * 40, {})  # an older revision, listed after the newest
    Revision.objects.filter(model=leaf, revision="0" * 40).update(created_at=timezone.now() - timedelta(days=9))
    AIModel.objects.filter(pk=leaf.pk).update(
        task="text-generation",
        architecture="LlamaForCausalLM",
        architecture_family="llama",
        datasets=[{"source": "huggingface", "id": "HuggingFaceFW/fineweb"}, {"source": "huggingface", "id": "squad"}],
        evaluation_results=[
            {
                "task": "text-generation",
                "dataset": "cais/mmlu",
                "dataset_name": "MMLU",
                "metric": "accuracy",
                "value": 0.71,
                "verified": False,
            },
            {
                "task": "text-generation",
                "dataset": "gsm8k",
                "dataset_name": "",
                "metric": "exact_match",
                "value": "55.2",
                "verified": None,
            },
        ],
        team="support",
    )
    now = timezone.now()
    AuditReview.objects.create(
        model=leaf, kind=ReviewKind.FULL, state=ReviewState.APPROVED_WITH_CONDITIONS, requester_kind="user",
        requester_name="asker", reviewer_kind="user", reviewer_name="auditor", findings="fine",
        conditions=["no medical advice", "log prompts"], decided_at=now, expires_at=now + timedelta(days=90),
    )  # fmt: skip
    policy = Policy.objects.create(name="no-cn-origin", action="fail", conditions=[], enabled=True)
    Violation.objects.create(
        policy=policy, model=leaf, message="CN in origin", policy_version=1, first_seen=now, changed_at=now
    )
    revision = Revision.objects.get(model=leaf, revision=SHA["leaf"])
    for system, environment in [("support-bot", "prod"), ("support-bot", "staging"), ("search", "prod")]:
        Deployment.objects.create(revision=revision, system=system, environment=environment, team="support",
                                  first_seen=now, last_seen=now)  # fmt: skip
    old = Revision.objects.get(model=models["a3"])
    Deployment.objects.create(revision=old, system="support-bot", environment="prod", first_seen=now, last_seen=now,
                              active=False, retired_at=now)  # fmt: skip
    return {name: AIModel.objects.get(pk=model.pk) for name, model in models.items()}


def _component(document: dict[str, Any], upstream_id: str) -> dict[str, Any]:
    group, name = upstream_id.split("/")
    (found,) = [c for c in document["components"] if c.get("group") == group and c["name"] == name]
    return found


def _props(component: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]


def _no_empty_values(value: Any, where: str = "$") -> list[str]:
    """Every empty string, list or object in a document (an unknown fact written as a blank)."""
    if value in ("", [], {}):
        return [where]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _no_empty_values(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _no_empty_values(item, f"{where}[{index}]")]
    return []


SCOPES = [
    lambda models: Scope.of_model(models["leaf"]),
    lambda models: Scope("system", "support-bot"),
    lambda models: Scope("team", "support"),
    lambda models: Scope("environment", "prod"),
    lambda models: Scope.organization(),
]


@pytest.mark.parametrize("version", ["1.6", "1.7"])
@pytest.mark.parametrize("make_scope", SCOPES, ids=["model", "system", "team", "environment", "organization"])
def test_every_scope_is_valid_against_the_official_schema(lineage: dict, make_scope: Any, version: str) -> None:
    document = written(make_scope(lineage), version)
    official_validate(document)
    assert document["specVersion"] == version
    assert _no_empty_values(document) == []
    refs = [c["bom-ref"] for c in document["components"]]
    assert len(refs) == len(set(refs))
    # Every model the scope reaches is a top-level component: the leaf and its five registered ancestors.
    assert {_component(document, m.upstream_id)["bom-ref"] for m in lineage.values()} <= set(refs)
    # Every reference in the graph and the model cards names a component of the document.
    known = set(refs) | (
        {document["metadata"]["component"]["bom-ref"]} if "component" in document["metadata"] else set()
    )
    for dependency in document["dependencies"]:
        assert dependency["ref"] in known
        assert set(dependency.get("dependsOn", [])) <= known
    for component in document["components"]:
        for dataset in component.get("modelCard", {}).get("modelParameters", {}).get("datasets", []):
            assert dataset["ref"] in refs


def test_the_model_component_carries_what_the_inventory_knows(lineage: dict) -> None:
    document = written(Scope.of_model(lineage["leaf"]))
    leaf = _component(document, "acme-test/leaf")
    purl = f"pkg:huggingface/acme-test/leaf@{SHA['leaf']}"
    assert leaf["type"] == "machine-learning-model"
    assert (leaf["bom-ref"], leaf["purl"], leaf["group"], leaf["name"], leaf["version"]) == (
        purl, purl, "acme-test", "leaf", SHA["leaf"]
    )  # fmt: skip
    assert leaf["manufacturer"] == {"name": "acme-test"}  # no country: it is unknown
    assert leaf["supplier"] == {"name": "Hugging Face", "url": ["https://huggingface.co"]}
    assert leaf["licenses"] == [
        {
            "license": {
                "name": "Llama 3.3 Community License Agreement",
                "properties": [{"name": "mpr:license:key", "value": "LicenseRef-test-community"}],
                "url": "https://www.llama.com/llama3_3/license/",
                "acknowledgement": "declared",
            }
        }
    ]
    assert leaf["hashes"] == [{"alg": "SHA-256", "content": "6c" * 32}]
    assert leaf["externalReferences"] == [
        {"type": "model-card", "url": "https://huggingface.co/acme-test/leaf"},
        {"type": "distribution", "url": f"https://huggingface.co/acme-test/leaf/tree/{SHA['leaf']}"},
        {"type": "license", "url": "https://www.llama.com/llama3_3/license/"},
    ]
    base = _component(document, "cn-lab/base")
    assert base["licenses"] == [
        {"license": {"id": "MIT", "url": "https://opensource.org/license/mit", "acknowledgement": "declared"}}
    ]
    assert base["manufacturer"] == {"name": "cn-lab", "address": {"country": "CN"}}
    assert _props(base, "mpr:scope:role") == ["ancestor"]
    assert _props(leaf, "mpr:scope:role") == []
    assert "licenses" not in _component(document, "fr-lab/m2")


def test_pedigree_holds_the_five_deep_lineage_across_three_countries(lineage: dict) -> None:
    leaf = _component(written(Scope.of_model(lineage["leaf"])), "acme-test/leaf")
    ancestors = leaf["pedigree"]["ancestors"]
    rows = [(a["name"], _props(a, "mpr:lineage:relation")[0], _props(a, "mpr:lineage:depth")[0]) for a in ancestors]
    assert rows == [
        ("a4", "adapter", "1"),
        ("unregistered-base", "finetune", "1"),
        ("a3", "quantized", "2"),
        ("m2", "merge", "3"),
        ("l1", "distillation", "4"),
        ("base", "finetune", "5"),
    ]
    by_name = {a["name"]: a for a in ancestors}
    assert _props(by_name["l1"], "mpr:lineage:child") == [f"pkg:huggingface/fr-lab/m2@{SHA['m2']}"]
    assert _props(by_name["a4"], "mpr:lineage:child") == [leaf["purl"]]
    countries = {a["manufacturer"]["address"]["country"] for a in ancestors if "address" in a.get("manufacturer", {})}
    assert countries == {"CN", "US", "FR"}
    ghost = by_name["unregistered-base"]
    assert ghost["purl"] == "pkg:huggingface/ghost/unregistered-base"
    assert "version" not in ghost
    assert "manufacturer" not in ghost
    assert _props(ghost, "mpr:lineage:in-inventory") == ["false"]
    assert all("bom-ref" not in a for a in ancestors)
    assert sorted(_props(leaf, "mpr:origin:effective")) == ["CN", "FR", "US", "unknown"]
    assert _props(leaf, "mpr:origin:effective")[-1] == "unknown"
    assert _props(leaf, "mpr:license:inherited") == ["LicenseRef-test-community", "MIT"]
    assert _props(leaf, "mpr:license:mismatch") == ["true"]
    assert _props(leaf, "mpr:lineage:cut") == [
        "missing_parent: huggingface:acme-test/leaf -> huggingface:ghost/unregistered-base"
    ]


def test_model_card_and_datasets(lineage: dict) -> None:
    document = written(Scope.of_model(lineage["leaf"]), "1.7")
    leaf = _component(document, "acme-test/leaf")
    assert leaf["modelCard"] == {
        "modelParameters": {
            "task": "text-generation",
            "architectureFamily": "llama",
            "modelArchitecture": "LlamaForCausalLM",
            "datasets": [{"ref": "dataset:huggingface/HuggingFaceFW/fineweb"}, {"ref": "dataset:huggingface/squad"}],
            "inputs": [{"format": "text"}],
            "outputs": [{"format": "text"}],
        },
        "quantitativeAnalysis": {
            "performanceMetrics": [
                {"type": "accuracy", "value": "0.71", "slice": "MMLU"},
                {"type": "exact_match", "value": "55.2", "slice": "gsm8k"},
            ]
        },
    }
    data = [c for c in document["components"] if c["type"] == "data"]
    assert data == [
        {
            "type": "data",
            "bom-ref": "dataset:huggingface/HuggingFaceFW/fineweb",
            "group": "HuggingFaceFW",
            "name": "fineweb",
            "supplier": {"name": "Hugging Face", "url": ["https://huggingface.co"]},
            "externalReferences": [{"type": "website", "url": "https://huggingface.co/datasets/HuggingFaceFW/fineweb"}],
            "data": [{"type": "dataset", "name": "HuggingFaceFW/fineweb"}],
        },
        {
            "type": "data",
            "bom-ref": "dataset:huggingface/squad",
            "name": "squad",
            "supplier": {"name": "Hugging Face", "url": ["https://huggingface.co"]},
            "externalReferences": [{"type": "website", "url": "https://huggingface.co/datasets/squad"}],
            "data": [{"type": "dataset", "name": "squad"}],
        },
    ]
    # A model whose card says nothing has no model card.
    assert "modelCard" not in _component(document, "acme-test/a4")


def test_governance_properties(lineage: dict) -> None:
    leaf = _component(written(Scope.of_model(lineage["leaf"])), "acme-test/leaf")
    assert _props(leaf, "mpr:audit:status") == ["conditional"]
    (expires,) = _props(leaf, "mpr:audit:expires")
    review = AuditReview.objects.get(model=lineage["leaf"])
    assert expires == review.expires_at.isoformat()
    assert _props(leaf, "mpr:audit:conditions") == ["no medical advice", "log prompts"]
    assert _props(leaf, "mpr:violations:open") == ["1"]
    assert _props(leaf, "mpr:violations:open:policy") == ["no-cn-origin"]
    assert _props(leaf, "mpr:deployment:environments") == ["prod", "staging"]
    a4 = _component(written(Scope.of_model(lineage["leaf"])), "acme-test/a4")
    assert _props(a4, "mpr:audit:status") == ["unaudited"]
    assert _props(a4, "mpr:audit:expires") == []
    assert _props(a4, "mpr:violations:open") == ["0"]
    assert _props(a4, "mpr:deployment:environments") == []
    # A waived violation is not open; once its waiver has run out it is again.
    Violation.objects.update(
        state="waived", waiver_reason="ok", waived_by="a", waived_until=timezone.now() + timedelta(days=1)
    )
    assert _props(_component(written(Scope.of_model(lineage["leaf"])), "acme-test/leaf"), "mpr:violations:open") == [
        "0"
    ]


def test_unknown_facts_are_left_out() -> None:
    bare = inv.model("nobody/bare", inv.publisher("nobody"))
    document = written(Scope.of_model(bare))
    official_validate(document)
    (component,) = document["components"]
    assert component == {
        "type": "machine-learning-model",
        "bom-ref": "pkg:huggingface/nobody/bare",
        "group": "nobody",
        "name": "bare",
        "purl": "pkg:huggingface/nobody/bare",
        "manufacturer": {"name": "nobody"},
        "supplier": {"name": "Hugging Face", "url": ["https://huggingface.co"]},
        "externalReferences": [
            {"type": "model-card", "url": "https://huggingface.co/nobody/bare"},
            {"type": "distribution", "url": "https://huggingface.co/nobody/bare"},
        ],
        "properties": [
            {"name": "mpr:origin:effective", "value": "unknown"},
            {"name": "mpr:audit:status", "value": "unaudited"},
            {"name": "mpr:violations:open", "value": "0"},
        ],
    }
    assert document["dependencies"] == [{"ref": "pkg:huggingface/nobody/bare"}]
    assert _no_empty_values(document) == []


def test_the_system_document(lineage: dict) -> None:
    document = written(Scope("system", "support-bot"))
    assert document["metadata"]["component"] == {
        "type": "application",
        "bom-ref": "system:support-bot",
        "name": "support-bot",
    }
    assert document["metadata"]["properties"] == [
        {"name": "mpr:scope:kind", "value": "system"},
        {"name": "mpr:scope:name", "value": "support-bot"},
    ]
    assert document["metadata"]["tools"] == {
        "components": [{"type": "application", "name": "model-provenance-registry", "version": "0.1.0"}]
    }
    ref = {name: f"pkg:huggingface/{m.upstream_id}@{SHA[name]}" for name, m in lineage.items()}
    graph = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert graph["system:support-bot"] == [ref["leaf"]]  # the retired deployment of a3 is not part of it
    assert graph[ref["leaf"]] == [ref["a4"]]
    assert graph[ref["a4"]] == [ref["a3"]]
    assert graph[ref["l1"]] == [ref["base"]]
    assert graph[ref["base"]] == []
    members = [c for c in document["components"] if c["type"] == "machine-learning-model"]
    assert [_props(c, "mpr:scope:role") for c in members].count([]) == 1  # only the leaf runs there


def test_a_deployed_revision_is_the_version_described(lineage: dict) -> None:
    old = Revision.objects.get(model=lineage["leaf"], revision="0" * 40)
    now = timezone.now()
    Deployment.objects.create(revision=old, system="legacy", environment="prod", first_seen=now, last_seen=now)
    document = written(Scope("environment", "prod"))
    official_validate(document)
    versions = sorted(c["version"] for c in document["components"] if c.get("name") == "leaf")
    assert versions == sorted(["0" * 40, SHA["leaf"]])
    old_one = next(c for c in document["components"] if c.get("version") == "0" * 40)
    assert "hashes" not in old_one  # that revision has no recorded files
    assert written(Scope("system", "legacy"))["components"][0]["version"] == "0" * 40


def test_versions_count_up_per_scope_and_serials_are_unique(lineage: dict) -> None:
    scope = Scope.of_model(lineage["leaf"])
    first, second = written(scope), written(scope, "1.7")
    other = written(Scope("team", "support"))
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    assert len({first["serialNumber"], second["serialNumber"], other["serialNumber"]}) == 3
    assert first["serialNumber"].startswith("urn:uuid:")
    assert BomSerial.objects.get(scope_key=f"model:{lineage['leaf'].pk}").version == 2
    assert written(Scope.organization())["version"] == 1
    assert build_bom(Scope.organization())["version"] == 2


@pytest.mark.django_db(transaction=True)
def test_versions_are_taken_atomically_under_concurrency() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("threads sharing SQLite's one writer prove nothing")
    taken: list[int] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            for _ in range(5):
                taken.append(numbering.next_number("system:busy", "1.6").version)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 41))


def _population(count: int) -> None:
    base_owner = inv.publisher(f"base-org-{count}", "CN")
    base = inv.model(f"base-org-{count}/base", base_owner, inv.license_(f"LicenseRef-base-{count}"))
    _revision(base, "f" * 40, {"w.safetensors": "ab" * 32})
    policy = Policy.objects.create(name=f"p{count}", action="warn", conditions=[], enabled=True)
    now = timezone.now()
    for index in range(count):
        model = inv.model(
            f"team/m{count}-{index}",
            inv.publisher(f"owner{count}-{index}", "US"),
            inv.license_(f"LicenseRef-x{count}-{index}"),
        )
        inv.derive_from(model, base.upstream_id)
        revision = _revision(model, f"{index:040x}", {"a.safetensors": "cd" * 32, "b.safetensors": "ef" * 32})
        AIModel.objects.filter(pk=model.pk).update(
            team="t", datasets=[{"source": "huggingface", "id": f"d/{index}"}],
            evaluation_results=[{"task": "t", "dataset": "d", "dataset_name": "D", "metric": "m", "value": 1,
                                 "verified": True}],
        )  # fmt: skip
        AuditReview.objects.create(model=model, kind="security", state="approved", requester_kind="user",
                                   requester_name="r", decided_at=now, expires_at=now + timedelta(days=5))  # fmt: skip
        Violation.objects.create(policy=policy, model=model, message="m", policy_version=1, first_seen=now,
                                 changed_at=now)  # fmt: skip
        Deployment.objects.create(revision=revision, system="s", environment="e", first_seen=now, last_seen=now)


@pytest.mark.parametrize("make_scope", [Scope.organization, lambda: Scope("system", "s"), lambda: Scope("team", "t")])
def test_the_query_count_does_not_grow_with_the_number_of_models(make_scope: Any) -> None:
    def queries(count: int) -> int:
        _population(count)
        with CaptureQueriesContext(connection) as captured:
            document = written(make_scope())
        assert len([c for c in document["components"] if c["type"] == "machine-learning-model"]) == count + 1
        return len(captured)

    small = queries(3)
    for model in AIModel.objects.all():
        Deployment.objects.filter(revision__model=model).delete()
    Violation.objects.all().delete()
    AuditReview.objects.all().delete()
    AIModel.objects.all().delete()
    assert queries(15) == small


def test_streamed_and_whole_documents_hold_the_same_components(lineage: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = written(Scope.organization())
    monkeypatch.setattr(documents, "WHOLE_VALIDATION_LIMIT", 2)
    streamed = written(Scope.organization(), chunk_size=2)
    official_validate(streamed)
    assert streamed["components"] == whole["components"]
    assert streamed["dependencies"] == whole["dependencies"]
    parts = list(iter_document(Scope.organization()))
    assert parts[0][0] == "header"
    assert [part for kind, part in parts if kind == "component"] == whole["components"]
    assert parts[-1] == ("dependencies", whole["dependencies"])


@pytest.mark.parametrize("limit", [1000, 1])
def test_an_invalid_component_is_an_error_not_a_document(
    lineage: dict, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(documents, "WHOLE_VALIDATION_LIMIT", limit)
    real = build.model_component

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        component = real(*args, **kwargs)
        if component["name"] == "a3":
            component["hashes"] = [{"alg": "SHA-256", "content": "not hex"}]
        return component

    monkeypatch.setattr(build, "model_component", broken)
    with pytest.raises(BomInvalid) as caught:
        write_bom(Scope.organization(), out=io.BytesIO())
    assert caught.value.errors[0].path.endswith(".hashes[0].content")
    assert caught.value.errors[0].path.startswith("$.components[")


def test_scopes_are_checked(lineage: dict) -> None:
    with pytest.raises(documents.ScopeNotFound):
        write_bom(Scope("model", "999999"), out=io.BytesIO())
    with pytest.raises(ValueError, match="unknown BOM scope"):
        Scope("galaxy", "x")
    with pytest.raises(ValueError, match="needs one"):
        Scope("system")
    with pytest.raises(ValueError, match="unsupported CycloneDX version"):
        write_bom(Scope.organization(), "1.5", out=io.BytesIO())
    empty = written(Scope("system", "nothing-runs-here"))
    official_validate(empty)
    assert empty["components"] == []
    assert empty["dependencies"] == [{"ref": "system:nothing-runs-here"}]


@pytest.mark.smoke
def test_a_bare_model_document_on_any_database() -> None:
    bare = inv.model("solo/one", inv.publisher("solo", "DE"))
    document = build_bom(Scope.of_model(bare))
    assert document["components"][0]["manufacturer"] == {"name": "solo", "address": {"country": "DE"}}
    assert document["version"] == 1
