"""Every inventory service validates its input, writes in one transaction, and logs each object it changes."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from core.access import Principal
from core.changelog import Actor
from core.models import ChangeLogEntry, Role
from core.request_context import bound_request_id
from inventory.models import AIModel, Artifact, Deployment, LineageEdge, Publisher, Revision
from inventory.services import ai_models, deployments, licenses, lineage, publishers, revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR, derive_from, license_, model, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


def logged(instance) -> list[ChangeLogEntry]:
    return list(
        ChangeLogEntry.objects.filter(object_type=instance._meta.label_lower, object_id=str(instance.pk)).order_by("id")
    )


def test_each_service_logs_its_object_with_actor_and_request_id(django_user_model):
    person = Actor.for_user(django_user_model.objects.create_user(username="curator"))
    with bound_request_id("req-services"):
        owner = publishers.create_publisher(actor=person, name="example-lab", country="CN")
        namespace = publishers.add_namespace(
            actor=person, publisher=owner, source="huggingface", namespace="example-lab"
        )
        owner = publishers.update_publisher(actor=person, publisher=owner, changes={"display_name": "Example"})
        mit = licenses.create_license(
            actor=person, key="LicenseRef-example", name="Example", category="permissive", commercial_use="yes"
        )
        alias = licenses.add_license_alias(actor=person, license_=mit, alias="example-license")
        mit = licenses.update_license(actor=person, license_=mit, changes={"url": "https://example.org/license"})
        registered, _ = ai_models.register_model(
            actor=person, source="huggingface", upstream_id="example-lab/Example-R1", publisher=owner
        )
        registered = ai_models.update_model(actor=person, model=registered, changes={"declared_license": mit})
        renamed = ai_models.add_model_alias(
            actor=person, model=registered, source="huggingface", upstream_id="example-lab/R1-old"
        )
        pinned, _ = revisions.add_revision(
            actor=person, model=registered, revision=SHA, artifacts=[FileRecord("model.safetensors", 10, "f" * 64)]
        )
        edge, _ = lineage.add_lineage_edge(
            actor=person,
            child=registered,
            parent_source="huggingface",
            parent_upstream_id="example-lab/Example-V3-Base",
            relation="finetune",
            origin_of_edge="model_card",
        )
        deployment, _ = deployments.record_deployment(actor=person, revision=pinned, system="chat", environment="prod")
        deployment = deployments.retire_deployment(
            principal=Principal(actor=person, role=Role.ADMIN), deployment=deployment
        )

    expected = {
        owner: ["create", "update"],
        namespace: ["create"],
        mit: ["create", "update"],
        alias: ["create"],
        registered: ["create", "derive", "update", "derive"],  # origin set, then cut by the missing base
        renamed: ["create"],
        pinned: ["create"],
        Artifact.objects.get(): ["create"],
        edge: ["create"],
        deployment: ["create", "update"],
    }
    for instance, actions in expected.items():
        rows = logged(instance)
        assert [row.action for row in rows] == actions, instance
        assert {(row.actor_kind, row.actor_name, row.request_id) for row in rows} == {
            ("user", "curator", "req-services")
        }
    update = logged(owner)[1]
    assert (update.before["display_name"], update.after["display_name"]) == ("", "Example")


def test_a_change_that_changes_nothing_logs_nothing():
    owner = publisher("example-lab", "US")

    publishers.update_publisher(actor=ACTOR, publisher=owner, changes={"country": "US"})

    assert [row.action for row in logged(owner)] == ["create"]


def test_bad_input_names_the_field_and_stores_nothing():
    owner_of_bad_source = Publisher.objects.get(name="meta-llama")
    before = (ChangeLogEntry.objects.count(), Publisher.objects.count())
    with pytest.raises(ValidationError) as country:
        publishers.create_publisher(actor=ACTOR, name="somewhere", country="XX")
    with pytest.raises(ValidationError) as upstream:
        ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="no-namespace")
    with pytest.raises(ValidationError) as source:
        ai_models.register_model(actor=ACTOR, source="github", upstream_id="a/b", publisher=owner_of_bad_source)
    with pytest.raises(ValidationError) as key:
        licenses.create_license(
            actor=ACTOR, key="LicenseRef-has space", name="x", category="permissive", commercial_use="yes"
        )

    assert "country" in country.value.message_dict
    assert "upstream_id" in upstream.value.message_dict
    assert "source" in source.value.message_dict
    assert "key" in key.value.message_dict
    assert not AIModel.objects.exists()
    assert (ChangeLogEntry.objects.count(), Publisher.objects.count()) == before


def test_a_hugging_face_revision_must_be_a_commit_sha():
    target = model("org/m", publisher("org", "US"))

    with pytest.raises(ValidationError) as error:
        revisions.add_revision(actor=ACTOR, model=target, revision="main")

    assert "revision" in error.value.message_dict
    assert not Revision.objects.exists()


def test_an_unknown_change_is_refused_by_name():
    owner = publisher("org", "US")

    with pytest.raises(ValidationError) as error:
        publishers.update_publisher(actor=ACTOR, publisher=owner, changes={"name": "renamed"})

    assert "name" in error.value.message_dict


def test_registration_is_idempotent_and_finds_renamed_models():
    first, created = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="OldLab/glm-x-9b")
    again, created_again = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="oldlab/GLM-X-9B")
    ai_models.add_model_alias(actor=ACTOR, model=first, source="huggingface", upstream_id="OldLab/chatglm-old")
    by_alias, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="OldLab/chatglm-old")

    assert (created, created_again) == (True, False)
    assert again == first == by_alias
    assert AIModel.objects.count() == 1
    assert first.publisher.name == "OldLab"


def test_a_namespace_alias_finds_the_renamed_publisher():
    zai = publisher("renamed-lab", "CN")
    publishers.add_namespace(actor=ACTOR, publisher=zai, source="huggingface", namespace="renamed-lab")
    publishers.add_namespace(actor=ACTOR, publisher=zai, source="huggingface", namespace="OldName", is_alias=True)

    registered, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="OldName/chat-6b")

    assert registered.publisher == zai
    assert not Publisher.objects.filter(name="OldName").exists()


def test_revisions_record_artifact_formats_and_are_idempotent():
    target = model("org/m", publisher("org", "US"))
    files = [
        FileRecord("model-00001.safetensors", 5, "A" * 64),
        FileRecord("pytorch_model.bin", 7),
        FileRecord("weights/q4.gguf"),
        FileRecord("scaler.pkl"),
        FileRecord("README.md"),
    ]

    pinned, created = revisions.add_revision(actor=ACTOR, model=target, revision=SHA.upper(), artifacts=files)
    again, created_again = revisions.add_revision(actor=ACTOR, model=target, revision=SHA, artifacts=files)

    assert (created, created_again, pinned) == (True, False, again)
    assert pinned.revision == SHA
    formats = dict(pinned.artifacts.values_list("path", "format"))
    assert formats == {
        "model-00001.safetensors": "safetensors",
        "pytorch_model.bin": "pytorch-pickle",
        "weights/q4.gguf": "gguf",
        "scaler.pkl": "pickle",
        "README.md": "other",
    }
    assert set(pinned.artifacts.filter(pickle_based=True).values_list("path", flat=True)) == {
        "pytorch_model.bin",
        "scaler.pkl",
    }
    assert pinned.artifacts.get(path="model-00001.safetensors").sha256 == "a" * 64


def test_an_artifacts_blob_id_is_kept_lowercased_and_one_that_is_no_git_blob_id_is_refused_by_path():
    target = model("org/m", publisher("org", "US"))
    pinned, _ = revisions.add_revision(
        actor=ACTOR, model=target, revision=SHA, artifacts=[FileRecord("config.json", 2, blob_id="AB" * 20)]
    )
    assert pinned.artifacts.get().blob_id == "ab" * 20

    with pytest.raises(ValidationError) as refused, transaction.atomic():
        revisions.add_revision(
            actor=ACTOR, model=target, revision="1" * 40, artifacts=[FileRecord("tokenizer.json", 2, blob_id="xyz")]
        )
    assert list(refused.value.message_dict) == ["artifacts.tokenizer.json"]
    assert not Revision.objects.filter(revision="1" * 40).exists()


def test_deployments_are_refreshed_not_duplicated_and_can_be_retired():
    target = model("org/m", publisher("org", "US"))
    pinned, _ = revisions.add_revision(actor=ACTOR, model=target, revision=SHA)
    first, created = deployments.record_deployment(
        actor=ACTOR, revision=pinned, system="chat", environment="prod", team="ml"
    )
    retired = deployments.retire_deployment(principal=Principal(actor=ACTOR, role=Role.ADMIN), deployment=first)
    back, created_again = deployments.record_deployment(actor=ACTOR, revision=pinned, system="chat", environment="prod")

    assert (created, created_again) == (True, False)
    assert (retired.active, retired.retired_at is not None) == (False, True)
    assert (back.pk, back.active, back.retired_at, back.team) == (first.pk, True, None, "ml")
    assert back.last_seen >= first.last_seen
    assert Deployment.objects.count() == 1


def test_a_self_edge_is_refused_and_an_edge_is_idempotent():
    target = model("org/m", publisher("org", "US"))
    with pytest.raises(ValidationError) as error:
        derive_from(target, "org/m")
    derive_from(target, "org/base", "finetune")
    derive_from(target, "ORG/base", "adapter")

    assert "parent_upstream_id" in error.value.message_dict
    assert list(LineageEdge.objects.values_list("relation", flat=True)) == ["adapter"]


def test_removing_an_edge_or_a_model_recomputes_the_descendants():
    us, cn = publisher("us-lab", "US"), publisher("cn-lab", "CN")
    base = model("cn/base", cn, license_("LicenseRef-test-apache"))
    child = model("us/child", us)
    derive_from(child, "cn/base")
    assert set(child.origin_countries.values_list("country", flat=True)) == {"US", "CN"}

    ai_models.delete_model(actor=ACTOR, model=base)

    assert set(child.origin_countries.values_list("country", flat=True)) == {"US", "unknown"}
    assert LineageEdge.objects.get().parent is None
    lineage.remove_lineage_edge(actor=ACTOR, edge=LineageEdge.objects.get())
    assert set(child.origin_countries.values_list("country", flat=True)) == {"US"}


def test_a_deployed_model_cannot_be_deleted():
    target = model("org/m", publisher("org", "US"))
    pinned, _ = revisions.add_revision(actor=ACTOR, model=target, revision=SHA)
    deployments.record_deployment(actor=ACTOR, revision=pinned, system="chat", environment="prod")

    with pytest.raises(ValidationError, match="deployments"):
        ai_models.delete_model(actor=ACTOR, model=target)

    assert AIModel.objects.filter(pk=target.pk).exists()


def test_an_alias_links_the_edges_that_waited_for_the_old_name():
    child = model("us/child", publisher("us-lab", "US"))
    derive_from(child, "old-name/base")
    renamed = model("new-name/base", publisher("cn-lab", "CN"))

    ai_models.add_model_alias(actor=ACTOR, model=renamed, source="huggingface", upstream_id="old-name/base")

    assert LineageEdge.objects.get(child=child).parent == renamed
    assert set(child.origin_countries.values_list("country", flat=True)) == {"US", "CN"}


def test_an_edge_added_again_after_its_parent_arrived_is_linked():
    child = model("us/child", publisher("us-lab", "US"))
    derive_from(child, "cn/base")
    AIModel.objects.create(source="huggingface", upstream_id="cn/base", publisher=publisher("cn-lab", "CN"))

    derive_from(child, "cn/base")

    assert LineageEdge.objects.get(child=child).parent.upstream_id == "cn/base"
    assert set(child.origin_countries.values_list("country", flat=True)) == {"US", "CN"}


def test_a_known_publisher_on_another_hub_is_found_by_name():
    meta = Publisher.objects.get(name="meta-llama")

    registered, _ = ai_models.register_model(actor=ACTOR, source="modelscope", upstream_id="meta-llama/Llama-3.1-8B")

    assert registered.publisher == meta
    assert set(registered.origin_countries.values_list("country", flat=True)) == {"US"}


def test_deleting_a_model_logs_every_row_that_goes_with_it():
    owner = publisher("org", "US")
    base = model("org/base", owner)
    child = model("org/child", owner)
    derive_from(child, "org/base")
    derive_from(base, "org/root")
    ai_models.add_model_alias(actor=ACTOR, model=base, source="huggingface", upstream_id="org/base-old")
    revisions.add_revision(actor=ACTOR, model=base, revision=SHA, artifacts=[FileRecord("w.safetensors")])

    base_id = base.pk
    ai_models.delete_model(actor=ACTOR, model=base)

    deleted = set(ChangeLogEntry.objects.filter(action="delete").values_list("object_type", flat=True))
    assert deleted == {"inventory.aimodel", "inventory.lineageedge", "inventory.modelalias", "inventory.revision",
                       "inventory.artifact"}  # fmt: skip
    unlinked = ChangeLogEntry.objects.get(
        object_type="inventory.lineageedge", action="update", message__contains="deleted"
    )
    assert (unlinked.before["parent"], unlinked.after["parent"]) == (base_id, None)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda target: ai_models.add_model_alias(
                actor=ACTOR, model=target, source="huggingface", upstream_id="no slash"
            ),
            "upstream_id",
        ),
        (
            lambda target: ai_models.add_model_alias(
                actor=ACTOR, model=target, source="huggingface", upstream_id=target.upstream_id
            ),
            "upstream_id",
        ),
        (lambda target: ai_models.update_model(actor=ACTOR, model=target, changes={"tags": {"a": 1}}), "tags"),
    ],
)
def test_bad_aliases_and_tags_are_refused_by_field(call, field):
    target = model("org/m", publisher("org", "US"))

    with pytest.raises(ValidationError) as error:
        call(target)

    assert field in error.value.message_dict


def test_a_publisher_cannot_become_its_own_ancestor():
    parent, child = publisher("holding", "US"), publisher("subsidiary", "US")
    publishers.update_publisher(actor=ACTOR, publisher=child, changes={"parent": parent})

    with pytest.raises(ValidationError) as error:
        publishers.update_publisher(actor=ACTOR, publisher=parent, changes={"parent": child})

    assert "parent" in error.value.message_dict
