"""An in-memory upstream source: the refresh runner tested without HTTP.

``FakeSource`` implements ``inventory.sources.base.UpstreamSource`` over records a test adds, with
failures scripted per model (raised in order before its record is served); its revisions follow
the rules the registry has for the source it stands in for. ``fake_source_fixture(name)`` makes a
fixture that puts one in place of source ``name`` for a test and puts the real one back after.
"""

import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from inventory.sources import registered, rules_for
from inventory.sources.base import BaseModelRef, NotFound, SourceError, UpstreamRecord
from tests.conftest import REFRESH_TEST_SETTINGS


def base(upstream_id: str, relation: str = "finetune", *, source: str = "") -> BaseModelRef:
    """A base model as a hub's card names it (``source``: its hub, when not the model's own)."""
    return BaseModelRef(upstream_id=upstream_id, relation=relation, learned_from="model_card", source=source)


class FakeSource:
    """A hub held in memory: ``add`` a model's record, ``fail`` its next fetches, count ``fetches``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._rules = rules_for(name)  # the registry's rules for the source this one stands in for
        self._records: dict[str, UpstreamRecord] = {}
        self._failures: dict[str, deque[SourceError]] = defaultdict(deque)
        self._fetches: Counter[str] = Counter()
        self._lock = threading.Lock()  # the runner fetches from a pool of threads

    def add(self, upstream_id: str, *, revision: str = "v1.0", **fields: Any) -> UpstreamRecord:
        """Serve this record for ``upstream_id`` from now on (``fields``: those of ``UpstreamRecord``)."""
        record = UpstreamRecord(upstream_id=upstream_id, revision=revision, **fields)
        with self._lock:
            self._records[upstream_id.lower()] = record
        return record

    def fail(self, upstream_id: str, *errors: SourceError) -> None:
        """Raise these errors, one per fetch and in order, before the record is served again."""
        with self._lock:
            self._failures[upstream_id.lower()].extend(errors)

    def fetches(self, upstream_id: str) -> int:
        """How many times ``upstream_id`` was fetched."""
        return self._fetches[upstream_id.lower()]

    def normalize_revision(self, revision: str) -> str:
        return self._rules.normalize_revision(revision)

    def fetch(self, upstream_id: str) -> UpstreamRecord:
        key = upstream_id.lower()
        with self._lock:
            self._fetches[key] += 1
            failure = self._failures[key].popleft() if self._failures[key] else None
            record = self._records.get(key)
        if failure is not None:
            raise failure
        if record is None:
            raise NotFound(f"the fake {self.name} hub has no model {upstream_id}")
        return record


def fake_source_fixture(name: str) -> Callable[..., Iterator[FakeSource]]:
    """A fixture, itself called ``name``, that refreshes source ``name``'s models from a new
    ``FakeSource`` during a test, with the short refresh delays of the tests."""

    @pytest.fixture(name=name)
    def fixture(settings: Any) -> Iterator[FakeSource]:
        for setting, value in REFRESH_TEST_SETTINGS.items():
            setattr(settings, setting, value)
        cache.clear()  # the per-source request budget and any pause a test left
        with registered(FakeSource(name)) as source:
            yield source

    return fixture
