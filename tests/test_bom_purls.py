"""boms.purls.model_purl is inventory.purls.build_purl's purl, whatever the id and revision."""

import pytest

from boms.purls import model_purl
from inventory.purls import build_purl

IDS = [
    "meta-llama/Llama-3.1-8B",
    "Qwen/Qwen2.5-0.5B-Instruct",
    "bench-org-3/bench-17",
    "some_org/model.v2_final",
    "org/name with space",
    "org/ünïcode",
    "org/a%20b",
    "org/name:colon",
    "org/tilde~x",
    "org/nested/name",
]
REVISIONS = [None, "", "0123456789abcdef0123456789abcdef01234567", "ABCDEF0123", "v1.0-rc_1", "a b", "main~1"]


@pytest.mark.smoke
@pytest.mark.parametrize("source", ["huggingface", "modelscope", "internal"])
@pytest.mark.parametrize("upstream_id", IDS)
def test_model_purl_equals_build_purl(source, upstream_id):
    for revision in REVISIONS:
        assert model_purl(source, upstream_id, revision) == build_purl(
            source=source, upstream_id=upstream_id, revision=revision
        ), (source, upstream_id, revision)
