"""``mpr gate``: ask the registry's deploy gate whether a model may ship, from a deploy pipeline.

Standard library only: a pipeline installs the project (which installs this package and nothing of
the Django apps) and runs ``mpr``, without the registry's settings, database or dependencies.
"""

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from cli.hashing import artifact_digests

GATE_PATH = "/api/v1/gate/"
DEFAULT_TIMEOUT_SECONDS = 30.0
USER_AGENT = "mpr-cli/0.1"

EXIT_ALLOW = 0
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_WARN = 10
EXIT_DENY = 20
EXIT_UNAVAILABLE = 30
EXIT_REFUSED = 40

DECISION_EXIT_CODES = {"allow": EXIT_ALLOW, "warn": EXIT_WARN, "deny": EXIT_DENY}

EXIT_CODES_HELP = f"""\
environment:
  MPR_URL      the registry's base URL, e.g. http://127.0.0.1:8000 (the gate is {GATE_PATH} under it)
  MPR_TOKEN    an API token of the registry (role deployer or above), sent as Authorization: Bearer
  MPR_TIMEOUT  seconds to wait for the registry (default {DEFAULT_TIMEOUT_SECONDS:g})

exit codes:
  {EXIT_ALLOW:<3} allow: the model may ship
  {EXIT_USAGE:<3} usage error: bad arguments, MPR_URL or MPR_TOKEN missing, MPR_TIMEOUT invalid, or the
      --artifacts folder missing, empty or unreadable
  {EXIT_WARN:<3} warn: the model may ship, with warnings (printed)
  {EXIT_DENY:<3} deny: the model must not ship (the reasons are printed)
  {EXIT_UNAVAILABLE:<3} no decision: the registry is unreachable, timed out, or answered 5xx, 408, 429,
      a redirect or something that is not a gate decision (with --fail-open: 0, after a warning)
  {EXIT_REFUSED:<3} the registry refused the request (4xx: a bad or missing token, a role that may not ask
      the gate, an invalid reference or field); its problem detail is printed
"""


class Unavailable(Exception):
    """The registry gave no decision: not reachable, too slow, a server error or an answer that is not one."""


class Refused(Exception):
    """The registry refused the request (4xx), with its problem details when it sent them."""

    def __init__(self, status: int, reason: str, problem: dict[str, Any] | None, body: bytes) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status, self.reason, self.problem, self.body = status, reason, problem, body


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: urllib would re-send the POST as a GET without its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mpr",
        description="Client of the Model Provenance Registry for deploy pipelines.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gate = commands.add_parser(
        "gate",
        help="ask the deploy gate whether a model may ship to an environment",
        description=(
            "Ask the registry's deploy gate whether MODEL may ship to ENV; print the decision, every\n"
            "reason and the decision id. With --artifacts, every file of the folder is hashed (sha256\n"
            "and git blob id) and the gate checks each against the files recorded for the revision."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gate.set_defaults(command_parser=gate)
    gate.add_argument("model", metavar="MODEL", help="model reference, e.g. huggingface:org/name@<revision>")
    gate.add_argument("--env", required=True, metavar="ENV", help="environment deployed to, e.g. prod")
    gate.add_argument("--system", metavar="NAME", help="system the model is deployed in (optional)")
    gate.add_argument(
        "--artifacts",
        type=Path,
        metavar="DIR",
        help="the model folder shipped: every file under it (.git excluded) is checked against the registry",
    )
    gate.add_argument("--json", action="store_true", help="print the registry's answer as it came, not a summary")
    failure = gate.add_mutually_exclusive_group()
    failure.add_argument(
        "--fail-open",
        dest="fail_open",
        action="store_true",
        help=f"when the registry gives no decision, warn and exit {EXIT_ALLOW} (let the deploy through unchecked)",
    )
    failure.add_argument(
        "--fail-closed",
        dest="fail_open",
        action="store_false",
        help=f"when the registry gives no decision, exit {EXIT_UNAVAILABLE} (the default)",
    )
    return parser


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)  # prints the usage and the message, exits EXIT_USAGE


def _settings(parser: argparse.ArgumentParser, environ: dict[str, str]) -> tuple[str, str, float]:
    missing = [name for name in ("MPR_URL", "MPR_TOKEN") if not environ.get(name, "").strip()]
    if missing:
        names = " and ".join(missing)
        _usage_error(parser, f"{names} {'is' if len(missing) == 1 else 'are'} not set: set {names} in the environment")
    url = environ["MPR_URL"].strip()
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        _usage_error(
            parser, f"MPR_URL must be the registry's http(s) base URL, e.g. http://127.0.0.1:8000, not {url!r}"
        )
    token = environ["MPR_TOKEN"].strip()
    if any(character.isspace() for character in token) or not token.isascii():
        _usage_error(parser, "MPR_TOKEN is not a token: it holds spaces or non-ASCII characters")
    raw_timeout = environ.get("MPR_TIMEOUT", "").strip() or str(DEFAULT_TIMEOUT_SECONDS)
    try:
        timeout = float(raw_timeout)
    except ValueError:
        timeout = 0.0
    if not 0 < timeout < float("inf"):
        _usage_error(parser, f"MPR_TIMEOUT must be a positive number of seconds, not {raw_timeout!r}")
    return url.rstrip("/") + GATE_PATH, token, timeout


def _hash_artifacts(parser: argparse.ArgumentParser, folder: Path, stderr: TextIO) -> list[dict[str, str]]:
    started = time.monotonic()
    try:
        artifacts = artifact_digests(folder)
        size = sum((folder / artifact["path"]).stat().st_size for artifact in artifacts)
    except OSError as error:
        _usage_error(parser, f"--artifacts {folder}: {error}")
    if not artifacts:
        _usage_error(parser, f"--artifacts {folder}: the folder holds no files")
    elapsed = time.monotonic() - started
    print(f"mpr: hashed {len(artifacts)} files ({size:,} bytes) under {folder} in {elapsed:.1f} s", file=stderr)
    return artifacts


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None
    return value if isinstance(value, dict) else None


def _is_decision(answer: dict[str, Any] | None) -> bool:
    return (
        answer is not None
        and answer.get("decision") in DECISION_EXIT_CODES
        and isinstance(answer.get("reasons"), list)
        and all(isinstance(reason, dict) for reason in answer["reasons"])
    )


def ask_gate(url: str, token: str, timeout: float, request_body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """POST the request to the gate; the decision and the body it came in. Raises Unavailable or Refused."""
    request = urllib.request.Request(
        url,
        data=json.dumps(request_body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            body = error.read()
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            error.close()
        if 300 <= status < 400:
            location = error.headers.get("Location", "nowhere")
            raise Unavailable(
                f"the registry answered HTTP {status}, a redirect to {location}: is MPR_URL right?"
            ) from None
        if 400 <= status < 500 and status not in {408, 429}:
            raise Refused(status, error.reason, _json_object(body), body) from None
        raise Unavailable(f"the registry answered HTTP {status} {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:  # URLError: refused, unknown host, TLS; timeout, reset
        reason = getattr(error, "reason", error)
        raise Unavailable(f"the registry at {url} could not be reached: {reason}") from None
    answer = _json_object(body)
    if status != 200 or not _is_decision(answer):
        raise Unavailable(f"the registry's answer (HTTP {status}) is not a gate decision: {body[:200]!r}")
    return answer, body


def _print_decision(answer: dict[str, Any], reference: str, environment: str, stdout: TextIO) -> None:
    decision = answer["decision"]
    model = answer.get("model") if isinstance(answer.get("model"), dict) else {}
    print(f"{decision.upper()}: {reference} in {environment} (decision {answer.get('decision_id')})", file=stdout)
    facts = []
    if answer.get("revision"):
        facts.append(f"revision: {answer['revision']}")
    if "effective_origin" in model:
        origin = model["effective_origin"]
        facts.append(f"effective origin: {', '.join(map(str, origin)) if isinstance(origin, list) else origin}")
    if "audit_status" in model:
        facts.append(f"audit status: {model['audit_status']}")
    if facts:
        print(f"  {'; '.join(facts)}", file=stdout)
    for reason in answer["reasons"]:
        waived = " (waived)" if reason.get("waived") else ""
        policy = reason.get("policy") or "gate"  # no policy: the gate's own (unknown model, a file, override)
        print(f"  [{reason.get('action', '?')}] {policy}: {reason.get('message', '')}{waived}", file=stdout)
    if not answer["reasons"]:
        print("  no reasons", file=stdout)
    links = answer.get("links") if isinstance(answer.get("links"), dict) else {}
    if links.get("decision"):
        print(f"  recorded: {links['decision']}", file=stdout)


def _print_refusal(refusal: Refused, stderr: TextIO) -> None:
    problem = refusal.problem
    if problem is None:
        text = refusal.body[:500].decode(errors="replace").strip()
        print(f"mpr: the registry refused the request: {refusal}{': ' + text if text else ''}", file=stderr)
        return
    print(f"mpr: the registry refused the request: {refusal}: {problem.get('detail', '')}", file=stderr)
    errors = problem.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            print(f"  {error.get('field', '?')}: {error.get('message', '')}", file=stderr)


def gate(args: argparse.Namespace, environ: dict[str, str]) -> int:
    """Run ``mpr gate``; the exit code."""
    stdout, stderr, parser = sys.stdout, sys.stderr, args.command_parser
    url, token, timeout = _settings(parser, environ)
    request_body: dict[str, Any] = {"model": args.model, "environment": args.env}
    if args.system is not None:
        request_body["system"] = args.system
    if args.artifacts is not None:
        request_body["artifacts"] = _hash_artifacts(parser, args.artifacts, stderr)
    try:
        answer, body = ask_gate(url, token, timeout, request_body)
    except Refused as refusal:
        if args.json and refusal.body:
            print(refusal.body.decode(errors="replace"), file=stdout)
        _print_refusal(refusal, stderr)
        return EXIT_REFUSED
    except Unavailable as error:
        if not args.fail_open:
            print(f"mpr: no decision: {error} (exit {EXIT_UNAVAILABLE}; --fail-open would let it through)", file=stderr)
            return EXIT_UNAVAILABLE
        banner = "!" * 78
        print(
            f"{banner}\nmpr: WARNING: NO GATE DECISION: {error}\n"
            f"mpr: WARNING: --fail-open: {args.model} goes to {args.env} UNCHECKED by the registry\n{banner}",
            file=stderr,
        )
        return EXIT_ALLOW
    if args.json:
        print(body.decode(errors="replace"), file=stdout)
    else:
        _print_decision(answer, args.model, args.env, stdout)
    return DECISION_EXIT_CODES[answer["decision"]]


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    """The ``mpr`` console script; the exit code (see EXIT_CODES_HELP)."""
    args = build_parser().parse_args(argv)
    environ = dict(os.environ) if environ is None else environ
    return gate(args, environ)  # the only command so far; the parser requires one


if __name__ == "__main__":
    sys.exit(main())
