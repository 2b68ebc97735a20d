"""Purls for every model, and the references clients write, through packageurl-python."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from inventory.models import Publisher
from inventory.purls import ModelReference, build_purl, parse_reference
from inventory.selectors import model_purl
from inventory.services import revisions
from tests.inventory_helpers import ACTOR, model

pytestmark = pytest.mark.smoke

SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


@pytest.mark.django_db
def test_a_hugging_face_model_uses_its_latest_commit_and_none_before():
    qwen = model("Qwen/Qwen2.5-7B-Instruct", Publisher.objects.get(name="Qwen"))
    assert model_purl(qwen) == "pkg:huggingface/Qwen/Qwen2.5-7B-Instruct"

    revisions.add_revision(actor=ACTOR, model=qwen, revision="b" * 40)
    latest, _ = revisions.add_revision(actor=ACTOR, model=qwen, revision=SHA)

    assert model_purl(qwen) == f"pkg:huggingface/Qwen/Qwen2.5-7B-Instruct@{SHA}"
    assert (
        model_purl(qwen, qwen.revisions.get(revision="b" * 40))
        == f"pkg:huggingface/Qwen/Qwen2.5-7B-Instruct@{'b' * 40}"
    )
    assert latest.revision == SHA


@override_settings(MODELSCOPE_DOMAIN="www.modelscope.cn", INTERNAL_MODEL_REPOSITORY_URL="https://models.acme.example")
def test_sources_without_a_purl_type_use_generic_with_their_repository():
    assert build_purl(source="modelscope", upstream_id="qwen/Qwen2.5-7B", revision="v1.0") == (
        "pkg:generic/qwen/Qwen2.5-7B@v1.0?repository_url=https://www.modelscope.cn"
    )
    assert build_purl(source="internal", upstream_id="acme/support-bot", revision=None) == (
        "pkg:generic/acme/support-bot?repository_url=https://models.acme.example"
    )
    assert parse_reference(
        "pkg:generic/acme/support-bot@3?repository_url=https://models.acme.example"
    ) == ModelReference("internal", "acme/support-bot", "3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"pkg:huggingface/Qwen/Qwen2.5-7B-Instruct@{SHA}",
            ModelReference("huggingface", "Qwen/Qwen2.5-7B-Instruct", SHA),
        ),
        ("pkg:huggingface/deepseek-ai/DeepSeek-R1", ModelReference("huggingface", "deepseek-ai/DeepSeek-R1", None)),
        ("huggingface:Qwen/Qwen2.5-7B-Instruct", ModelReference("huggingface", "Qwen/Qwen2.5-7B-Instruct", None)),
        (
            "huggingface:Qwen/Qwen2.5-7B-Instruct@main",
            ModelReference("huggingface", "Qwen/Qwen2.5-7B-Instruct", "main"),
        ),
        ("modelscope:qwen/Qwen2.5-7B@v1", ModelReference("modelscope", "qwen/Qwen2.5-7B", "v1")),
    ],
)
def test_references_parse(text, expected):
    assert parse_reference(text) == expected


def test_a_built_purl_parses_back():
    purl = build_purl(source="huggingface", upstream_id="meta-llama/Llama-3.3-70B-Instruct", revision=SHA)
    assert parse_reference(purl) == ModelReference("huggingface", "meta-llama/Llama-3.3-70B-Instruct", SHA)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pkg:npm/left-pad@1.0.0", "do not name models"),
        ("pkg:generic/a/b?repository_url=https://elsewhere.example", "repository_url qualifier of a known source"),
        ("pkg:huggingface/just-a-name", "needs a namespace"),
        ("pkg:huggingface/org/sub/model", "namespace/name"),
        ("github:org/model", "unknown source 'github'"),
        ("huggingface:no-namespace", "namespace/name"),
        ("huggingface:org/model\n", "control characters"),
        ("pkg:", "not a valid package URL"),
    ],
)
def test_bad_references_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_reference(text)
