"""What the browser tests share: where Chromium is, and a Streamlit server per configuration.

Nothing here downloads a browser: Playwright drives /usr/bin/chromium. Every test is
skipped with a reason when that binary or the playwright package is missing.
"""
from __future__ import annotations

import json
import os
import re
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
    from playwright.sync_api import Error as PlaywrightError, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    PlaywrightError, expect, sync_playwright = Exception, None, None


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


# --- browser sessions ---------------------------------------------------------------------

def new_session(browser):
    """A fresh browser context (its own Streamlit session) at 1400x1000; returns its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    return context.new_page()


def close_session(page, failed: bool, name: str) -> None:
    """Close the page's context, after a screenshot (ARTIFACTS/<name>-failure.png) if the test failed."""
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
        except Exception as exc:  # a failed screenshot must not hide the real failure
            print(f"failure screenshot not taken: {exc}")
    page.context.close()


def stop_all_active_runs() -> None:
    """No test leaves a run training: stop every active run of every server started here."""
    for server in list(SERVERS):
        still_running = server.stop_active_runs()
        assert not still_running, f"runs still training 60 s after a stop request: {still_running}"


# --- driving the app in a page ------------------------------------------------------------

FIRST_RENDER_MS = 60_000
TRAINING_MS = 180_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
DRAWN_CHART = '[data-testid="stPlotlyChart"] .main-svg'
RUN_HEADING = re.compile(r"Run (\d{8}-\d{6}-[0-9a-f]{6})")
PROGRESS = re.compile(r"Epoch (\d+) of (\d+)")


def key_css(key: str) -> str:
    """The CSS class Streamlit gives a keyed element: `train.epochs` -> `.st-key-train-epochs`."""
    return ".st-key-" + re.sub(r"[^\w-]", "-", key)


def wait_idle(page, settle_ms: int = 400, timeout: int = 60_000) -> None:
    """Let a just-triggered rerun start, then wait until the script is not running."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(DRAWN_CHART, timeout=FIRST_RENDER_MS)  # the data preview
    wait_idle(page)


def slider_input(page, key: str):
    return page.locator(f"{key_css(key)} input[type=range]")


def slider_value(page, key: str) -> str:
    return slider_input(page, key).get_attribute("aria-valuetext")


def set_slider(page, key: str, target: str, start: str = "Home", max_steps: int = 300) -> None:
    """Move a slider with the keyboard (fill() never reaches the script): start key, then steps to target.

    Each press waits for the thumb to show its new value, and overshooting steps back, so a
    browser slowed by training in the background cannot skip past the target.
    """
    thumb = slider_input(page, key)
    thumb.focus()
    page.keyboard.press(start)
    for _ in range(max_steps):
        shown = thumb.get_attribute("aria-valuetext")
        if same_number(shown, target):
            break
        page.keyboard.press("ArrowRight" if as_number(shown) < as_number(target) else "ArrowLeft")
        _wait_for_change(thumb, shown)
    else:
        raise AssertionError(f"slider {key} never showed {target!r}; it shows {slider_value(page, key)!r}")
    wait_idle(page, settle_ms=800)
    assert same_number(slider_value(page, key), target), (
        f"slider {key} moved back to {slider_value(page, key)!r} after the rerun")


def _wait_for_change(thumb, shown: str | None, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while thumb.get_attribute("aria-valuetext") == shown and time.monotonic() < deadline:
        time.sleep(0.02)


def as_number(shown: str | None) -> float:
    return float((shown or "0").replace(",", ""))


def same_number(shown: str | None, wanted: str) -> bool:
    """'2,000' and '2000' are the same slider value."""
    return (shown or "").replace(",", "") == wanted.replace(",", "")


def set_toggle(page, key: str, on: bool) -> None:
    box = page.locator(f"{key_css(key)} input[type=checkbox]")
    if box.is_checked() != on:
        page.locator(f"{key_css(key)} label").click()
        wait_idle(page)
    expect(box).to_be_checked(checked=on)


def click_train(page) -> str:
    """Press Train; returns the new run's id from the 'Run <id>' subheader."""
    button = page.locator(key_css('train.start')).get_by_role("button")
    expect(button).to_be_enabled()
    button.click()
    heading = page.get_by_role("heading", name=RUN_HEADING)
    expect(heading).to_be_visible(timeout=30_000)
    return RUN_HEADING.search(heading.inner_text()).group(1)


def current_run_id(page) -> str:
    heading = page.get_by_role("heading", name=RUN_HEADING)
    expect(heading).to_be_visible()
    return RUN_HEADING.search(heading.inner_text()).group(1)


def wait_for_epochs(page, at_least: int, planned: int, timeout_s: float = 120) -> int:
    """Wait until the progress bar reads 'Epoch i of <planned>' with i >= at_least; returns i."""
    progress = page.get_by_test_id("stProgress")
    deadline = time.monotonic() + timeout_s
    seen = ""
    while time.monotonic() < deadline:
        if progress.count():
            try:
                seen = progress.first.inner_text(timeout=2_000)
            except PlaywrightError:  # the fragment redraws every second: read again
                pass
        match = PROGRESS.search(seen)
        if match:
            assert int(match.group(2)) == planned, f"progress says {seen!r}, expected 'of {planned}'"
            if int(match.group(1)) >= at_least:
                return int(match.group(1))
        page.wait_for_timeout(250)
    raise AssertionError(f"no 'Epoch >={at_least} of {planned}' within {timeout_s:.0f} s; last progress text {seen!r}")


def metric_value(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").filter(has_text=label))
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def wait_for_results(page, timeout: int = TRAINING_MS) -> None:
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy")).to_be_visible(timeout=timeout)
    wait_idle(page)


def assert_no_exception(page) -> None:
    errors = page.get_by_test_id("stException")
    if errors.count():
        raise AssertionError("the app shows an exception:\n" + "\n---\n".join(errors.all_inner_texts()))


def run_folder(server, run_id: str) -> Path:
    return server.runs_dir / run_id


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
