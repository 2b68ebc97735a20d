"""The database itself rejects duplicates and values outside every enumeration."""

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from inventory.models import (
    AIModel,
    Artifact,
    Deployment,
    License,
    LicenseAlias,
    LineageEdge,
    PublisherNamespace,
    Revision,
)
from tests.factories import AIModelFactory, LicenseFactory, PublisherFactory

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def refused(create) -> None:
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        create()


def test_a_model_is_unique_per_source_whatever_the_case():
    existing = AIModelFactory(upstream_id="Qwen/Qwen2.5-7B-Instruct")

    refused(
        lambda: AIModel.objects.create(
            source="huggingface", upstream_id="qwen/qwen2.5-7b-instruct", publisher=existing.publisher
        )
    )
    AIModel.objects.create(source="modelscope", upstream_id="Qwen/Qwen2.5-7B-Instruct", publisher=existing.publisher)


def test_duplicates_of_namespaces_aliases_revisions_artifacts_edges_and_deployments_are_refused():
    owner = PublisherFactory()
    PublisherNamespace.objects.create(publisher=owner, source="huggingface", namespace="OldLab")
    refused(
        lambda: PublisherNamespace.objects.create(
            publisher=PublisherFactory(), source="huggingface", namespace="oldlab"
        )
    )

    license_ = LicenseFactory()
    LicenseAlias.objects.create(license=license_, alias="example-license")
    refused(lambda: LicenseAlias.objects.create(license=LicenseFactory(), alias="Example-License"))
    refused(lambda: License.objects.create(key=license_.key, name="again"))

    model = AIModelFactory()
    revision = Revision.objects.create(model=model, revision="a" * 40)
    refused(lambda: Revision.objects.create(model=model, revision="a" * 40))
    Artifact.objects.create(revision=revision, path="model.safetensors", format="safetensors", pickle_based=False)
    refused(
        lambda: Artifact.objects.create(
            revision=revision, path="model.safetensors", format="safetensors", pickle_based=False
        )
    )

    edge = {"child": model, "parent_source": "huggingface", "relation": "finetune", "origin": "manual"}
    LineageEdge.objects.create(parent_upstream_id="Org/Base", **edge)
    refused(lambda: LineageEdge.objects.create(parent_upstream_id="org/base", **edge))
    refused(lambda: LineageEdge.objects.create(**{**edge, "parent": model, "parent_upstream_id": "self/ref"}))

    now = timezone.now()
    deployment = {"revision": revision, "system": "chat", "environment": "prod", "first_seen": now, "last_seen": now}
    Deployment.objects.create(**deployment)
    refused(lambda: Deployment.objects.create(**deployment))


@pytest.mark.parametrize(
    ("factory", "field", "bad"),
    [
        (lambda **kw: AIModelFactory(**kw), "source", "github"),
        (lambda **kw: AIModelFactory(**kw), "refresh_state", "fresh"),
        (lambda **kw: AIModelFactory(**kw), "audit_status", "blessed"),
        (lambda **kw: AIModelFactory(**kw), "upstream_id", "no-slash"),
        (lambda **kw: LicenseFactory(**kw), "category", "free"),
        (lambda **kw: LicenseFactory(**kw), "commercial_use", "maybe"),
        (lambda **kw: LicenseFactory(**kw), "key", "has space"),
        (lambda **kw: PublisherFactory(**kw), "country", "cn"),
        (lambda **kw: PublisherFactory(**kw), "country", "CHN"),
    ],
)
def test_values_outside_an_enumeration_are_refused(factory, field, bad):
    refused(lambda: factory(**{field: bad}))


def test_artifact_and_edge_enumerations_and_shapes_are_refused():
    revision = Revision.objects.create(model=AIModelFactory(), revision="b" * 40)
    artifact = {"revision": revision, "format": "safetensors", "pickle_based": False}
    refused(lambda: Artifact.objects.create(path="a", **{**artifact, "format": "zip"}))
    refused(lambda: Artifact.objects.create(path="b", **{**artifact, "format": "pickle", "pickle_based": False}))
    refused(lambda: Artifact.objects.create(path="c", sha256="XYZ", **artifact))
    refused(lambda: Artifact.objects.create(path="d", blob_id="A" * 40, **artifact))  # git blob ids are lowercase
    refused(lambda: Artifact.objects.create(path="e", blob_id="a" * 39, **artifact))
    edge = {"child": revision.model, "parent_source": "huggingface", "parent_upstream_id": "a/b", "origin": "manual"}
    refused(lambda: LineageEdge.objects.create(relation="cousin", **edge))
    refused(lambda: LineageEdge.objects.create(**{**edge, "relation": "merge", "origin": "rumour"}))
