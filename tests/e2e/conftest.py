"""Fixtures for the real-browser tests: the app server, Debian's Chromium, one page per test."""
from __future__ import annotations

import pytest

from e2e_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, SERVERS, browser_skip_reason, start_server, sync_playwright


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app on the offline datasets (no MNIST_DIR), one server for the session."""
    server = start_server(tmp_path_factory, "app")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser session (own Streamlit session) at 1400x1000; a screenshot if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failure.png"), full_page=True)
        except Exception as exc:  # a failed screenshot must not hide the real failure
            print(f"failure screenshot not taken: {exc}")
    context.close()
    for server in list(SERVERS):
        still_running = server.stop_active_runs()
        assert not still_running, f"runs still training 60 s after a stop request: {still_running}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when in ("setup", "call"):
        for server in list(SERVERS):
            report.sections.append((f"server on port {server.port}", server.diagnostics()))
