"""The worked sessions in docs/ run as written and print what they show, as README.md's
do (tests/test_readme.py's harness: the python blocks of a page run in order in one
fresh interpreter, and a plain block right after one is the output it must print)."""

from pathlib import Path

import pytest

from test_readme import check_python_session, fenced_blocks

DOCS = Path(__file__).resolve().parents[1] / "docs"
SESSIONS = ["inference.md", "profile.md", "checks.md", "links_offsets.md"]


@pytest.mark.parametrize("page", SESSIONS)
def test_worked_session_runs_and_prints_what_is_shown(page, tmp_path):
    text = (DOCS / page).read_text(encoding="utf-8")
    check_python_session(fenced_blocks(text), f"docs/{page}", tmp_path)
