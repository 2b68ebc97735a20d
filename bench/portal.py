"""``python -m bench.portal``: the portal's inventory page (``GET /models/``, 50 rows rendered as
HTML) against the API's model list for the same page and filter (``GET /api/v1/models/?limit=50``),
under gunicorn on PostgreSQL with N models from the write benchmark's generator (``bench.writes``:
its shape, through ``register_many``).

Three kinds of request, each ours and the API's alternating, one at a time, for a random page (a
fixed seed): the whole inventory, the models of one effective-origin country (``origin=CN``), and a
text search with a sort (``q=bench-1&ordering=-created_at``). The portal is asked by a signed-in
viewer (a session), the API by a viewer's token; nothing is cached. The ratio is ours / the API's
median latency. It uses a database of its own (``--database-url``, dropped and created afresh,
dropped again at the end).
"""

import argparse
import json
import os
import random
import re
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench.api import compare
from bench.common import free_port, recreate_database, setup_django, start_web, token_session
from bench.writes import bulk_shape, register_in_bulk

PAGE = 50  # the portal's page, asked of the API as ?limit=
FILTERS = {"all": {}, "origin": {"origin": "CN"}, "search": {"q": "bench-1", "ordering": "-created_at"}}
PASSWORD = "bench-portal-password"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="per kind of request, ours and the API's each")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/registry_bench_portal")
    parser.add_argument("--goal", type=float, default=2.0, help="the largest acceptable ratio (ours / the API's)")
    parser.add_argument("--seed", type=int, default=1313)
    return parser.parse_args(argv)


def portal_session(base_url: str, username: str) -> requests.Session:
    """A person signed in through the portal's form."""
    session = requests.Session()
    form = session.get(f"{base_url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    session.post(form.url, data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}, timeout=30)
    if "sessionid" not in session.cookies:
        raise SystemExit("the benchmark's viewer could not sign in to the portal")
    return session


def pairs(filters: dict[str, str], pages: list[int]) -> list[tuple[str, str]]:
    """The portal's path and the API's for each page of the filtered list."""
    return [
        (f"/models/?{urlencode({**filters, 'page': page})}",
         f"/api/v1/models/?{urlencode({**filters, 'limit': PAGE, 'offset': (page - 1) * PAGE})}")
        for page in pages
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = parse_args(argv)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": options.database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "WEB_BIND": f"127.0.0.1:{port}",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing refreshes; nothing leaves the machine
        "API_RATE_LIMIT": "100000000/min",  # the budget is not what is measured
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    }
    web = None
    try:
        setup_django(env, options.database_url)
        from django.contrib.auth import get_user_model

        from core.access import set_user_access
        from core.changelog import Actor
        from core.tokens import issue_token
        from inventory.models import AIModel
        from inventory.selectors import with_origin

        register_in_bulk(bulk_shape(options.models))
        viewer = get_user_model().objects.create_user(username="bench-viewer", password=PASSWORD)
        set_user_access(actor=Actor.system("bench"), user=viewer, role="viewer")
        secret = issue_token(actor=Actor.system("bench"), name="bench-portal", role="viewer").secret
        sizes = {
            "all": AIModel.objects.count(),
            "origin": with_origin(AIModel.objects.all(), "CN").count(),
            "search": AIModel.objects.filter(upstream_id__icontains="bench-1").count(),
        }
        web = start_web(env, log_dir / "bench-portal-web.log", base_url)
        portal, api = portal_session(base_url, "bench-viewer"), token_session(secret)
        pick = random.Random(options.seed)
        results: dict[str, object] = {"models": options.models, "page": PAGE}
        for name, filters in FILTERS.items():
            last_page = max(1, -(-sizes[name] // PAGE))
            pages = [pick.randint(1, last_page) for _ in range(options.requests)]
            compare(portal, base_url, pairs(filters, pages[:1]) * 4, baseline_session=api)  # warm both up
            results[name] = {"matching": sizes[name], **compare(portal, base_url, pairs(filters, pages), api)}
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        recreate_database(options.database_url, create=False)
    results["goal_ratio"] = options.goal
    results["meets_goal"] = all(results[name]["ratio"] <= options.goal for name in FILTERS)  # type: ignore[index]
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
