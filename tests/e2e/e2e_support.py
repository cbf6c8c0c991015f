"""What the browser tests share: where Chromium is, and a Streamlit server per configuration.

Nothing here downloads a browser: Playwright drives /usr/bin/chromium. Every test is
skipped with a reason when that binary or the playwright package is missing.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
HEALTH_TIMEOUT = 60.0
LOG_TAIL_LINES = 60

try:  # the tests skip (not error) without playwright
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def browser_skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright (Python package) is not installed: pip install playwright"
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)"
    return None


# Logs of every server and runs dir started in this session, shown when a test fails.
SERVERS: list["StreamlitServer"] = []


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StreamlitServer:
    """`streamlit run dashboard/app.py` on 127.0.0.1 with its own runs dir and log file."""

    def __init__(self, runs_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None):
        self.runs_dir = runs_dir
        self.log_path = log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "FASHION_MNIST_DIR")}
        env.update(TRAINSCOPE_RUNS_DIR=str(runs_dir), TF_CPP_MIN_LOG_LEVEL="3", **(extra_env or {}))
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false"],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )
        SERVERS.append(self)

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{_tail(self.log_path)}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().decode().strip() == "ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{_tail(self.log_path)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        SERVERS.remove(self)

    def stop_active_runs(self, timeout: float = 60.0) -> list[str]:
        """Ask every run still training to stop (through the run folder) and wait for it.

        A test that fails mid-run must not leave a worker eating the CPU of the next test.
        """
        from core.store import RunStore

        store = RunStore(self.runs_dir)
        active = [run_id for run_id in store.run_ids() if store.load_run(run_id).is_active]
        for run_id in active:
            store.request_stop(run_id)
        deadline = time.monotonic() + timeout
        while active and time.monotonic() < deadline:
            active = [run_id for run_id in active if store.load_run(run_id).is_active]
            time.sleep(0.5)
        return active

    def diagnostics(self) -> str:
        parts = [f"--- streamlit log ({self.log_path}), last {LOG_TAIL_LINES} lines ---", _tail(self.log_path)]
        for worker_log in sorted(self.runs_dir.glob("*/worker.log")):
            parts += [f"--- {worker_log} ---", _tail(worker_log, 20)]
        return "\n".join(parts)


def start_server(tmp_path_factory, name: str, extra_env: dict[str, str] | None = None):
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp(name)
    runs_dir = base / "runs"
    runs_dir.mkdir()
    server = StreamlitServer(runs_dir, base / "streamlit.log", extra_env)
    try:
        server.wait_healthy()
    except BaseException:
        server.stop()
        raise
    return server
