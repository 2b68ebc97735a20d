"""Bar charts drawn on the server as inline SVG: readable without JavaScript, printable, and testable
from the HTML. Each bar links to the list it counts, where one lists it (else it is drawn without a link)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 150
BAR_WIDTH = 260


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    href: str | None  # None: no list shows what the bar counts (the bar has no link)
    y: int
    width: int  # pixels, proportional to the largest count

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 6


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    bar_height: int = BAR_HEIGHT
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (BAR_HEIGHT + GAP)

    @property
    def width(self) -> int:
        return LABEL_WIDTH + BAR_WIDTH + 60

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)


def bar_chart(title: str, counts: Mapping[str, int], link: Callable[[str], str | None], *, limit: int = 12) -> BarChart:
    """The largest ``limit`` counts, largest first (ties by label), each bar linking to ``link(label)``
    (none where it gives None)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    largest = max((count for _, count in ranked), default=0) or 1
    bars = [
        Bar(label=label, count=count, href=link(label), y=index * (BAR_HEIGHT + GAP),
            width=max(2, round(BAR_WIDTH * count / largest)))
        for index, (label, count) in enumerate(ranked)
    ]  # fmt: skip
    return BarChart(title=title, bars=bars)
