"""The worked sessions in docs/ run as written and print what they show, as README.md's
do (tests/test_readme.py's harness: the python blocks of a page run in order in one
fresh interpreter, and a plain block right after one is the output it must print)."""

from pathlib import Path

import pytest

from test_readme import fenced_blocks, normalised, python_cells, run_python

DOCS = Path(__file__).resolve().parents[1] / "docs"
SESSIONS = ["inference.md", "profile.md", "checks.md", "links_offsets.md"]


@pytest.mark.parametrize("page", SESSIONS)
def test_worked_session_runs_and_prints_what_is_shown(page, tmp_path):
    cells = python_cells(fenced_blocks((DOCS / page).read_text(encoding="utf-8")))
    assert cells, f"docs/{page} has no python blocks"
    printed, stderr = run_python(cells, tmp_path)
    assert len(printed) == len(cells)
    assert "Warning" not in stderr, f"docs/{page}'s code warns:\n{stderr}"
    for (block, shown), lines in zip(cells, printed, strict=True):
        if shown is not None:
            assert normalised(lines) == normalised(shown.lines), (
                f"docs/{page}:{shown.first}: the block shows other output than the python "
                f"block of line {block.first} prints:\n" + "\n".join(lines))
