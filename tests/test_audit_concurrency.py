"""Two auditors deciding the same review at once: one wins, the other is refused, and the model's
audit status is the winner's. The first decision is held uncommitted while the second is made, so
the two provably overlap."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from core.access import principal_for_user, set_user_access
from core.conflicts import Conflict
from core.models import Role
from governance import services
from governance.models import AuditReview
from inventory.models import AIModel
from tests.inventory_helpers import ACTOR, model, publisher

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database that writes concurrently")


def auditor(name: str):
    user = get_user_model().objects.create_user(username=name)
    set_user_access(actor=ACTOR, user=user, role=Role.AUDITOR)
    return principal_for_user(user)


def test_two_auditors_deciding_at_once_one_wins_and_the_other_gets_a_conflict(transactional_db):
    target = model("lab/contested", publisher("lab", "FR"))
    requester = principal_for_user(get_user_model().objects.create_user(username="engineer"))
    review = services.request_review(principal=requester, model=target, kind="security")
    first, second = auditor("first"), auditor("second")
    services.take_review(principal=first, review=review)
    decided = threading.Event()
    times: dict[str, float] = {}
    outcome: dict[str, BaseException] = {}

    def approve() -> None:
        try:
            with transaction.atomic():
                services.decide_review(principal=first, review=review, decision="approved")
                decided.set()
                time.sleep(1.0)  # the second decision is made while this one is uncommitted
                times["first_committing"] = time.monotonic()
        finally:
            decided.set()
            connection.close()

    def reject() -> None:
        decided.wait(10)
        times["second_started"] = time.monotonic()
        try:
            services.decide_review(principal=second, review=review, decision="rejected", findings="unsafe")
        except BaseException as exc:
            outcome["second"] = exc
        finally:
            times["second_answered"] = time.monotonic()
            connection.close()

    threads = [threading.Thread(target=approve), threading.Thread(target=reject)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert isinstance(outcome.get("second"), Conflict), outcome
    assert "is approved" in str(outcome["second"])
    # They overlapped: the second began before the first committed, and was answered only after it.
    assert times["second_started"] < times["first_committing"] <= times["second_answered"]
    stored = AuditReview.objects.get(pk=review.pk)
    assert (stored.state, stored.reviewer_name) == ("approved", "first")
    assert AIModel.objects.get(pk=target.pk).audit_status == "approved"
