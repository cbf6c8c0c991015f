"""User-supplied text (run errors, file names, URL values) must never reach the page as raw HTML."""
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def test_no_view_renders_raw_html():
    offenders = [
        f"{path.relative_to(DASHBOARD)}: {marker}"
        for path in DASHBOARD.rglob("*.py")
        for marker in ("unsafe_allow_html", "st.html(", "components.html", "components.v1")
        if marker in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
