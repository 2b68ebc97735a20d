"""The pipeline CLI (``mpr gate``, cli/): hashing a model folder, the request it sends, and its exit
codes, against a stand-in server for what only a broken registry answers and against the real
gunicorn (the ``web`` fixture) for the gate's own answers."""

import hashlib
import http.server
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cli import hashing
from cli.gate import EXIT_ALLOW, EXIT_DENY, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE, EXIT_WARN, main
from core.access import Principal
from core.changelog import Actor
from core.models import Role
from core.tokens import issue_token
from governance import policies, violations
from governance.models import GateDecision, Violation
from inventory.services import revisions
from inventory.sources.base import FileRecord
from tests.inventory_helpers import ACTOR, model, publisher
from tests.support.processes import PROJECT_DIR, free_port

_numbers = itertools.count()


def git_hash_object(path: Path) -> str:
    return subprocess.run(
        ["git", "hash-object", "--no-filters", "--", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# --- hashing a model folder ----------------------------------------------------------------------------


@pytest.fixture
def model_folder(tmp_path) -> Path:
    root = tmp_path / "model"
    write(root / "config.json", b'{"architectures": ["LlamaForCausalLM"]}\n')
    write(root / "empty.txt", b"")
    write(root / "model-00001-of-00002.safetensors", os.urandom(hashing.CHUNK_SIZE * 2 + 12345))
    write(root / "tokenizer" / "vocab é.json", "{'ü': 1}".encode())
    write(root / "nested" / "deeper" / "weights.gguf", os.urandom(4096))
    write(root / ".git" / "HEAD", b"ref: refs/heads/main\n")
    write(root / "nested" / ".git" / "config", b"[core]\n")
    write(root / ".cache" / "huggingface" / "download" / "config.json.metadata", b"abc\n")
    write(root / ".cache" / "kept.bin", b"not the hub's bookkeeping\n")
    return root


def test_a_folder_is_every_file_by_relative_posix_path_with_hashlibs_sha256_and_gits_blob_id(model_folder):
    artifacts = hashing.artifact_digests(model_folder)

    assert [artifact["path"] for artifact in artifacts] == [
        ".cache/kept.bin",
        "config.json",
        "empty.txt",
        "model-00001-of-00002.safetensors",
        "nested/deeper/weights.gguf",
        "tokenizer/vocab é.json",
    ]
    for artifact in artifacts:
        path = model_folder / artifact["path"]
        assert artifact["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), artifact["path"]
        assert artifact["blob_id"] == git_hash_object(path), artifact["path"]
    assert artifacts[2]["blob_id"] == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_a_file_is_read_in_chunks_across_their_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "CHUNK_SIZE", 7)
    content = bytes(range(256)) * 3 + b"tail"  # 772 bytes: 110 full chunks and a short one
    path = write(tmp_path / "weights.bin", content)
    reads = []
    real_open = Path.open

    def counting_open(self, *args, **kwargs):
        file = real_open(self, *args, **kwargs)
        real_read = file.read
        file.read = lambda size=-1: reads.append(size) or real_read(size)
        return file

    monkeypatch.setattr(Path, "open", counting_open)

    assert hashing.file_digests(path) == (hashlib.sha256(content).hexdigest(), git_hash_object(path))
    assert set(reads) == {7}  # never the whole file at once


def test_links_are_followed_and_a_folder_reached_twice_is_walked_once(tmp_path):
    blobs = tmp_path / "blobs"
    write(blobs / "abc", b"weights")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "model.safetensors").symlink_to(blobs / "abc")
    (snapshot / "loop").symlink_to(snapshot)

    artifacts = hashing.artifact_digests(snapshot)

    assert [(artifact["path"], artifact["sha256"]) for artifact in artifacts] == [
        ("model.safetensors", hashlib.sha256(b"weights").hexdigest())
    ]


def test_a_dangling_link_is_an_error_not_a_file_left_out(tmp_path):
    root = tmp_path / "model"
    write(root / "config.json", b"{}")
    (root / "weights.bin").symlink_to(tmp_path / "gone")

    with pytest.raises(OSError, match=r"weights\.bin is a link to nothing"):
        hashing.artifact_digests(root)


# --- a stand-in registry, for the request and the answers of a registry that is not well -----------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class StandIn:
    """An HTTP server that records each request and gives the answer it was told to."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.requests: list[dict] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                stand_in.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                answer = stand_in.answer
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer_json(self, body: dict, status: int = 200, content_type: str = "application/json") -> None:
        self.answer = Answer(status=status, body=json.dumps(body).encode(), content_type=content_type)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.server.shutdown()
    server.server.server_close()


def run_main(args: list[str], url: str, token: str = "s3cret-token", **environ: str) -> int:
    return main(args, environ={"MPR_URL": url, "MPR_TOKEN": token, **environ})


def decision(name: str, reasons: list[dict] | None = None) -> dict:
    return {
        "decision": name,
        "reasons": reasons or [],
        "model": {"id": 3, "effective_origin": ["CN", "US"], "audit_status": "approved"},
        "revision": "abc",
        "decision_id": 41,
        "links": {"decision": "http://registry/api/v1/gate-decisions/41/"},
    }


def test_the_request_carries_the_token_the_reference_the_environment_the_system_and_every_file(
    stand_in, model_folder, capsys
):
    stand_in.answer_json(decision("allow"))

    code = run_main(
        ["gate", "huggingface:org/m@abc", "--env", "prod", "--system", "bot", "--artifacts", str(model_folder)],
        url=stand_in.url + "/",  # a trailing slash is the same base URL
    )

    assert code == EXIT_ALLOW
    [request] = stand_in.requests
    assert request["path"] == "/api/v1/gate/"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {
        "model": "huggingface:org/m@abc",
        "environment": "prod",
        "system": "bot",
        "artifacts": hashing.artifact_digests(model_folder),
    }
    printed = capsys.readouterr()
    assert "s3cret-token" not in printed.out + printed.err


def test_without_system_or_artifacts_the_request_has_neither_and_a_base_path_is_kept(stand_in):
    stand_in.answer_json(decision("allow"))

    assert run_main(["gate", "huggingface:org/m", "--env", "dev"], url=stand_in.url + "/registry") == EXIT_ALLOW

    [request] = stand_in.requests
    assert request["path"] == "/registry/api/v1/gate/"
    assert json.loads(request["body"]) == {"model": "huggingface:org/m", "environment": "dev"}


@pytest.mark.parametrize(("name", "code"), [("allow", EXIT_ALLOW), ("warn", EXIT_WARN), ("deny", EXIT_DENY)])
def test_each_decision_is_printed_with_every_reason_and_its_own_exit_code(stand_in, capsys, name, code):
    reasons = [
        {"policy": "no-pickle-in-prod", "action": "fail", "message": "pickle-based files: model.bin", "waived": True},
        {"policy": None, "action": "fail", "message": "file x.bin differs", "waived": False},
        {"policy": "unaudited-warn", "action": "warn", "message": "audit status is unaudited", "waived": False},
    ]
    stand_in.answer_json(decision(name, reasons))

    assert run_main(["gate", "huggingface:org/m", "--env", "prod"], url=stand_in.url) == code

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{name.upper()}: huggingface:org/m in prod (decision 41)",
        "  revision: abc; effective origin: CN, US; audit status: approved",
        "  [fail] no-pickle-in-prod: pickle-based files: model.bin (waived)",
        "  [fail] gate: file x.bin differs",
        "  [warn] unaudited-warn: audit status is unaudited",
        "  recorded: http://registry/api/v1/gate-decisions/41/",
    ]


def test_json_prints_the_answer_as_it_came(stand_in, capsys):
    stand_in.answer_json(decision("warn"))

    assert run_main(["gate", "huggingface:org/m", "--env", "prod", "--json"], url=stand_in.url) == EXIT_WARN

    assert json.loads(capsys.readouterr().out) == decision("warn")


def test_a_refused_request_prints_the_problem_and_each_field_and_exits_40_even_failing_open(stand_in, capsys):
    problem = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "the request has invalid fields",
        "errors": [{"field": "artifacts.0.sha256", "message": "must be 64 hex digits"}],
    }
    stand_in.answer_json(problem, status=400, content_type="application/problem+json")

    assert run_main(["gate", "huggingface:org/m", "--env", "prod", "--fail-open"], url=stand_in.url) == EXIT_REFUSED

    err = capsys.readouterr().err
    assert "refused the request: HTTP 400 Bad Request: the request has invalid fields" in err
    assert "  artifacts.0.sha256: must be 64 hex digits" in err


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=500, body=b'{"detail": "boom"}'),
        Answer(status=503, body=b"<html>maintenance</html>", content_type="text/html"),
        Answer(status=429, body=b'{"detail": "slow down"}', headers={"Retry-After": "5"}),
        Answer(status=200, body=b"<html>a login page of a proxy</html>", content_type="text/html"),
        Answer(status=200, body=b'{"decision": "maybe", "reasons": []}'),
        Answer(status=200, body=b'["allow"]'),
        Answer(status=201, body=json.dumps(decision("allow")).encode()),
        Answer(status=302, headers={"Location": "https://sso.example.org/login"}),
    ],
    ids=["500", "503-html", "429", "html", "unknown-decision", "not-an-object", "201", "redirect"],
)
def test_an_answer_that_is_no_decision_exits_30_or_0_failing_open(stand_in, capsys, answer):
    stand_in.answer = answer
    args = ["gate", "huggingface:org/m", "--env", "prod"]

    assert run_main(args, url=stand_in.url) == EXIT_UNAVAILABLE
    assert run_main([*args, "--fail-closed"], url=stand_in.url) == EXIT_UNAVAILABLE
    assert "no decision" in capsys.readouterr().err
    assert run_main([*args, "--fail-open"], url=stand_in.url) == EXIT_ALLOW
    assert "WARNING: NO GATE DECISION" in capsys.readouterr().err
    assert len(stand_in.requests) == 3  # a redirect is not followed


def test_a_registry_slower_than_mpr_timeout_is_no_decision(stand_in, capsys):
    stand_in.answer = Answer(body=json.dumps(decision("allow")).encode(), delay=2)
    started = time.monotonic()

    code = run_main(["gate", "huggingface:org/m", "--env", "prod"], url=stand_in.url, MPR_TIMEOUT="0.3")

    assert code == EXIT_UNAVAILABLE
    assert time.monotonic() - started < 1.5
    assert "timed out" in capsys.readouterr().err


# --- usage errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "MPR_URL and MPR_TOKEN are not set"),
        ({"MPR_TOKEN": "t"}, "MPR_URL is not set"),
        ({"MPR_URL": "http://127.0.0.1:8000", "MPR_TOKEN": " "}, "MPR_TOKEN is not set"),
        ({"MPR_URL": "127.0.0.1:8000", "MPR_TOKEN": "t"}, "MPR_URL must be the registry's http(s) base URL"),
        ({"MPR_URL": "http://127.0.0.1:port", "MPR_TOKEN": "t"}, "MPR_URL must be the registry's http(s) base URL"),
        ({"MPR_URL": "http://h", "MPR_TOKEN": "t", "MPR_TIMEOUT": "0"}, "MPR_TIMEOUT must be a positive number"),
        ({"MPR_URL": "http://h", "MPR_TOKEN": "t", "MPR_TIMEOUT": "soon"}, "MPR_TIMEOUT must be a positive number"),
    ],
)
def test_missing_or_invalid_settings_are_a_usage_error_naming_the_variable(capsys, environ, message):
    with pytest.raises(SystemExit) as exit_:
        main(["gate", "huggingface:org/m", "--env", "prod"], environ=environ)

    assert exit_.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: mpr gate")
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate", "huggingface:org/m"], "the following arguments are required: --env"),
        (["gate", "huggingface:org/m", "--env", "prod", "--fail-open", "--fail-closed"], "not allowed with"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_are_argparses_usage_error(capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(args, environ={"MPR_URL": "http://127.0.0.1:1", "MPR_TOKEN": "t"})

    assert exit_.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_an_artifacts_folder_missing_or_empty_is_a_usage_error_before_any_request(stand_in, tmp_path, capsys, folder):
    (tmp_path / "empty" / ".git").mkdir(parents=True)  # a folder with nothing but .git holds no files

    with pytest.raises(SystemExit) as exit_:
        run_main(["gate", "huggingface:org/m", "--env", "prod", "--artifacts", str(tmp_path / folder)], stand_in.url)

    assert exit_.value.code == EXIT_USAGE
    assert "--artifacts" in capsys.readouterr().err
    assert stand_in.requests == []


# --- as a pipeline runs it: a process, with the standard library only --------------------------------------


def cli_environ(**extra: str) -> dict[str, str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("MPR_")}
    return {**environ, **extra}


def test_help_documents_every_exit_code():
    result = subprocess.run([sys.executable, "-m", "cli", "gate", "--help"], capture_output=True, text=True, check=True)

    for code, meaning in [(0, "allow"), (2, "usage error"), (10, "warn"), (20, "deny"), (30, "no decision")]:
        assert f"\n  {code:<3} {meaning}" in result.stdout
    assert "\n  40  the registry refused the request" in result.stdout
    docs = (PROJECT_DIR / "docs" / "cli.md").read_text()
    for code in (0, 2, 10, 20, 30, 40):
        assert f"| `{code}` |" in docs


def test_the_installed_console_script_runs_outside_the_project(tmp_path):
    mpr = shutil.which("mpr", path=str(Path(sys.executable).parent))
    assert mpr, "mpr is not installed in this venv: make installs it (pip install --no-deps -e .)"

    result = subprocess.run(
        [mpr, "gate", "huggingface:org/m", "--env", "prod"],
        cwd=tmp_path,
        env=cli_environ(MPR_URL=f"http://127.0.0.1:{free_port()}", MPR_TOKEN="t"),
        capture_output=True,
        text=True,
    )

    assert result.returncode == EXIT_UNAVAILABLE, result.stderr


@pytest.mark.parametrize(("fail_open", "code"), [([], EXIT_UNAVAILABLE), (["--fail-open"], EXIT_ALLOW)])
def test_an_unreachable_registry_with_only_the_standard_library_on_the_path(tmp_path, model_folder, fail_open, code):
    """The package alone, on a Python without site-packages (-S): Django, the project's apps and every
    other dependency are out of its reach, so importing any of them fails."""
    shutil.copytree(PROJECT_DIR / "cli", tmp_path / "alone" / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    closed_port = free_port()

    result = subprocess.run(
        [
            sys.executable,
            "-S",
            "-m",
            "cli",
            "gate",
            "huggingface:org/m",
            "--env",
            "prod",
            "--artifacts",
            model_folder,
            *fail_open,
        ],
        cwd=tmp_path / "alone",
        env=cli_environ(MPR_URL=f"http://127.0.0.1:{closed_port}", MPR_TOKEN="t"),
        capture_output=True,
        text=True,
    )

    assert result.returncode == code, result.stderr
    assert f"127.0.0.1:{closed_port}/api/v1/gate/ could not be reached" in result.stderr
    assert "hashed 6 files" in result.stderr
    if fail_open:
        assert "--fail-open: huggingface:org/m goes to prod UNCHECKED" in result.stderr


def test_the_package_imports_no_dependency_and_nothing_of_the_project():
    code = "import json, sys, cli.gate, cli.hashing; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, env=cli_environ()
    )
    imported = {name.split(".")[0] for name in json.loads(result.stdout)}

    project = {path.name for path in PROJECT_DIR.iterdir() if (path / "__init__.py").exists()} - {"cli"}
    assert {"inventory", "governance", "api", "core", "registry"} <= project
    assert imported & (project | {"django", "rest_framework", "requests", "celery"}) == set()


# --- against the real registry ---------------------------------------------------------------------------


def token(role: str = "deployer") -> str:
    return issue_token(actor=ACTOR, name=f"cli-{role}-{next(_numbers)}", role=role).secret


def run_mpr(base_url: str, secret: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "gate", *args],
        cwd=PROJECT_DIR,
        env=cli_environ(MPR_URL=base_url, MPR_TOKEN=secret, MPR_TIMEOUT="30"),
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- installed with the project ----------------------------------------------------------------------------


def test_the_project_installs_the_cli_only_and_the_image_and_the_makefile_install_it():
    import tomllib

    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"mpr": "cli.gate:main"}
    packages = project["tool"]["setuptools"]["packages"]
    assert packages == ["cli"]  # never the Django apps

    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    build_stage = dockerfile.split("\nFROM ")[1]  # the stage that builds /opt/venv
    assert "COPY pyproject.toml /tmp/project/pyproject.toml\n" in build_stage
    for package in packages:
        assert f"COPY {package} /tmp/project/{package}\n" in build_stage
    assert "/opt/venv/bin/pip install --no-deps /tmp/project" in build_stage

    makefile = (PROJECT_DIR / "Makefile").read_text()
    for target in ("$(BIN)/.runtime-installed:", "$(BIN)/.dev-installed:"):
        rule = makefile.split(target)[1].split("\n\n")[0]
        assert "pyproject.toml" in rule.splitlines()[0]
        assert "pip install --quiet --disable-pip-version-check --no-deps -e ." in rule


SHA = "a09a35458c702b33eeacc393d103063234e8bc28"


@pytest.fixture
def registry(web, transactional_db) -> str:
    _, base_url = web
    return base_url


@pytest.fixture
def recorded(tmp_path):
    """A model folder and a French model whose revision records its files as a hub does: the weights (in
    LFS) by sha256, the small files by git blob id only."""
    folder = tmp_path / "ship"
    write(folder / "config.json", b'{"model_type": "mistral"}\n')
    write(folder / "tokenizer" / "tokenizer.json", b'{"version": "1.0"}\n')
    write(folder / "model.safetensors", os.urandom(hashing.CHUNK_SIZE + 99))
    files = []
    for artifact in hashing.artifact_digests(folder):
        in_lfs = artifact["path"].endswith(".safetensors")
        files.append(
            FileRecord(
                path=artifact["path"],
                size=(folder / artifact["path"]).stat().st_size,
                sha256=artifact["sha256"] if in_lfs else "",
                blob_id="" if in_lfs else artifact["blob_id"],
            )
        )
    ai_model = model("fr-lab/ship-7b", publisher("fr-lab", "FR"))
    revisions.add_revision(actor=ACTOR, model=ai_model, revision=SHA, artifacts=files)
    return folder, ai_model


def enable(name: str, action: str, *conditions: dict, environments: list[str] | None = None):
    definition = {"name": name, "action": action, "enabled": True, "conditions": list(conditions)}
    return policies.create_policy(actor=ACTOR, definition={**definition, "environments": environments or []})


FRENCH = {"subject": "publisher_country", "operator": "in", "value": ["FR"]}


def test_live_allow_checks_every_file_and_exits_0_with_the_recorded_decision(registry, recorded):
    folder, _ = recorded
    enable("french-models-fail-in-staging", "fail", FRENCH, environments=["staging"])  # out of scope in prod
    reference = f"huggingface:fr-lab/ship-7b@{SHA}"

    result = run_mpr(registry, token(), reference, "--env", "prod", "--system", "ship", "--artifacts", str(folder))

    assert result.returncode == EXIT_ALLOW, result.stdout + result.stderr
    recorded_decision = GateDecision.objects.get()
    assert result.stdout.splitlines()[0] == f"ALLOW: {reference} in prod (decision {recorded_decision.pk})"
    assert (recorded_decision.decision, recorded_decision.system) == ("allow", "ship")
    assert sorted(item["path"] for item in recorded_decision.artifacts) == [
        "config.json",
        "model.safetensors",
        "tokenizer/tokenizer.json",
    ]
    assert all(not item["problem"] for item in recorded_decision.artifacts)


def test_live_warn_exits_10_and_prints_the_policy(registry, recorded):
    enable("french-models-warn", "warn", FRENCH)

    result = run_mpr(registry, token(), "huggingface:fr-lab/ship-7b", "--env", "prod")

    assert result.returncode == EXIT_WARN, result.stdout + result.stderr
    assert result.stdout.startswith("WARN: huggingface:fr-lab/ship-7b in prod (decision ")
    assert "  [warn] french-models-warn: " in result.stdout


def test_live_deny_for_a_policy_exits_20_and_a_waived_one_is_marked(registry, recorded):
    _, ai_model = recorded
    enable("french-models-fail", "fail", FRENCH)
    waived = enable("french-models-fail-too", "fail", FRENCH)
    violations.evaluate(model_ids=[ai_model.pk])
    violations.waive(
        principal=Principal(actor=Actor.system("auditor"), role=Role.AUDITOR),
        violation=Violation.objects.get(policy=waived, model=ai_model),
        reason="accepted",
        until=timezone.now() + timedelta(days=1),
    )

    result = run_mpr(registry, token(), "huggingface:fr-lab/ship-7b", "--env", "prod")

    assert result.returncode == EXIT_DENY, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("DENY: huggingface:fr-lab/ship-7b in prod (decision ")
    [denying] = [line for line in lines if line.startswith("  [fail] french-models-fail: ")]
    assert not denying.endswith("(waived)")
    [accepted] = [line for line in lines if line.startswith("  [fail] french-models-fail-too: ")]
    assert accepted.endswith(" (waived)")


def test_live_deny_for_a_file_that_differs_or_is_unknown_names_it(registry, recorded):
    folder, _ = recorded
    write(folder / "config.json", b'{"model_type": "mistral", "tampered": true}\n')
    write(folder / "extra.bin", b"not recorded")

    result = run_mpr(
        registry, token(), f"huggingface:fr-lab/ship-7b@{SHA}", "--env", "prod", "--artifacts", str(folder)
    )

    assert result.returncode == EXIT_DENY, result.stdout + result.stderr
    assert "  [fail] gate: file config.json differs: its git blob id is not the recorded one\n" in result.stdout
    assert "  [fail] gate: file extra.bin is not among the recorded files of this revision\n" in result.stdout
    assert "model.safetensors" not in result.stdout


def test_live_a_model_not_in_the_inventory_is_a_deny_not_a_refusal(registry):
    result = run_mpr(registry, token(), "huggingface:nobody/unknown-model", "--env", "prod", "--json")

    assert result.returncode == EXIT_DENY, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["decision"] == "deny"
    assert isinstance(answer["decision_id"], int)


@pytest.mark.parametrize(
    ("secret", "args", "status"),
    [
        ("not-a-token-of-this-registry", ["huggingface:org/m"], "401"),
        ("viewer", ["huggingface:org/m"], "403"),
        ("deployer", ["not a reference"], "400"),
    ],
    ids=["wrong-token", "viewer-token", "bad-reference"],
)
def test_live_a_refused_request_exits_40_with_the_problem_even_failing_open(registry, secret, args, status):
    if secret in {"viewer", "deployer"}:
        secret = token(secret)

    result = run_mpr(registry, secret, *args, "--env", "prod", "--fail-open")

    assert result.returncode == EXIT_REFUSED, result.stdout + result.stderr
    assert f"the registry refused the request: HTTP {status}" in result.stderr
    if status == "400":
        assert "\n  model: unknown source 'not a reference'" in result.stderr
