"""Subscribers for the tests of domain events, to every inventory event kind.

``recorder`` writes one line per delivery to the file ``EVENT_TEST_LOG`` names; ``flaky``, a
subscriber of ``ModelRegistered`` only, fails the first delivery of each event (leaving a marker
file), then records like ``recorder``. Worker
processes load this module through ``EVENT_SUBSCRIBER_MODULES``; the test process installs them
for one test at a time with ``install`` / ``uninstall``.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from core import events
from core.events import Event
from inventory import events as inventory_events

KINDS: list[type[Event]] = [kind for kind in events.event_types() if kind.__module__ == inventory_events.__name__]


def _log() -> Path:
    return Path(os.environ["EVENT_TEST_LOG"])


def _write(subscriber: str, event: Event, outcome: str = "delivered") -> None:
    payload = dataclasses.asdict(event)
    line = json.dumps({"subscriber": subscriber, "kind": event.kind, "payload": payload, "outcome": outcome})
    with _log().open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def recorder(event: Event) -> None:
    _write("tests.recorder", event)


def flaky(event: Event) -> None:
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(event), sort_keys=True).encode()).hexdigest()
    marker = _log().with_name(f"{_log().name}.failed-{digest}")
    if not marker.exists():
        marker.touch()
        _write("tests.flaky", event, outcome="failed")
        raise RuntimeError("the flaky subscriber fails each event once")
    _write("tests.flaky", event)


def install() -> None:
    for kind in KINDS:
        events.subscribe(kind, name="tests.recorder")(recorder)
    events.subscribe(inventory_events.ModelRegistered, name="tests.flaky")(flaky)


def uninstall() -> None:
    for kind in KINDS:
        events.unsubscribe(kind, name="tests.recorder")
    events.unsubscribe(inventory_events.ModelRegistered, name="tests.flaky")


def deliveries(log: Path, outcome: str = "delivered") -> list[dict]:
    """The deliveries recorded in ``log`` so far (or, with ``outcome="failed"``, the failed tries)."""
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return [line for line in lines if line["outcome"] == outcome]


if os.environ.get("EVENT_TEST_LOG"):  # a worker started by the tests
    install()
