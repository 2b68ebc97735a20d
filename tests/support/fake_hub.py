"""A fake Hugging Face Hub on 127.0.0.1: the model-info API in the hub's real JSON shape.

It answers ``GET /api/models/<namespace>/<name>`` as huggingface.co does (shape taken from real
responses: ``_id``, ``id``, ``sha``, ``cardData``, ``siblings`` with ``lfs`` when ``blobs=True``,
``securityRepoStatus`` when ``securityStatus=True``, ...), 404 with ``X-Error-Code: RepoNotFound``
for an unknown repository, and a 307 to the new name for a moved one. Tests script failures per
model (429 with Retry-After, 5xx, slow answers, malformed JSON), and the hub counts requests and
the peak number in flight. Run it in a thread (``FakeHub().start()``) or as its own process
(``python -m tests.support.fake_hub --port N --delay 0.1 --models 1000``) for the benchmark.
"""

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API_PREFIX = "/api/models/"


def commit_sha(upstream_id: str, version: int = 1) -> str:
    """A stable 40-hex commit sha for a model version."""
    return hashlib.sha1(f"{upstream_id}@{version}".encode()).hexdigest()


def model_json(
    upstream_id: str,
    *,
    version: int = 1,
    license: str | None = "apache-2.0",
    license_name: str | None = None,
    license_link: str | None = None,
    bases: list[tuple[str, str | None]] = (),
    card_base_model: str | list[str] | None = None,
    base_model_relation: str | None = None,
    gated: bool | str = False,
    files: list[str] = ("config.json", "model.safetensors"),
    scans_done: bool | None = True,
    files_with_issues: list[dict[str, str]] = (),
    parameters: int | None = 7_000_000_000,
    datasets: list[str] | None = None,
    language: list[str] | None = None,
    model_index: list[dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A model-info answer as the hub sends it with ``blobs=True&securityStatus=True``.

    ``bases`` are (id, relation) pairs the hub turns into ``base_model:`` tags, as it does from a
    card's ``base_model`` (relation None: only the untyped tag); they also fill ``cardData`` unless
    ``card_base_model`` says otherwise. ``model_index`` goes into ``cardData`` and, as the hub
    repeats it, the top-level ``model-index``; ``config`` replaces the default (a Qwen2 config;
    ``{}`` for a repository without one: the hub then sends no ``config``).
    """
    namespace = upstream_id.split("/")[0]
    tags = ["transformers", "safetensors", "qwen2", "text-generation", "conversational"]
    for base_id, relation in bases:
        tags.append(f"base_model:{base_id}")
        if relation:
            tags.append(f"base_model:{relation}:{base_id}")
    if license:
        tags.append(f"license:{license}")
    tags += ["autotrain_compatible", "text-generation-inference", "endpoints_compatible", "region:us"]
    card: dict[str, Any] = {"library_name": "transformers"}
    config = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"} if config is None else config
    if license is not None:
        card["license"] = license
    if license_name is not None:
        card["license_name"] = license_name
    if license_link is not None:
        card["license_link"] = license_link
    named_bases = card_base_model if card_base_model is not None else [base_id for base_id, _ in bases]
    if named_bases:
        card["base_model"] = named_bases[0] if isinstance(named_bases, list) and len(named_bases) == 1 else named_bases
    if base_model_relation:
        card["base_model_relation"] = base_model_relation
    if datasets:
        card["datasets"] = datasets
    if language:
        card["language"] = language
    if model_index:
        card["model-index"] = model_index
    body: dict[str, Any] = {
        "_id": hashlib.md5(upstream_id.encode()).hexdigest()[:24],
        "id": upstream_id,
        "private": False,
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "tags": tags,
        "downloads": 2970903,
        "likes": 1445,
        "modelId": upstream_id,
        "author": namespace,
        "sha": commit_sha(upstream_id, version),
        "lastModified": "2025-02-24T03:31:29.000Z",
        "gated": gated,
        "disabled": False,
        "widgetData": [{"text": "Hi, what can you help me with?"}],
        "model-index": model_index,
        "cardData": card,
        "transformersInfo": {
            "auto_model": "AutoModelForCausalLM",
            "pipeline_tag": "text-generation",
            "processor": "AutoTokenizer",
        },
        "siblings": [_sibling(upstream_id, version, path) for path in files],
        "spaces": [],
        "createdAt": "2025-01-20T09:19:00.000Z",
        "usedStorage": 65527841532,
    }
    if config:
        body["config"] = config
    if parameters is not None:
        body["safetensors"] = {"parameters": {"BF16": parameters}, "total": parameters}
    if scans_done is not None:
        body["securityRepoStatus"] = {"scansDone": scans_done, "filesWithIssues": list(files_with_issues)}
    return body


SMALL_FILES = (".json", ".md", ".txt", ".gitattributes")  # kept in git; every other file in Git LFS
LFS_SIZE = 4_000_000_000


def small_file_content(upstream_id: str, version: int, path: str) -> bytes:
    """The content the hub has for a small (non-LFS) file of a model version: its ``size`` and its
    ``blobId`` (the git blob id, as ``git hash-object`` gives) are those of these bytes, so a test
    can write the file and hash it as a pipeline would."""
    return json.dumps({"model": upstream_id, "version": version, "file": path}, indent=2).encode() + b"\n"


def lfs_sha256(upstream_id: str, version: int, path: str) -> str:
    """The sha256 the hub gives for an LFS file of a model version (of no content a test holds)."""
    return hashlib.sha256(f"{upstream_id}@{version}/{path}".encode()).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The pointer file git keeps for an LFS file: the hub's ``blobId`` of an LFS file is its blob id."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def git_blob_id(content: bytes) -> str:
    """sha1 of ``blob <size>\\0<content>``: the id git gives a file's content (written out here so the
    fake does not lean on the registry's own code)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _sibling(upstream_id: str, version: int, path: str) -> dict[str, Any]:
    if path.endswith(SMALL_FILES):
        content = small_file_content(upstream_id, version, path)
        return {"rfilename": path, "blobId": git_blob_id(content), "size": len(content)}
    digest = lfs_sha256(upstream_id, version, path)
    pointer = lfs_pointer(digest, LFS_SIZE)
    return {
        "rfilename": path,
        "blobId": git_blob_id(pointer),
        "size": LFS_SIZE,
        "lfs": {"sha256": digest, "size": LFS_SIZE, "pointerSize": len(pointer)},
    }


@dataclass
class Reply:
    """A scripted answer: status, headers, raw body (None: the model's JSON), and a delay first."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0


class FakeHub:
    """The hub's state: models by id, moves, scripted replies, holds, and the request counters."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.models: dict[str, dict[str, Any]] = {}
            self.moved: dict[str, str] = {}
            self.scripts: dict[str, list[Reply]] = {}
            self.holds: dict[str, threading.Event] = {}
            self.in_flight = 0
        self.reset_counters()

    # --- what the tests set up ---
    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        self.models[body["id"].lower()] = body
        return body

    def move(self, old_id: str, new_id: str) -> None:
        self.moved[old_id.lower()] = new_id

    def script(self, upstream_id: str, *replies: Reply) -> None:
        """Answer the next requests for ``upstream_id`` with ``replies``, then normally."""
        self.scripts.setdefault(upstream_id.lower(), []).extend(replies)

    def hold(self, upstream_id: str) -> threading.Event:
        """Keep requests for ``upstream_id`` waiting until the returned event is set."""
        event = threading.Event()
        self.holds[upstream_id.lower()] = event
        return event

    def requests_for(self, upstream_id: str) -> int:
        return sum(1 for requested in self.requests if requested.lower() == upstream_id.lower())

    # --- serving ---
    @property
    def url(self) -> str:
        assert self._server is not None, "start the hub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> "FakeHub":
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str, *, query: str = "", authorization: str = "") -> Reply:
        """The reply for one request (called by the server, one thread per request)."""
        upstream_id = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else ""
        key = upstream_id.lower()
        with self._lock:
            self.requests.append(upstream_id)
            self.query_of.append(query)
            self.authorization_of.append(authorization)
            self.request_times.append(time.monotonic())
            scripted = self.scripts.get(key)
            reply = scripted.pop(0) if scripted else None
            hold = self.holds.get(key)
        if hold is not None:
            hold.wait(timeout=60)
        if reply is not None:
            return reply
        if key in self.moved:
            return Reply(status=307, headers={"Location": f"{API_PREFIX}{self.moved[key]}"}, body=b"")
        body = self.models.get(key)
        if body is None:
            return Reply(
                status=404,
                headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
                body=json.dumps({"error": "Repository not found"}).encode(),
            )
        return Reply(body=json.dumps(body).encode())

    def reset_counters(self) -> None:
        """Forget the requests seen so far (the models and scripts stay)."""
        with self._lock:
            self.requests: list[str] = []
            self.query_of: list[str] = []
            self.authorization_of: list[str] = []
            self.request_times: list[float] = []
            self.peak_in_flight = self.in_flight

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": len(self.requests),
                "distinct_models": len({requested.lower() for requested in self.requests}),
                "peak_in_flight": self.peak_in_flight,
            }

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a real hub does not refuse connections when 32 arrive at once
    daemon_threads = True


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real hub

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = url.path
            if path == "/_stats":  # the benchmark's window into the hub; not counted
                self._send(Reply(body=json.dumps(hub.stats()).encode()))
                return
            if path == "/_reset_counters":
                hub.reset_counters()
                self._send(Reply(body=b"{}"))
                return
            hub._enter()
            try:
                if hub.delay:
                    time.sleep(hub.delay)
                reply = hub.answer(path, query=url.query, authorization=self.headers.get("Authorization", ""))
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)
            finally:
                hub._leave()

        def _send(self, reply: Reply) -> None:
            body = reply.body if reply.body is not None else b""
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def main() -> None:
    """Serve ``--models`` generated models (``bench/model-N``) until killed; counters on
    ``GET /_stats``, zeroed by ``GET /_reset_counters``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--models", type=int, default=1000)
    options = parser.parse_args()
    hub = FakeHub(delay=options.delay)
    for number in range(options.models):
        hub.add(model_json(f"bench/model-{number}"))
    hub.start(options.port)
    threading.Event().wait()


if __name__ == "__main__":
    main()
