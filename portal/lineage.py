"""The lineage picture: a model's ancestors and descendants drawn on the server as inline SVG.

``lineage_picture(model)`` reads ``inventory.selectors.lineage_of`` (and the links among the nodes it
found, one query) and ``layout`` places them: one column per depth, ancestors left of the model,
descendants right of it, every edge from parent (left) to child (right) labelled with its relation.
Where the walk was cut (depth limit, a parent not in the inventory, a cycle) a dashed box says so,
beside the node it was cut at. ``layout`` is pure: tests give it a lineage and read the boxes.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from inventory.models import UNKNOWN_COUNTRY, AIModel, LineageEdge
from inventory.selectors import lineage_of

BOX_HEIGHT = 46
ROW_GAP = 18
COLUMN_GAP = 96  # room for the relation written on the edges between two columns
MARGIN = 12
CHAR_WIDTH = 7  # an estimate of one character at the picture's font size
MIN_BOX_WIDTH = 130
MAX_CHARS = 44  # longer names are shortened in the box (the <title> and the text list have them whole)

CUT_REASONS = {
    "depth": "depth limit reached",
    "missing_parent": "parent not in the inventory",
    "cycle": "cycle",
}


@dataclass
class Box:
    """One node: the model, an ancestor, a descendant, or a cut walk (``kind``)."""

    key: str
    kind: str  # model, ancestor, descendant, cut
    label: str  # the full name, e.g. huggingface:org/name
    country: str
    column: int  # 0 the model, -n its ancestors at depth n, +n its descendants
    model_id: int | None = None
    href: str = ""
    relation: str = ""  # to its child; for a cut, the reference of the parent not followed
    depth: int = 0
    note: str = ""  # a cut's reason
    x: int = 0
    y: int = 0
    width: int = MIN_BOX_WIDTH
    height: int = BOX_HEIGHT

    @property
    def name(self) -> str:
        """The upstream id (the label without its source), shortened to fit the box."""
        name = self.label.split(":", 1)[1] if ":" in self.label else self.label
        return name if len(name) <= MAX_CHARS else name[: MAX_CHARS - 1] + "…"

    @property
    def first_line(self) -> str:
        return f"walk cut: {self.note}" if self.kind == "cut" else self.name

    @property
    def second_line(self) -> str:
        if self.kind == "cut":  # the parent the walk did not follow
            parent = self.relation.split(":", 1)[-1]
            return parent if len(parent) <= MAX_CHARS else parent[: MAX_CHARS - 1] + "…"
        return f"country: {self.country}"

    @property
    def title(self) -> str:
        if self.kind == "cut":
            return f"Walk cut ({self.note}) at {self.label}, parent {self.relation}"
        what = {"model": "this model", "ancestor": f"ancestor, depth {self.depth}"}.get(self.kind, "")
        what = what or f"descendant, depth {self.depth}"
        return f"{self.label} ({what}), publisher country {self.country}"

    @property
    def text_x(self) -> int:
        return self.x + 10

    @property
    def first_y(self) -> int:
        return self.y + 19

    @property
    def second_y(self) -> int:
        return self.y + 36

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def middle(self) -> int:
        return self.y + self.height // 2


@dataclass
class Edge:
    """A line from a parent's right side to its child's left side, with the relation written on it."""

    x1: int
    y1: int
    x2: int
    y2: int
    relation: str
    dashed: bool = False

    @property
    def label_x(self) -> int:
        return (self.x1 + self.x2) // 2

    @property
    def label_y(self) -> int:
        return (self.y1 + self.y2) // 2 - 4


@dataclass
class Picture:
    boxes: list[Box]
    edges: list[Edge]
    width: int
    height: int
    ancestors: list[dict[str, Any]] = field(default_factory=list)
    descendants: list[dict[str, Any]] = field(default_factory=list)
    cuts: list[dict[str, Any]] = field(default_factory=list)

    def box(self, key: str) -> Box:
        return next(box for box in self.boxes if box.key == key)


def _width(box: Box) -> int:
    longest = max(len(box.first_line), len(box.second_line))
    return max(MIN_BOX_WIDTH, longest * CHAR_WIDTH + 20)


def layout(
    lineage: Mapping[str, Any],
    *,
    model_id: int,
    model_label: str,
    model_country: str,
    links: Iterable[tuple[int, int, str]] = (),
    href: Callable[[int], str] = lambda model_id: "",
) -> Picture:
    """Place the nodes of ``lineage`` (what ``lineage_of`` answers) in columns by depth.

    ``links`` are (child id, parent id, relation) among the nodes; without them each node is drawn
    linked to the model's side at the depth before its own (what the walk's relation says)."""
    boxes: dict[str, Box] = {}
    model_key = f"m{model_id}"
    boxes[model_key] = Box(model_key, "model", model_label, model_country, 0, model_id, href(model_id))
    for kind, sign in (("ancestor", -1), ("descendant", 1)):
        for node in lineage[f"{kind}s"]:
            key = f"m{node['id']}"
            if key in boxes or node["id"] is None:
                continue
            boxes[key] = Box(
                key,
                kind,
                str(node["model"]),
                str(node["country"]),
                sign * int(node["depth"]),
                node["id"],
                href(node["id"]),
                relation=str(node["relation"]),
                depth=int(node["depth"]),
            )
    by_label = {box.label.lower(): box for box in boxes.values()}
    cut_edges: list[tuple[Box, Box]] = []
    for number, cut in enumerate(lineage.get("cuts") or []):
        at = by_label.get(str(cut.get("at", "")).lower(), boxes[model_key])
        reason = str(cut.get("reason", ""))
        cut_box = Box(
            f"cut{number}",
            "cut",
            str(cut.get("at", "")),
            "",
            at.column - 1 if at.column <= 0 else at.column,
            note=CUT_REASONS.get(reason, reason.replace("_", " ")),
            relation=str(cut.get("parent", "")),
        )
        boxes[cut_box.key] = cut_box
        cut_edges.append((cut_box, at))

    columns: dict[int, list[Box]] = {}
    for box in boxes.values():
        box.width = _width(box)
        columns.setdefault(box.column, []).append(box)
    tallest = max(len(column) for column in columns.values())
    height = 2 * MARGIN + tallest * BOX_HEIGHT + (tallest - 1) * ROW_GAP
    x = MARGIN
    for number in sorted(columns):
        column = columns[number]
        width = max(box.width for box in column)
        used = len(column) * BOX_HEIGHT + (len(column) - 1) * ROW_GAP
        y = MARGIN + (height - 2 * MARGIN - used) // 2
        for box in column:
            box.x, box.y, box.width = x, y, width
            y += BOX_HEIGHT + ROW_GAP
        x += width + COLUMN_GAP
    width = x - COLUMN_GAP + MARGIN

    edges = []
    links = list(links)
    if not links:  # without the links, the walk's first level is at least linked to the model
        links = [
            (model_id, box.model_id, box.relation) if box.kind == "ancestor" else (box.model_id, model_id, box.relation)
            for box in boxes.values()
            if box.kind in ("ancestor", "descendant") and box.depth == 1
        ]
    for child_id, parent_id, relation in links:
        child, parent = boxes.get(f"m{child_id}"), boxes.get(f"m{parent_id}")
        if child is None or parent is None:
            continue
        edges.append(Edge(parent.right, parent.middle, child.x, child.middle, relation))
    for cut_box, at in cut_edges:
        edges.append(Edge(cut_box.right, cut_box.middle, at.x, at.middle, cut_box.relation, dashed=True))
    return Picture(
        boxes=list(boxes.values()),
        edges=edges,
        width=width,
        height=height,
        ancestors=list(lineage["ancestors"]),
        descendants=list(lineage["descendants"]),
        cuts=list(lineage.get("cuts") or []),
    )


def _links(node_ids: Sequence[int]) -> list[tuple[int, int, str]]:
    """The edges among the nodes drawn (one query)."""
    edges = LineageEdge.objects.filter(child_id__in=node_ids, parent_id__in=node_ids).order_by("child_id", "parent_id")
    return list(edges.values_list("child_id", "parent_id", "relation"))


def lineage_picture(model: AIModel, lineage: Mapping[str, Any] | None = None) -> Picture:
    """The model's lineage (``lineage_of``'s answer when given) laid out, each node in the inventory
    linking to its page."""
    lineage = lineage if lineage is not None else lineage_of(model)
    ids = [model.pk, *(node["id"] for key in ("ancestors", "descendants") for node in lineage[key] if node["id"])]
    country = (model.publisher.country if model.publisher else "") or UNKNOWN_COUNTRY
    return layout(
        lineage,
        model_id=model.pk,
        model_label=str(model),
        model_country=country,
        links=_links(ids),
        href=lambda model_id: reverse("portal:model", args=[model_id]),
    )
