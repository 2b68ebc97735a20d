"""A refresh run: many models at once, waiting on the hub rather than the CPU.

Fetches run in a pool of HUB_MAX_IN_FLIGHT threads (the requests in flight). This thread holds
the models' locks and writes the results in batches: whatever fetches finished while it wrote the
last batch form the next one, so batches grow exactly when writing is the bottleneck. Base models
a refresh names join the run (up to LINEAGE_MAX_DEPTH levels above the models asked for, each
once), so when the run ends the origins of everything it touched are current.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from core.changelog import Actor
from inventory import origin
from inventory.models import AIModel
from inventory.refresh import lease
from inventory.refresh.fetch import fetch_with_retries, retry_later_seconds
from inventory.selectors import parent_ids_of
from inventory.services import upstream
from inventory.sources import REFRESHABLE_SOURCES, not_refreshed_because, source_for
from inventory.sources.base import NotFound, SourceError, UpstreamRecord

logger = logging.getLogger(__name__)

Fetch = Future[tuple[UpstreamRecord, int]]


@dataclass
class RunSummary:
    """How a run ended, model by model."""

    ok: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    beyond_depth: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, object]:
        return {
            "refreshed": len(self.ok),
            "changed": self.changed,
            "gone": self.gone,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_followed_beyond_depth": self.beyond_depth,
        }


def _ignore(*args: object, **kwargs: object) -> None:
    return None


@dataclass
class _Item:
    model_id: int
    depth: int


@dataclass
class _Fetched:
    model: AIModel
    depth: int
    record: UpstreamRecord
    attempts: int


def _not_retried_yet(model: AIModel) -> str:
    """Why a model whose refresh failed is not to be tried again yet; empty when it may be."""
    if model.refresh_retry_at is None or model.refresh_retry_at <= timezone.now():
        return ""
    return f"its last refresh failed; not tried again before {model.refresh_retry_at.isoformat(timespec='seconds')}"


class RefreshRun:
    """Refresh models and the base models they name; report progress as (done, total)."""

    def __init__(
        self,
        *,
        actor: Actor,
        on_progress: Callable[..., None] = _ignore,
        on_log: Callable[[str], None] = _ignore,
    ) -> None:
        self.actor = actor
        self.on_progress = on_progress
        self.on_log = on_log
        self.holder = lease.new_holder()
        self.started_at = timezone.now()
        self.summary = RunSummary()
        self._queue: deque[_Item] = deque()
        self._seen: set[int] = set()
        self._done = 0
        self._renewed_at = time.monotonic()

    def run(self, model_ids: Iterable[int]) -> RunSummary:
        for model_id in model_ids:
            self._add(model_id, depth=0)
        self._report()
        in_flight: dict[Fetch, tuple[AIModel, int]] = {}
        try:
            with ThreadPoolExecutor(max_workers=settings.HUB_MAX_IN_FLIGHT, thread_name_prefix="hub-fetch") as pool:
                while self._queue or in_flight:
                    self._renew_locks(in_flight)
                    waiting = self._start_fetches(pool, in_flight)
                    if in_flight:
                        poll = settings.REFRESH_LOCK_POLL_SECONDS
                        finished, _ = wait(in_flight, timeout=poll, return_when=FIRST_COMPLETED)
                        results = [(future, *in_flight.pop(future)) for future in finished]
                        self._start_fetches(pool, in_flight)  # keep the hub busy while this thread writes
                        self._finish(results)
                    elif waiting:
                        time.sleep(settings.REFRESH_LOCK_POLL_SECONDS)
        finally:
            lease.release_all(holder=self.holder)  # after an error, the next run need not wait for the leases
        return self.summary

    def _renew_locks(self, in_flight: dict[Fetch, tuple[AIModel, int]]) -> None:
        """Keep the locks of the models being fetched: retries and Retry-After waits may outlast one lease."""
        if time.monotonic() - self._renewed_at >= settings.REFRESH_LOCK_SECONDS / 3:
            lease.renew_many(model_ids=[model.pk for model, _ in in_flight.values()], holder=self.holder)
            self._renewed_at = time.monotonic()

    def _add(self, model_id: int, depth: int) -> None:
        if model_id not in self._seen:
            self._seen.add(model_id)
            self._queue.append(_Item(model_id, depth))

    def _report(self) -> None:
        self.on_progress(done=self._done, total=len(self._seen))

    def _count_done(self, count: int = 1) -> None:
        self._done += count
        self._report()

    def _start_fetches(self, pool: ThreadPoolExecutor, in_flight: dict[Fetch, tuple[AIModel, int]]) -> bool:
        """Start fetches up to the in-flight limit; returns whether some model waits for its lock."""
        room = settings.HUB_MAX_IN_FLIGHT - len(in_flight)
        batch = [self._queue.popleft() for _ in range(min(room, len(self._queue)))]
        if not batch:
            return False
        held = lease.try_acquire_many(model_ids=[item.model_id for item in batch], holder=self.holder)
        models = AIModel.objects.in_bulk([item.model_id for item in batch])
        waiting, done_elsewhere, skipped = [], [], []
        for item in batch:
            model = models.get(item.model_id)
            if model is None:  # deleted meanwhile
                self._done += 1
            elif item.model_id not in held:
                waiting.append(item)
            elif model.source not in REFRESHABLE_SOURCES:
                self.summary.skipped[str(model)] = not_refreshed_because(model.source)
                skipped.append(model.pk)
            elif item.depth > 0 and (waiting_to_retry := _not_retried_yet(model)):
                # a base found on the way is left alone as the schedule would leave it; one asked for is not
                self.summary.skipped[str(model)] = waiting_to_retry
                skipped.append(model.pk)
            elif model.refreshed_at is not None and model.refreshed_at >= self.started_at:
                done_elsewhere.append((model, item.depth))  # another run did it while this one waited
            else:
                future = pool.submit(fetch_with_retries, source_for(model.source), model.upstream_id)
                in_flight[future] = (model, item.depth)
        lease.release_many(model_ids=skipped, holder=self.holder)
        self._done += len(skipped)
        self._queue.extend(waiting)
        if done_elsewhere:
            self._refreshed_elsewhere(done_elsewhere)
        self._report()
        return bool(waiting)

    def _finish(self, results: list[tuple[Fetch, AIModel, int]]) -> None:
        """Record a batch of finished fetches, then let go of their locks."""
        fetched: list[_Fetched] = []
        for future, model, depth in results:
            try:
                record, attempts = future.result()
            except NotFound as exc:
                self._record_gone(model, str(exc))
            except SourceError as exc:
                self._fail(model, exc)
            except Exception as exc:  # a bug in a source: this model fails, the run goes on
                logger.exception("fetch failed", extra={"model": str(model)})
                self._fail(model, exc)
            else:
                fetched.append(_Fetched(model, depth, record, attempts))
        try:
            if fetched:
                self._write(self._still_locked(fetched))
        finally:
            lease.release_many(model_ids=[model.pk for _, model, _ in results], holder=self.holder)
            self._count_done(len(results))

    def _still_locked(self, fetched: list[_Fetched]) -> list[_Fetched]:
        """The fetched models whose locks this run still holds; another run took over the others
        (their leases ran out), and its result is the newer one."""
        held = lease.renew_many(model_ids=[one.model.pk for one in fetched], holder=self.holder)
        for one in fetched:
            if one.model.pk not in held:
                self.summary.ok.append(str(one.model))
                self.on_log(f"{one.model}: its lock ran out and another run refreshed it; this result is dropped")
        return [one for one in fetched if one.model.pk in held]

    def _write(self, fetched: list[_Fetched]) -> None:
        try:
            outcomes = upstream.record_refreshes(
                actor=self.actor, refreshed=[(one.model, one.record) for one in fetched]
            )
        except Exception:
            # Nothing of the batch was written; one bad record must not cost the others.
            logger.warning("a batch of refreshes failed; writing them one at a time", exc_info=True)
            outcomes = {}
            for one in fetched:
                outcomes.update(self._write_one(one))
        for one in fetched:
            outcome = outcomes.get(one.model.pk)
            if outcome is None:
                continue
            label = str(one.model)
            self.summary.ok.append(label)
            if outcome.upstream_changes:
                self.summary.changed.append(label)
                self.on_log(f"{label}: changed upstream: {', '.join(outcome.upstream_changes)}")
            if one.attempts > 1:
                self.on_log(f"{label}: refreshed after {one.attempts} attempts")
            self._follow(outcome.parent_ids, one.depth, label)

    def _write_one(self, one: _Fetched) -> dict[int, upstream.RefreshOutcome]:
        try:
            return upstream.record_refreshes(actor=self.actor, refreshed=[(one.model, one.record)])
        except Exception as exc:
            logger.exception("recording a refresh failed", extra={"model": str(one.model)})
            self._fail(one.model, exc)
            return {}

    def _refreshed_elsewhere(self, models: list[tuple[AIModel, int]]) -> None:
        lease.release_many(model_ids=[model.pk for model, _ in models], holder=self.holder)
        parents = parent_ids_of([model.pk for model, _ in models])
        for model, depth in models:
            self.summary.ok.append(str(model))
            self._done += 1
            self._follow(parents[model.pk], depth, str(model))

    def _follow(self, parent_ids: list[int], depth: int, label: str) -> None:
        new = [parent_id for parent_id in parent_ids if parent_id not in self._seen]
        if not new:
            return
        if depth + 1 > origin.max_depth():
            self.summary.beyond_depth.append(label)
            self.on_log(f"{label}: its base models are beyond the depth bound ({origin.max_depth()}), not followed")
            return
        for parent_id in new:
            self._add(parent_id, depth + 1)

    def _record_gone(self, model: AIModel, reason: str) -> None:
        try:
            upstream.record_gone(actor=self.actor, model=model, reason=reason)
        except Exception as exc:
            logger.exception("recording a gone model failed", extra={"model": str(model)})
            self.summary.failed[str(model)] = f"{type(exc).__name__}: {exc}"
            return
        self.summary.gone.append(str(model))
        self.on_log(f"{model}: gone ({reason})")

    def _fail(self, model: AIModel, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self.summary.failed[str(model)] = error
        self.on_log(f"{model}: failed: {error}")
        try:
            upstream.record_failure(
                actor=self.actor, model=model, error=error, retry_after_seconds=retry_later_seconds(exc)
            )
        except Exception:
            logger.exception("recording a failed refresh failed", extra={"model": str(model)})
