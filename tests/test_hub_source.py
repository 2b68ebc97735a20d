"""The Hugging Face source against a fake hub over real HTTP: normalization and error mapping."""

import pytest

from inventory.sources.base import NotFound, PermanentError, RateLimited, TransientError
from inventory.sources.huggingface import HuggingFaceSource
from tests.support.fake_hub import (
    Reply,
    commit_sha,
    git_blob_id,
    lfs_pointer,
    lfs_sha256,
    model_json,
    small_file_content,
)

pytestmark = pytest.mark.smoke

SOURCE = HuggingFaceSource()


def bases_of(record) -> list[tuple[str, str, str]]:
    return [(base.upstream_id, base.relation, base.learned_from) for base in record.base_models]


def test_a_model_is_normalized_from_the_hubs_answer(hub):
    hub.add(
        model_json(
            "acme/child-7b",
            files=["config.json", "model-00001-of-00002.safetensors", "pytorch_model.bin", "model.gguf"],
            files_with_issues=[{"path": "pytorch_model.bin", "level": "unsafe"}],
            datasets=["HuggingFaceH4/ultrachat_200k"],
            language=["en", "zh"],
            parameters=7_615_616_512,
            model_index=[
                {
                    "name": "child-7b",
                    "results": [
                        {
                            "task": {"type": "text-generation"},
                            "dataset": {"name": "MMLU", "type": "cais/mmlu"},
                            "metrics": [{"type": "acc", "value": 71.2, "name": "accuracy"}],
                        }
                    ],
                }
            ],
        )
    )

    record = SOURCE.fetch("acme/child-7b")

    assert record.upstream_id == "acme/child-7b"
    assert record.revision == commit_sha("acme/child-7b")
    assert (record.task, record.library, record.architecture) == ("text-generation", "transformers", "Qwen2ForCausalLM")
    assert record.parameter_count == 7_615_616_512
    assert record.license_id == "apache-2.0"
    assert record.datasets == ("HuggingFaceH4/ultrachat_200k",)
    assert record.languages == ("en", "zh")
    assert record.eval_results == (
        {
            "task": "text-generation",
            "dataset": "cais/mmlu",
            "dataset_name": "MMLU",
            "metric": "acc",
            "value": 71.2,
            "verified": None,
        },
    )
    assert record.architecture_family == "qwen2"
    files = {file.path: file for file in record.files}
    config = small_file_content("acme/child-7b", 1, "config.json")
    assert files["config.json"].sha256 == "", "the hub gives no sha256 for a file outside LFS"
    assert files["config.json"].size == len(config)
    assert files["config.json"].blob_id == git_blob_id(config)
    weights = files["pytorch_model.bin"]
    assert weights.sha256 == lfs_sha256("acme/child-7b", 1, "pytorch_model.bin")
    assert weights.size == 4_000_000_000
    assert weights.blob_id == git_blob_id(lfs_pointer(weights.sha256, weights.size)), "of the LFS pointer file"
    assert record.security.done is True
    assert record.security.files_with_issues == ({"path": "pytorch_model.bin", "level": "unsafe"},)
    assert hub.requests == ["acme/child-7b"], "one request, to the model-info API, and nothing else"
    assert "blobs" in hub.query_of[-1]
    assert "securityStatus" in hub.query_of[-1]


def test_the_parameter_count_is_the_hubs_safetensors_total_and_none_without_one(hub):
    hub.add(model_json("acme/dense", parameters=494_032_768))
    hub.add(model_json("acme/dense-GGUF", files=["model-Q4_K_M.gguf"], parameters=None))

    assert SOURCE.fetch("acme/dense").parameter_count == 494_032_768
    assert SOURCE.fetch("acme/dense-GGUF").parameter_count is None, "no safetensors block: unknown, not 0"


def test_base_model_as_a_string_with_the_hubs_relation_tag(hub):
    hub.add(model_json("acme/tuned", bases=[("deepseek-ai/DeepSeek-R1", "finetune")]))

    record = SOURCE.fetch("acme/tuned")

    assert bases_of(record) == [("deepseek-ai/DeepSeek-R1", "finetune", "hub_tags")]


def test_base_model_as_a_list_with_relations_from_tags(hub):
    hub.add(
        model_json(
            "acme/merged",
            bases=[("Qwen/Qwen2.5-7B", "merge"), ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "merge")],
        )
    )

    record = SOURCE.fetch("acme/merged")

    assert bases_of(record) == [
        ("Qwen/Qwen2.5-7B", "merge", "hub_tags"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "merge", "hub_tags"),
    ]


def test_relations_the_card_alone_names_and_ids_that_are_not_models(hub):
    hub.add(
        model_json(
            "acme/quant",
            bases=[],
            card_base_model=["Qwen/Qwen3-8B", "https://example.com/weights", "acme/quant"],
            base_model_relation="quantized",
        )
    )

    record = SOURCE.fetch("acme/quant")

    assert bases_of(record) == [("Qwen/Qwen3-8B", "quantized", "model_card")], "a model is never its own base"
    assert record.ignored_base_models == ("https://example.com/weights",)


def test_an_untyped_tag_gives_relation_other_and_a_typed_one_wins(hub):
    hub.add(model_json("acme/two", bases=[("org/untyped", None), ("org/typed", "adapter")]))

    record = SOURCE.fetch("acme/two")

    assert sorted(bases_of(record)) == [("org/typed", "adapter", "hub_tags"), ("org/untyped", "other", "hub_tags")]


def test_license_other_with_license_name_and_link(hub):
    hub.add(
        model_json("acme/custom", license="other", license_name="deepseek", license_link="https://example.com/LICENSE")
    )

    record = SOURCE.fetch("acme/custom")

    assert (record.license_id, record.license_name, record.license_link) == (
        "other",
        "deepseek",
        "https://example.com/LICENSE",
    )
    assert record.license_value == "deepseek"


def test_gated_models_and_a_scan_that_was_not_done(hub):
    hub.add(model_json("meta-llama/Llama-3.1-8B", gated="manual", scans_done=False))
    hub.add(model_json("acme/unreported", scans_done=None))

    gated = SOURCE.fetch("meta-llama/Llama-3.1-8B")

    assert gated.gated is True
    assert gated.security.done is False
    assert gated.security.files_with_issues == (), "an empty list, but nothing was scanned"
    assert SOURCE.fetch("acme/unreported").security is None
    hub.add(model_json("acme/open", gated=False))
    assert SOURCE.fetch("acme/open").gated is False


def test_a_moved_repository_is_followed_to_its_new_name(hub):
    hub.add(model_json("zai-org/GLM-4-9B"))
    hub.move("THUDM/glm-4-9b", "zai-org/GLM-4-9B")

    record = SOURCE.fetch("THUDM/glm-4-9b")

    assert record.upstream_id == "zai-org/GLM-4-9B"
    assert hub.requests[-2:] == ["THUDM/glm-4-9b", "zai-org/GLM-4-9B"]


def test_errors_map_onto_the_four_kinds(hub):
    hub.add(model_json("acme/flaky"))

    with pytest.raises(NotFound):
        SOURCE.fetch("acme/never-existed")

    hub.script("acme/flaky", Reply(status=429, headers={"Retry-After": "7"}, body=b'{"error":"rate limited"}'))
    with pytest.raises(RateLimited) as limited:
        SOURCE.fetch("acme/flaky")
    assert limited.value.retry_after == 7.0

    hub.script("acme/flaky", Reply(status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, body=b""))
    with pytest.raises(RateLimited) as dated:
        SOURCE.fetch("acme/flaky")
    assert dated.value.retry_after is None, "a date is left to the backoff"

    for status in (500, 502, 503):
        hub.script("acme/flaky", Reply(status=status, body=b"upstream error"))
        with pytest.raises(TransientError, match=str(status)):
            SOURCE.fetch("acme/flaky")

    hub.script("acme/flaky", Reply(delay=1.5))  # longer than HF_REQUEST_TIMEOUT_SECONDS (1 s here)
    with pytest.raises(TransientError, match="did not answer within"):
        SOURCE.fetch("acme/flaky")

    hub.script("acme/flaky", Reply(body=b'{"id": "acme/fla'))
    with pytest.raises(TransientError, match="not valid JSON"):
        SOURCE.fetch("acme/flaky")

    hub.script("acme/flaky", Reply(body=b'{"modelId": "acme/flaky"}'))
    with pytest.raises(PermanentError, match="not a model record"):
        SOURCE.fetch("acme/flaky")

    bad_token = {"X-Error-Message": "Invalid credentials in Authorization header"}
    hub.script("acme/flaky", Reply(status=401, headers=bad_token, body=b'{"error": "Invalid credentials"}'))
    with pytest.raises(PermanentError, match="HF_TOKEN"):
        SOURCE.fetch("acme/flaky")

    # The hub answers 401 for a repository it does not show an anonymous caller: not found.
    hub.script("acme/flaky", Reply(status=401, headers={"X-Error-Code": "RepoNotFound"}, body=b"{}"))
    with pytest.raises(NotFound):
        SOURCE.fetch("acme/flaky")

    assert SOURCE.fetch("acme/flaky").upstream_id == "acme/flaky", "the scripted failures are used up"


def test_the_token_is_sent_when_configured(hub, settings):
    settings.HF_TOKEN = "hf_test_token"
    hub.add(model_json("acme/private"))

    SOURCE.fetch("acme/private")

    assert hub.authorization_of[-1] == "Bearer hf_test_token"
