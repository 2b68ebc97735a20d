"""Refreshing models from a fake hub over real HTTP: facts, revisions, lineage discovery, change
detection, states, retries and the per-model lock."""

import pytest
from django.test import override_settings

from core.models import ChangeLogEntry
from inventory.hashing import file_digests
from inventory.models import AIModel, Artifact, LineageEdge, ModelAlias, Revision
from inventory.refresh.fetch import backoff_seconds
from inventory.refresh.runner import RefreshRun
from inventory.selectors import effective_origin, find_model
from inventory.services.ai_models import register_model
from inventory.services.upstream import UPSTREAM_CHANGE
from tests.inventory_helpers import ACTOR
from tests.support.fake_hub import (
    Reply,
    commit_sha,
    git_blob_id,
    lfs_pointer,
    lfs_sha256,
    model_json,
    small_file_content,
)

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def registered(upstream_id: str) -> AIModel:
    return register_model(actor=ACTOR, source="huggingface", upstream_id=upstream_id)[0]


def refresh(*models: AIModel):
    return RefreshRun(actor=ACTOR).run([model.pk for model in models])


def fresh(model: AIModel) -> AIModel:
    return AIModel.objects.get(pk=model.pk)


def upstream_changes(model: AIModel) -> list[ChangeLogEntry]:
    return list(
        ChangeLogEntry.objects.filter(action=UPSTREAM_CHANGE, object_type="inventory.aimodel", object_id=str(model.pk))
    )


def test_a_first_refresh_records_facts_revision_artifacts_and_scan(hub):
    hub.add(
        model_json(
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            license="mit",
            files=["config.json", "model.safetensors", "pytorch_model.bin"],
            files_with_issues=[{"path": "pytorch_model.bin", "level": "unsafe"}],
            parameters=7_615_616_512,
        )
    )
    model = registered("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    assert model.refresh_state == "pending"

    summary = refresh(model)

    model = fresh(model)
    assert summary.ok == [str(model)]
    assert (model.refresh_state, model.refresh_error) == ("ok", "")
    assert model.refreshed_at is not None
    assert model.publisher.name == "deepseek-ai"
    assert model.publisher.country == "CN"
    assert model.declared_license.key == "MIT"
    assert model.upstream_license == "mit"
    assert (model.task, model.library, model.architecture) == ("text-generation", "transformers", "Qwen2ForCausalLM")
    assert model.parameter_count == 7_615_616_512
    assert model.gated is False
    revision = Revision.objects.get(model=model)
    assert revision.revision == commit_sha("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    assert revision.scan_done is True
    assert revision.scan_issues == [{"path": "pytorch_model.bin", "level": "unsafe"}]
    artifacts = {artifact.path: artifact for artifact in revision.artifacts.all()}
    assert (artifacts["model.safetensors"].format, artifacts["model.safetensors"].pickle_based) == (
        "safetensors",
        False,
    )
    assert (artifacts["pytorch_model.bin"].format, artifacts["pytorch_model.bin"].pickle_based) == (
        "pytorch-pickle",
        True,
    )
    assert len(artifacts["pytorch_model.bin"].sha256) == 64
    logged = ChangeLogEntry.objects.filter(object_type="inventory.artifact", action="create")
    assert sorted(logged.values_list("object_id", flat=True)) == sorted(str(row.pk) for row in artifacts.values())
    assert model.upstream_snapshot["languages"] == []
    assert upstream_changes(model) == [], "a first refresh has nothing to compare with"


def test_license_other_with_a_known_license_name_maps_through_the_catalogue(hub):
    hub.add(model_json("deepseek-ai/DeepSeek-V2", license="other", license_name="deepseek"))
    model = registered("deepseek-ai/DeepSeek-V2")

    refresh(model)

    assert fresh(model).declared_license.key == "LicenseRef-deepseek-license"
    assert fresh(model).upstream_license == "deepseek"


def test_an_unknown_license_and_namespace_are_kept_verbatim_and_unknown(hub):
    hub.add(model_json("someone-new/odd-model", license="other", license_name="my-own-terms-v2"))
    model = registered("someone-new/odd-model")

    refresh(model)

    model = fresh(model)
    assert model.declared_license is None, "never guessed"
    assert model.upstream_license == "my-own-terms-v2"
    assert model.publisher.name == "someone-new"
    assert model.publisher.country == ""
    assert effective_origin(model) == ["unknown"]


def test_gated_and_not_scanned_are_recorded(hub):
    hub.add(model_json("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual", scans_done=False))
    model = registered("meta-llama/Llama-3.1-8B")

    refresh(model)

    model = fresh(model)
    assert model.gated is True
    assert model.declared_license.key == "LicenseRef-llama-3.1-community"
    revision = model.revisions.get()
    assert (revision.scan_done, revision.scan_issues) == (False, [])


def test_base_models_are_discovered_registered_and_refreshed_with_current_origins(hub):
    hub.add(
        model_json("acme/support-bot", license="mit", bases=[("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "finetune")])
    )
    hub.add(
        model_json(
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", license="mit", bases=[("Qwen/Qwen2.5-Math-7B", "distillation")]
        )
    )
    hub.add(model_json("Qwen/Qwen2.5-Math-7B", license="apache-2.0"))
    bot = registered("acme/support-bot")

    summary = refresh(bot)

    assert len(summary.ok) == 3
    distill = find_model(source="huggingface", upstream_id="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    qwen = find_model(source="huggingface", upstream_id="Qwen/Qwen2.5-Math-7B")
    assert (distill.refresh_state, qwen.refresh_state) == ("ok", "ok")
    edge = LineageEdge.objects.get(child=bot)
    assert (edge.parent, edge.relation, edge.origin) == (distill, "finetune", "hub_tags")
    assert LineageEdge.objects.get(child=distill).relation == "distillation"
    assert effective_origin(fresh(bot)) == ["CN", "unknown"], "acme is an unknown publisher; Qwen and DeepSeek are CN"
    assert set(fresh(bot).inherited_licenses.values_list("key", flat=True)) == {"MIT", "Apache-2.0"}
    assert hub.requests_for("Qwen/Qwen2.5-Math-7B") == 1


def test_a_second_refresh_of_an_unchanged_model_writes_nothing(hub):
    hub.add(model_json("Qwen/Qwen3-8B", license="apache-2.0", bases=[("Qwen/Qwen3-8B-Base", "finetune")]))
    hub.add(model_json("Qwen/Qwen3-8B-Base", license="apache-2.0"))
    model = registered("Qwen/Qwen3-8B")
    refresh(model)
    first_refreshed_at = fresh(model).refreshed_at
    entries = ChangeLogEntry.objects.count()

    summary = refresh(model)

    assert len(summary.ok) == 2
    assert ChangeLogEntry.objects.count() == entries
    assert fresh(model).refreshed_at > first_refreshed_at
    assert Revision.objects.filter(model=model).count() == 1


def test_upstream_changes_are_logged_with_before_and_after(hub):
    hub.add(model_json("acme/drifting", license="apache-2.0", bases=[("Qwen/Qwen2.5-7B", "finetune")]))
    hub.add(model_json("Qwen/Qwen2.5-7B"))
    hub.add(model_json("meta-llama/Llama-3.1-8B", license="llama3.1"))
    model = registered("acme/drifting")
    refresh(model)

    hub.add(
        model_json(
            "acme/drifting",
            version=2,
            license="llama3.1",
            gated="auto",
            bases=[("meta-llama/Llama-3.1-8B", "finetune")],
            files=["config.json", "model.safetensors", "training_args.bin"],
        )
    )
    refresh(model)

    model = fresh(model)
    [event] = upstream_changes(model)
    assert set(event.after) == {"license", "revision", "base_models", "gated", "pickle_files"}
    assert event.before["license"] == ["apache-2.0", ""]
    assert event.after["license"] == ["llama3.1", ""]
    assert event.before["revision"] == commit_sha("acme/drifting", 1)
    assert event.after["revision"] == commit_sha("acme/drifting", 2)
    assert event.before["base_models"] == ["Qwen/Qwen2.5-7B (finetune)"]
    assert event.after["base_models"] == ["meta-llama/Llama-3.1-8B (finetune)"]
    assert (event.before["gated"], event.after["gated"]) == (False, True)
    assert event.after["pickle_files"] == ["training_args.bin"]
    assert model.declared_license.key == "LicenseRef-llama-3.1-community"
    assert [edge.parent_upstream_id for edge in LineageEdge.objects.filter(child=model)] == ["meta-llama/Llama-3.1-8B"]
    assert Revision.objects.filter(model=model).count() == 2, "a new sha is a new revision; the old one stays"
    assert "US" in effective_origin(model)
    assert "CN" not in effective_origin(model), "the former Qwen base no longer counts"


def test_manual_edges_survive_a_refresh(hub):
    hub.add(model_json("acme/with-manual", bases=[]))
    model = registered("acme/with-manual")
    from tests.inventory_helpers import derive_from

    derive_from(model, "internal-team/secret-base")

    refresh(model)

    assert LineageEdge.objects.filter(child=model, origin="manual").count() == 1


def test_a_moved_repository_is_followed_and_recorded_as_an_alias(hub):
    hub.add(model_json("zai-org/glm-4-9b-chat", license="other", license_name="glm-4"))
    hub.move("THUDM/glm-4-9b-chat", "zai-org/glm-4-9b-chat")
    model = registered("THUDM/glm-4-9b-chat")

    refresh(model)

    model = fresh(model)
    assert model.upstream_id == "zai-org/glm-4-9b-chat"
    assert model.publisher.name == "zai-org"
    assert ModelAlias.objects.get(model=model).upstream_id == "THUDM/glm-4-9b-chat"
    assert find_model(source="huggingface", upstream_id="THUDM/glm-4-9b-chat") == model
    assert model.declared_license.key == "LicenseRef-glm-4"


def test_a_404_marks_the_model_gone_and_deletes_nothing(hub):
    hub.add(model_json("acme/short-lived"))
    model = registered("acme/short-lived")
    refresh(model)
    hub.reset()

    summary = refresh(model)

    model = fresh(model)
    assert summary.gone == [str(model)]
    assert model.refresh_state == "gone"
    assert "no model" in model.refresh_error
    assert model.revisions.count() == 1
    assert model.declared_license is not None


def test_a_404_on_the_first_refresh_marks_it_gone_too(hub):
    model = registered("acme/never-there")

    refresh(model)

    assert fresh(model).refresh_state == "gone"


def test_transient_errors_are_retried_until_the_hub_answers(hub):
    hub.add(model_json("acme/flaky"))
    hub.script("acme/flaky", Reply(status=500), Reply(status=503), Reply(delay=1.5), Reply(body=b"{not json"))
    model = registered("acme/flaky")

    summary = refresh(model)

    assert summary.ok == [str(model)]
    assert fresh(model).refresh_state == "ok"
    assert hub.requests_for("acme/flaky") == 5


@override_settings(REFRESH_MAX_ATTEMPTS=3)
def test_a_model_whose_errors_persist_ends_in_error_with_the_reason(hub):
    hub.add(model_json("acme/down"))
    hub.script("acme/down", *[Reply(status=502)] * 3)
    model = registered("acme/down")

    summary = refresh(model)

    model = fresh(model)
    assert model.refresh_state == "error"
    assert "502" in model.refresh_error
    assert summary.failed == {str(model): model.refresh_error}
    assert hub.requests_for("acme/down") == 3


@override_settings(REFRESH_MAX_ATTEMPTS=2)
def test_malformed_json_ends_in_error_after_the_retries(hub):
    hub.add(model_json("acme/garbled"))
    hub.script("acme/garbled", Reply(body=b'{"id": "acme/gar'), Reply(body=b"<html>proxy error</html>"))
    model = registered("acme/garbled")

    refresh(model)

    assert fresh(model).refresh_state == "error"
    assert "not valid JSON" in fresh(model).refresh_error


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "1"}, {"RateLimit": '"api";r=0;t=1'}],
    ids=["Retry-After", "RateLimit reset"],
)
def test_a_429_waits_as_long_as_the_hub_says(hub, headers):
    hub.add(model_json("acme/popular"))
    hub.script("acme/popular", Reply(status=429, headers=headers, body=b"{}"))
    model = registered("acme/popular")

    refresh(model)

    assert fresh(model).refresh_state == "ok"
    first, second = hub.request_times
    assert second - first >= 0.95, "the second request waited as long as the hub asked"


def test_a_retry_after_longer_than_allowed_leaves_the_model_for_the_next_run(hub):
    hub.add(model_json("acme/throttled"))
    hub.script("acme/throttled", Reply(status=429, headers={"Retry-After": "3600"}, body=b"{}"))
    model = registered("acme/throttled")

    refresh(model)

    model = fresh(model)
    assert model.refresh_state == "error"
    assert "rate-limited" in model.refresh_error
    assert hub.requests_for("acme/throttled") == 1


@override_settings(HUB_REQUESTS_PER_SECOND=4)
def test_the_per_source_rate_limit_spreads_requests(hub):
    models = []
    for number in range(10):
        hub.add(model_json(f"acme/m{number}"))
        models.append(registered(f"acme/m{number}"))

    refresh(*models)

    times = sorted(hub.request_times)
    assert len(times) == 10
    assert times[-1] - times[0] >= 1.0, "10 requests at 4 per second need at least three one-second windows"


def test_a_base_model_cycle_ends_with_each_model_refreshed_once(hub):
    hub.add(model_json("cycle/a", bases=[("cycle/b", "finetune")]))
    hub.add(model_json("cycle/b", bases=[("cycle/a", "merge")]))
    a = registered("cycle/a")

    summary = refresh(a)

    assert len(summary.ok) == 2
    assert hub.requests_for("cycle/a") == hub.requests_for("cycle/b") == 1
    b = find_model(source="huggingface", upstream_id="cycle/b")
    assert LineageEdge.objects.get(child=b).parent == a
    assert any(cut["reason"] == "cycle" for cut in fresh(a).lineage_cuts)


@override_settings(LINEAGE_MAX_DEPTH=32)
def test_a_40_deep_chain_is_followed_to_the_depth_bound(hub):
    for level in range(40):
        bases = [(f"chain/level-{level + 1}", "finetune")] if level < 39 else []
        hub.add(model_json(f"chain/level-{level}", bases=bases))
    leaf = registered("chain/level-0")

    summary = refresh(leaf)

    assert len(summary.ok) == 33, "the leaf and 32 levels above it"
    assert summary.beyond_depth == ["huggingface:chain/level-32"]
    assert AIModel.objects.get(upstream_id="chain/level-33").refresh_state == "pending", "registered, not followed"
    assert not AIModel.objects.filter(upstream_id="chain/level-34").exists()
    assert hub.requests_for("chain/level-33") == 0
    assert "unknown" in effective_origin(fresh(leaf)), "the chain is cut at the bound"


def test_a_lock_held_by_a_live_holder_is_not_taken(hub):
    from inventory.refresh import lease

    hub.add(model_json("acme/busy"))
    model = registered("acme/busy")
    other = lease.new_holder()
    assert lease.try_acquire_many(model_ids=[model.pk], holder=other) == {model.pk}
    assert lease.try_acquire_many(model_ids=[model.pk], holder=lease.new_holder()) == set(), "held by a live holder"

    lease.release_many(model_ids=[model.pk], holder=other)
    assert lease.try_acquire_many(model_ids=[model.pk], holder="somewhere-else:1:run") == {model.pk}, "free again"


def test_a_lock_left_by_a_dead_process_is_taken_over(hub):

    hub.add(model_json("acme/orphaned"))
    model = registered("acme/orphaned")
    import socket
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    AIModel.objects.filter(pk=model.pk).update(refresh_lock_owner=f"{socket.gethostname()}:{dead.pid}:run")

    summary = refresh(model)

    assert summary.ok == [str(model)]
    assert fresh(model).refresh_lock_owner == "", "released after the refresh"


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 20])
def test_backoff_is_exponential_capped_and_jittered(attempt, settings):
    settings.REFRESH_BACKOFF_SECONDS = 1.0
    settings.REFRESH_BACKOFF_MAX_SECONDS = 60.0
    ceiling = min(60.0, 2 ** (attempt - 1))

    waits = {backoff_seconds(attempt) for _ in range(50)}

    assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
    assert len(waits) > 1, "jittered"


def test_a_record_that_cannot_be_written_fails_alone_and_its_batch_is_written(hub, caplog):
    from inventory.refresh.runner import _Fetched
    from inventory.sources.huggingface import HuggingFaceSource

    good = []
    for number in range(3):
        hub.add(model_json(f"acme/good-{number}"))
        good.append(registered(f"acme/good-{number}"))
    hub.add({**model_json("acme/odd-sha"), "sha": "not-a-commit-sha"})
    odd = registered("acme/odd-sha")
    run = RefreshRun(actor=ACTOR)
    batch = [_Fetched(model, 0, HuggingFaceSource().fetch(model.upstream_id), 1) for model in [*good, odd]]

    run._write(batch)  # the four as one batch, as the run writes fetches that finished together

    assert "a batch of refreshes failed; writing them one at a time" in caplog.text
    assert sorted(run.summary.ok) == sorted(str(model) for model in good)
    assert list(run.summary.failed) == [str(odd)]
    assert "revision" in run.summary.failed[str(odd)]
    assert fresh(odd).refresh_state == "error"
    assert {fresh(model).refresh_state for model in good} == {"ok"}


def test_a_revision_recorded_without_files_gets_them_from_the_hub(hub):
    from inventory.services.revisions import add_revision

    hub.add(model_json("acme/deployed", files=["config.json", "model.safetensors"]))
    model = registered("acme/deployed")
    pinned, _ = add_revision(actor=ACTOR, model=model, revision=commit_sha("acme/deployed"))  # a deploy named it
    assert pinned.artifacts.count() == 0

    refresh(model)

    assert sorted(pinned.artifacts.values_list("path", flat=True)) == ["config.json", "model.safetensors"]
    assert Revision.objects.filter(model=model).count() == 1


def test_every_file_is_recorded_with_its_blob_id_and_an_lfs_file_with_its_sha256_too(hub, tmp_path):
    hub.add(model_json("acme/folder", files=["config.json", "tokenizer.json", "model.safetensors"]))
    model = registered("acme/folder")

    refresh(model)

    artifacts = {row.path: row for row in Artifact.objects.filter(revision__model=model)}
    assert sorted(artifacts) == ["config.json", "model.safetensors", "tokenizer.json"]
    for path in ("config.json", "tokenizer.json"):
        local = tmp_path / path  # the file as a pipeline has it in its model folder
        local.write_bytes(small_file_content("acme/folder", 1, path))
        _, blob_id = file_digests(local)
        small = artifacts[path]
        assert (small.sha256, small.blob_id, small.size) == ("", blob_id, local.stat().st_size), path
    weights = artifacts["model.safetensors"]
    assert weights.sha256 == lfs_sha256("acme/folder", 1, "model.safetensors")
    assert weights.blob_id == git_blob_id(lfs_pointer(weights.sha256, weights.size)), "the LFS pointer's blob id"
    created = ChangeLogEntry.objects.get(object_type="inventory.artifact", object_id=str(artifacts["config.json"].pk))
    assert created.after["blob_id"] == artifacts["config.json"].blob_id


def test_files_recorded_without_blob_ids_get_the_hubs_and_nothing_else_changes(hub):
    hub.add(model_json("acme/older", files=["config.json", "model.safetensors"]))
    model = registered("acme/older")
    refresh(model)
    files = Artifact.objects.filter(revision__model=model)
    given = dict(files.values_list("path", "blob_id"))
    recorded = dict(files.values_list("path", "sha256"))
    # As recorded before the registry kept blob ids: none on the files, none in the snapshot.
    files.update(blob_id="")
    snapshot = fresh(model).upstream_snapshot
    snapshot["files"] = [{key: value for key, value in file.items() if key != "blob_id"} for file in snapshot["files"]]
    AIModel.objects.filter(pk=model.pk).update(upstream_snapshot=snapshot)

    refresh(model)

    assert dict(files.values_list("path", "blob_id")) == given
    assert dict(files.values_list("path", "sha256")) == recorded
    filled = ChangeLogEntry.objects.filter(object_type="inventory.artifact", action="update")
    assert sorted((entry.before["blob_id"], entry.after["blob_id"]) for entry in filled) == sorted(
        ("", blob_id) for blob_id in given.values()
    )
    assert {entry.message for entry in filled} == {"the hub's blob id"}
    assert upstream_changes(model) == [], "no fact governance acts on changed"


def test_a_curators_edge_to_the_same_parent_is_left_as_it_is(hub):
    from tests.inventory_helpers import derive_from

    hub.add(model_json("acme/curated", bases=[("Qwen/Qwen2.5-7B", None)]))
    hub.add(model_json("Qwen/Qwen2.5-7B"))
    model = registered("acme/curated")
    derive_from(model, "Qwen/Qwen2.5-7B", "distillation")

    refresh(model)

    [edge] = LineageEdge.objects.filter(child=model)
    assert (edge.relation, edge.origin) == ("distillation", "manual"), "the hub's untyped tag does not overwrite it"
    assert edge.parent == find_model(source="huggingface", upstream_id="Qwen/Qwen2.5-7B")


def test_a_base_named_by_the_models_own_former_id_is_no_base(hub):
    hub.add(model_json("zai-org/glm-4-9b", card_base_model="THUDM/glm-4-9b"))
    hub.move("THUDM/glm-4-9b", "zai-org/glm-4-9b")
    model = registered("THUDM/glm-4-9b")

    summary = refresh(model)

    assert summary.failed == {}
    assert fresh(model).upstream_id == "zai-org/glm-4-9b"
    assert not LineageEdge.objects.filter(child=model).exists()


def test_a_move_onto_an_id_registered_as_another_model_is_an_error_that_says_so(hub):
    hub.add(model_json("zai-org/glm-4-9b-chat"))
    hub.move("THUDM/glm-4-9b-chat", "zai-org/glm-4-9b-chat")
    old = registered("THUDM/glm-4-9b-chat")
    new = registered("zai-org/glm-4-9b-chat")

    refresh(old, new)

    assert fresh(new).refresh_state == "ok"
    assert fresh(old).refresh_state == "error"
    assert f"zai-org/glm-4-9b-chat is registered as another model (#{new.pk})" in fresh(old).refresh_error


def test_a_curators_correction_of_a_hub_fact_is_set_back_by_the_next_refresh(hub):
    from inventory.services.ai_models import update_model

    hub.add(model_json("acme/corrected"))
    model = registered("acme/corrected")
    refresh(model)
    update_model(actor=ACTOR, model=fresh(model), changes={"task": "image-classification", "team": "vision"})

    refresh(model)

    assert fresh(model).task == "text-generation", "the hub's facts win"
    assert fresh(model).team == "vision", "facts the hub does not have stay"


def test_a_run_stopped_by_an_error_gives_its_locks_back(hub, monkeypatch):
    hub.add(model_json("acme/interrupted"))
    model = registered("acme/interrupted")

    def broken_source(name):
        raise RuntimeError("the source registry broke")

    monkeypatch.setattr("inventory.refresh.runner.source_for", broken_source)
    with pytest.raises(RuntimeError):
        refresh(model)

    assert fresh(model).refresh_lock_owner == "", "the next run need not wait for the lease to run out"
