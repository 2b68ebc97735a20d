"""Effective origin: every publisher country up the lineage, plus "unknown" wherever the walk is blind."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from inventory.models import AIModel, License, Publisher
from inventory.selectors import with_origin
from inventory.services import ai_models, publishers
from tests.inventory_helpers import ACTOR, cuts_of, derive_from, model, origin_of, publisher

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture
def labs():
    return {code: publisher(f"lab-{code.lower()}", code) for code in ("US", "CN", "FR", "JP", "DE")}


def test_a_chain_carries_every_country(labs):
    base = model("fr/base", labs["FR"])
    middle = model("cn/distilled", labs["CN"])
    top = model("us/support-bot", labs["US"])
    derive_from(middle, "fr/base", "distillation")
    derive_from(top, "cn/distilled")

    assert origin_of(top) == {"US", "CN", "FR"}
    assert origin_of(middle) == {"CN", "FR"}
    assert origin_of(base) == {"FR"}
    assert cuts_of(top) == []


def test_a_diamond_is_walked_once_without_a_cut(labs):
    model("fr/root", labs["FR"])
    left = model("cn/left", labs["CN"])
    right = model("jp/right", labs["JP"])
    merged = model("us/merged", labs["US"])
    derive_from(left, "fr/root")
    derive_from(right, "fr/root")
    derive_from(merged, "cn/left", "merge")
    derive_from(merged, "jp/right", "merge")

    assert origin_of(merged) == {"US", "CN", "JP", "FR"}
    assert cuts_of(merged) == []


def test_a_two_node_cycle_is_cut_and_unknown(labs):
    first = model("us/a", labs["US"])
    second = model("cn/b", labs["CN"])
    derive_from(first, "cn/b")
    derive_from(second, "us/a")

    for member in (first, second):
        assert origin_of(member) == {"US", "CN", "unknown"}
        assert [cut["reason"] for cut in cuts_of(member)] == ["cycle"]
    assert cuts_of(first)[0] == {"reason": "cycle", "at": "huggingface:cn/b", "parent": "huggingface:us/a"}


def test_a_chain_deeper_than_the_bound_is_cut_at_32(labs):
    chain = [model(f"lab/m{index}", labs["JP"] if index == 35 else labs["US"]) for index in range(40)]
    for child, parent in itertools.pairwise(chain):
        derive_from(child, parent.upstream_id)

    assert origin_of(chain[0]) == {"US", "unknown"}, "JP sits 35 levels up, past the bound"
    assert cuts_of(chain[0]) == [{"reason": "depth", "at": "huggingface:lab/m32", "parent": "huggingface:lab/m33"}]
    assert origin_of(chain[7]) == {"US", "JP"}, "from m7, the whole chain (32 levels) is within reach"
    assert cuts_of(chain[7]) == []
    assert cuts_of(chain[6]) == [{"reason": "depth", "at": "huggingface:lab/m38", "parent": "huggingface:lab/m39"}]


def test_the_depth_bound_is_configurable(labs):
    with override_settings(LINEAGE_MAX_DEPTH=1):
        model("fr/grand", labs["FR"])
        parent = model("cn/parent", labs["CN"])
        child = model("us/child", labs["US"])
        derive_from(parent, "fr/grand")
        derive_from(child, "cn/parent")

        assert origin_of(child) == {"US", "CN", "unknown"}


def test_a_missing_parent_is_unknown_until_it_is_registered(labs):
    child = model("us/finetune", labs["US"])
    derive_from(child, "ghost/base")

    assert origin_of(child) == {"US", "unknown"}
    assert cuts_of(child) == [
        {"reason": "missing_parent", "at": "huggingface:us/finetune", "parent": "huggingface:ghost/base"}
    ]

    model("ghost/base", labs["CN"])

    assert origin_of(child) == {"US", "CN"}
    assert cuts_of(child) == []


def test_an_unknown_publisher_makes_the_origin_unknown_down_the_line(labs):
    unknown_base, _ = ai_models.register_model(actor=ACTOR, source="huggingface", upstream_id="mystery-lab/base")
    child = model("us/tuned", labs["US"])
    derive_from(child, "mystery-lab/base")

    assert unknown_base.publisher.name == "mystery-lab"
    assert unknown_base.publisher.country == ""
    assert origin_of(unknown_base) == {"unknown"}
    assert origin_of(child) == {"US", "unknown"}


def build_tree(owner, width: int, depth: int, other) -> list:
    """``width`` children per node, ``depth`` levels below a root published by ``owner``."""
    root = model(f"root-{width}/base", owner)
    level, everyone = [root], []
    for depth_index in range(depth):
        next_level = []
        for parent in level[:2]:  # two nodes branch per level: the tree grows with width, not exponentially
            for index in range(width):
                child = model(f"w{width}-{depth_index}-{parent.pk}/m{index}", other)
                derive_from(child, parent.upstream_id)
                next_level.append(child)
        level = next_level
        everyone.extend(next_level)
    return everyone


def test_a_publisher_country_change_reaches_every_descendant_in_bounded_queries(labs):
    query_counts = {}
    for width in (2, 6):
        owner = publisher(f"owner-{width}", "FR")
        descendants = build_tree(owner, width=width, depth=3, other=labs["US"])
        assert all(origin_of(descendant) == {"US", "FR"} for descendant in descendants)

        with CaptureQueriesContext(connection) as queries:
            publishers.update_publisher(actor=ACTOR, publisher=owner, changes={"country": "CN"})

        assert all(origin_of(descendant) == {"US", "CN"} for descendant in descendants)
        query_counts[width] = len(queries)
    assert query_counts[2] == query_counts[6], f"queries grew with the number of descendants: {query_counts}"


def test_filtering_by_origin_country_is_one_query(labs):
    model("cn/base", labs["CN"])
    child = model("us/child", labs["US"])
    derive_from(child, "cn/base")
    model("us/other", labs["US"])

    with CaptureQueriesContext(connection) as queries:
        found = sorted(with_origin(AIModel.objects.all(), "CN").values_list("upstream_id", flat=True))

    assert found == ["cn/base", "us/child"]
    assert len(queries) == 1


def test_inherited_licenses_and_the_mismatch_of_an_mit_finetune_on_a_llama_base(labs):
    llama = License.objects.get(key="LicenseRef-llama-3.3-community")  # from the shipped catalogue
    mit = License.objects.get(key="MIT")
    base = model("meta-llama/Llama-3.3-70B-Instruct", Publisher.objects.get(name="meta-llama"), llama)
    relabelled = model("someone/llama-mit-tune", labs["DE"], mit)
    faithful = model("other/llama-tune", labs["FR"], llama)
    derive_from(relabelled, base.upstream_id)
    derive_from(faithful, base.upstream_id)

    relabelled.refresh_from_db()
    faithful.refresh_from_db()
    base.refresh_from_db()
    assert set(relabelled.inherited_licenses.values_list("key", flat=True)) == {"LicenseRef-llama-3.3-community"}
    assert relabelled.declared_license == mit
    assert relabelled.license_mismatch is True
    assert faithful.license_mismatch is False
    assert (base.license_mismatch, base.inherited_licenses.count()) == (False, 0)

    ai_models.update_model(actor=ACTOR, model=relabelled, changes={"declared_license": llama})

    relabelled.refresh_from_db()
    assert relabelled.license_mismatch is False


def test_a_parent_reached_by_a_shorter_path_is_not_a_depth_cut(labs):
    with override_settings(LINEAGE_MAX_DEPTH=1):
        model("jp/c", labs["JP"])
        b = model("cn/b", labs["CN"])
        a = model("us/a", labs["US"])
        derive_from(b, "jp/c")
        derive_from(a, "cn/b")
        derive_from(a, "jp/c")

        assert origin_of(a) == {"US", "CN", "JP"}
        assert cuts_of(a) == []


def test_a_change_one_level_past_the_bound_updates_the_cut(labs):
    with override_settings(LINEAGE_MAX_DEPTH=2):
        chain = [model(f"lab/n{index}", labs["US"]) for index in range(3)]
        for child, parent in itertools.pairwise(chain):
            derive_from(child, parent.upstream_id)
        derive_from(chain[2], "lab/n3")
        assert [cut["reason"] for cut in cuts_of(chain[0])] == ["missing_parent"]

        model("lab/n3", labs["JP"])

        assert [cut["reason"] for cut in cuts_of(chain[0])] == ["depth"]
        assert cuts_of(chain[2]) == []
