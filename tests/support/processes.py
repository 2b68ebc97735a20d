"""Real processes for the tests: the web server, the Celery worker, a private redis-server."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Service:
    """A process started for a test: its log (standard error) in one file, its standard output in another."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def json_lines(self) -> list[dict]:
        """Every log line, parsed; a line that is not JSON fails the test that reads it."""
        lines = [line for line in self.log_text().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]

    def process_ids(self) -> set[int]:
        """This process and its children (the worker's pool, gunicorn's workers)."""
        ids = {self.process.pid}
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            parent = next((line.split()[1] for line in text.splitlines() if line.startswith("PPid:")), "")
            if parent == str(self.process.pid):
                ids.add(int(status.parent.name))
        return ids

    def stop(self) -> None:
        """SIGTERM to the main process, which shuts its children down; SIGKILL to all if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Service:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log, (log_dir / f"{name}.out").open("wb") as output:
        process = subprocess.Popen(args, cwd=PROJECT_DIR, env=env, stdout=output, stderr=log, start_new_session=True)
    return Service(name=name, process=process, log_path=log_path)


def _await_ready(service: Service, ready: Callable[[], bool], what: str) -> None:
    """Wait for ``ready``; a service that never gets there is stopped, not left behind."""
    try:
        wait_until(ready, timeout=60, what=what)
    except BaseException:
        service.stop()
        raise


def _alive_or_fail(service: Service) -> None:
    if service.process.poll() is not None:
        raise AssertionError(f"{service.name} exited with {service.process.returncode}:\n{service.log_text()}")


def start_worker(*, env: dict[str, str], log_dir: Path, name: str = "worker") -> Service:
    """``celery -A registry worker --beat``, as the README runs it, ready to take work."""
    args = [str(BIN_DIR / "celery"), "-A", "registry", "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2"]
    worker = start(name, args, env=env, log_dir=log_dir)

    def ready() -> bool:
        _alive_or_fail(worker)
        return " ready." in worker.log_text()

    _await_ready(worker, ready, "the worker to start")
    return worker


def start_web(*, env: dict[str, str], log_dir: Path, name: str = "web") -> tuple[Service, str]:
    """gunicorn on a free port; returns the service and its base URL."""
    port = free_port()
    env = {**env, "WEB_BIND": f"127.0.0.1:{port}"}
    args = [str(BIN_DIR / "gunicorn"), "registry.wsgi", "--config", "gunicorn.conf.py"]
    web = start(name, args, env=env, log_dir=log_dir)
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        _alive_or_fail(web)
        try:
            return requests.get(f"{base_url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or its first answer is slow
            return False

    _await_ready(web, ready, "the web server to start")
    return web, base_url


class PrivateRedis:
    """A redis-server of the test's own on a free port, to stop and start without disturbing others."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.service: Service | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.service = start(f"redis-{self.port}", args, env=dict(os.environ), log_dir=self.log_dir)

        def answers() -> bool:
            _alive_or_fail(self.service)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    return connection.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(answers, timeout=20, what="redis-server to answer")

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None
