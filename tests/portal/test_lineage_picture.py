"""The lineage picture's layout and SVG, from a hand-made lineage: no database, no browser."""

import re
from html.parser import HTMLParser

from django.template.loader import render_to_string

from portal.lineage import Box, layout

LINEAGE = {
    "ancestors": [
        {"id": 2, "model": "huggingface:qwen/qwen-base", "relation": "finetune", "depth": 1, "country": "CN"},
        {"id": 3, "model": "huggingface:meta-llama/llama-3", "relation": "merge", "depth": 1, "country": "US"},
        {"id": 4, "model": "huggingface:deep/root-model", "relation": "quantized", "depth": 2, "country": "unknown"},
    ],
    "descendants": [
        {"id": 5, "model": "huggingface:someone/child-" + "x" * 60, "relation": "adapter", "depth": 1, "country": "FR"},
        {"id": 6, "model": "huggingface:someone/grandchild", "relation": "finetune", "depth": 2, "country": "DE"},
    ],
    "cuts": [
        {"reason": "depth", "at": "huggingface:deep/root-model", "parent": "huggingface:deeper/still"},
        {"reason": "missing_parent", "at": "huggingface:org/model", "parent": "huggingface:gone/away"},
    ],
    "effective_origin": ["CN", "US", "unknown"],
    "inherited_licenses": [],
    "license_mismatch": False,
}
LINKS = [(1, 2, "finetune"), (1, 3, "merge"), (2, 4, "quantized"), (5, 1, "adapter"), (6, 5, "finetune")]


def picture():
    return layout(
        LINEAGE,
        model_id=1,
        model_label="huggingface:org/model",
        model_country="GB",
        links=LINKS,
        href=lambda model_id: f"/models/{model_id}/",
    )


def overlap(a: Box, b: Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.y + b.height and b.y < a.y + a.height


def test_boxes_do_not_overlap_and_fit_the_picture() -> None:
    drawn = picture()
    assert len(drawn.boxes) == 1 + 3 + 2 + 2
    for number, box in enumerate(drawn.boxes):
        assert box.x >= 0
        assert box.right <= drawn.width
        assert box.y >= 0
        assert box.y + box.height <= drawn.height
        for other in drawn.boxes[number + 1 :]:
            assert not overlap(box, other), (box.key, other.key)


def test_ancestors_left_by_depth_descendants_right() -> None:
    drawn = picture()
    model, parent, grandparent = drawn.box("m1"), drawn.box("m2"), drawn.box("m4")
    child, grandchild = drawn.box("m5"), drawn.box("m6")
    assert grandparent.right < parent.x
    assert parent.right < model.x
    assert drawn.box("m3").x == parent.x, "one column per depth"
    assert model.right < child.x
    assert child.right < grandchild.x
    depth_cut = next(box for box in drawn.boxes if box.kind == "cut" and "depth" in box.note)
    assert depth_cut.right < grandparent.x, "a cut sits beyond the node it was cut at"


def test_every_link_is_an_edge_from_parent_to_child_with_its_relation() -> None:
    drawn = picture()
    solid = [edge for edge in drawn.edges if not edge.dashed]
    assert sorted(edge.relation for edge in solid) == sorted(relation for _, _, relation in LINKS)
    for edge in solid:
        assert edge.x1 < edge.x2, "parents on the left"
    assert len([edge for edge in drawn.edges if edge.dashed]) == 2


def test_without_links_the_first_level_still_joins_the_model() -> None:
    drawn = layout(LINEAGE, model_id=1, model_label="huggingface:org/model", model_country="GB")
    assert {edge.relation for edge in drawn.edges if not edge.dashed} == {"finetune", "merge", "adapter"}


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.titles: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "text":
            self.texts.append(data)
        elif self._in and self._in[-1] == "title":
            self.titles.append(data)


def rendered_svg() -> tuple[str, _Svg]:
    html = render_to_string("portal/inventory/lineage_picture.html", {"picture": picture()})
    svg = re.search(r"<svg.*</svg>", html, re.S).group(0)
    parser = _Svg()
    parser.feed(svg)
    return html, parser


def test_svg_names_every_ancestor_with_its_country_and_the_relations() -> None:
    _, svg = rendered_svg()
    texts = " | ".join(svg.texts)
    for node in LINEAGE["ancestors"]:
        assert node["model"].split(":", 1)[1] in texts
        assert f"country: {node['country']}" in texts
    assert {"finetune", "merge", "quantized", "adapter"} <= set(svg.texts)
    assert any("huggingface:someone/child-" + "x" * 60 in title for title in svg.titles), "whole names in <title>"
    assert all(len(text) <= 80 for text in svg.texts), "long names shortened in the box"


def test_cut_walks_are_marked_dashed_with_their_reason() -> None:
    _, svg = rendered_svg()
    assert "walk cut: depth limit reached" in svg.texts
    assert "walk cut: parent not in the inventory" in svg.texts
    assert "gone/away" in svg.texts, "the parent not followed"
    assert any("at huggingface:deep/root-model, parent huggingface:deeper/still" in title for title in svg.titles)
    dashed = [attrs for tag, attrs in svg.tags if tag == "rect" and attrs.get("stroke-dasharray")]
    assert len(dashed) == 2


def test_nodes_in_the_inventory_link_to_their_pages_and_no_style_attribute() -> None:
    html, svg = rendered_svg()
    links = {attrs["href"] for tag, attrs in svg.tags if tag == "a"}
    assert links == {f"/models/{model_id}/" for model_id in (1, 2, 3, 4, 5, 6)}
    assert all("style" not in attrs for _, attrs in svg.tags)
    assert svg.titles, "titles for accessibility"
    # the text alternative below the picture lists the ancestors
    alternative = html.split("</svg>", 1)[1]
    for node in LINEAGE["ancestors"]:
        assert node["model"] in alternative
        assert f"country {node['country']}" in alternative
