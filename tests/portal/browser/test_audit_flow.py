"""An audit in a real browser: one auditor asks for it and cannot take it (four eyes, shown before the
click and refused on the server), another takes and approves it."""

import re

import pytest
from playwright.sync_api import expect

from governance.models import AuditReview
from tests.inventory_helpers import model, publisher
from tests.portal.browser.conftest import csrf_headers

pytestmark = [pytest.mark.browser]


def test_request_an_audit_as_one_auditor_and_approve_it_as_another(open_page, make_person):
    target = model("deeplab/base-7b", publisher("DeepLab", "CN"))
    requester = open_page(make_person("ana", "auditor"))
    reviewer = open_page(make_person("bob", "auditor"))

    requester.goto(f"/models/{target.pk}/")
    requester.get_by_role("link", name="Request an audit").click()
    requester.get_by_label("Kind").select_option("security")
    requester.get_by_label("Note").fill("Check the weights' provenance before prod.")
    requester.get_by_role("button", name="Request the audit").click()

    expect(requester).to_have_url(re.compile(r"/audits/\d+/$"))
    review = AuditReview.objects.get(model=target)
    assert requester.url.endswith(f"/audits/{review.pk}/")
    expect(requester.get_by_role("status").first).to_contain_text("requested")
    expect(requester.locator("h1")).to_contain_text("requested")
    # Four eyes, before the click: the requester's take button is disabled, and says why.
    take = requester.get_by_role("button", name="Take this review")
    expect(take).to_be_disabled()
    expect(requester.locator("#four-eyes-reason")).to_contain_text("another auditor must take and decide it")
    open_page.snap(requester, "requester-refused")
    # ... and on the server: the same POST sent anyway is refused, and the review stays as it was.
    refused = requester.request.post(f"/audits/{review.pk}/take/", form={}, headers=csrf_headers(requester))
    assert refused.status == 403
    review.refresh_from_db()
    assert review.state == "requested"

    reviewer.goto("/audits/")
    reviewer.get_by_role("link", name=f"#{review.pk}", exact=True).click()
    expect(reviewer).to_have_url(re.compile(rf"/audits/{review.pk}/$"))
    reviewer.get_by_role("button", name="Take this review").click()
    expect(reviewer.locator("h1")).to_contain_text("in_review")
    reviewer.get_by_role("combobox", name="Decision").select_option("approved")
    reviewer.get_by_label("Findings").fill("Provenance checked.")
    reviewer.get_by_role("button", name="Record the decision").click()

    expect(reviewer.locator("h1")).to_contain_text("approved")
    expect(reviewer.locator("ul.messages")).to_contain_text("decided")
    review.refresh_from_db()
    assert review.state == "approved"
    assert review.reviewer_name == "bob"

    requester.reload()
    expect(requester.locator("h1")).to_contain_text("approved")
    expect(requester.get_by_role("button", name="Take this review")).to_have_count(0)
