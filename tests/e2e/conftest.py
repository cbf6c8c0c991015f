"""Fixtures for the real-browser tests: the app server, Debian's Chromium, one page per test."""
from __future__ import annotations

import pytest

from e2e_support import (
    CHROMIUM, CHROMIUM_ARGS, SERVERS, browser_skip_reason, close_session, new_session, start_server, stop_all_active_runs,
    sync_playwright,
)


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
    page = new_session(browser)
    yield page
    report = getattr(request.node, "rep_call", None)
    close_session(page, failed=report is not None and report.failed, name=request.node.name)
    stop_all_active_runs()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when in ("setup", "call"):
        for server in list(SERVERS):
            report.sections.append((f"server on port {server.port}", server.diagnostics()))
