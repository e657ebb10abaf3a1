"""README.md runs as written, so it cannot drift from the code.

* Every ```python block runs, in order, in ONE fresh interpreter (cwd: an empty folder);
  where a plain ``` block follows one, it shows what that block prints.
* Every ``$ logitkit ...`` line of the ```console blocks runs, in order, in one empty
  folder, and exits 0; the lines after it, if any, are what it prints (stdout, or stderr
  then stdout).  Other ``$`` commands, pipes and redirections are refused: the README's
  console lines must run as typed, without a shell.

Trailing whitespace and trailing blank lines are ignored.  After a change to what the
code prints, ``python tests/test_readme.py --update`` rewrites the shown outputs in place.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import logitkit

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
SHELL = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}
MARK = "\x1ereadme-cell {}\x1e"
RUNNER = f"""
import json, sys
namespace = {{"__name__": "__main__"}}
for index, (line, code) in enumerate(json.load(sys.stdin)):
    print({MARK!r}.format(index), flush=True)
    exec(compile("\\n" * line + code, "README.md", "exec"), namespace)
    sys.stdout.flush()
"""
CLI = "import sys; from logitkit.cli import main; sys.exit(main(prog_name='logitkit'))"


@dataclass
class Block:
    lang: str
    first: int  # index of the first line inside the fence
    lines: list[str]


@dataclass
class Command:
    line: int  # index of the `$` line
    argv: list[str]
    shown: list[str] = field(default_factory=list)
    shown_at: int = 0  # index of the first shown line


def fenced_blocks(text: str) -> list[Block]:
    """The fenced blocks of ``text``, in order."""
    blocks, current = [], None
    for i, line in enumerate(text.splitlines()):
        match = FENCE.match(line)
        if current is None and match:
            current = Block(match.group(1).lower(), i + 1, [])
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.lines.append(line)
    assert current is None, f"README.md: the block opened on line {current.first} never closes"
    return blocks


def python_cells(blocks: list[Block]) -> list[tuple[Block, Block | None]]:
    """(python block, the plain block showing its output or None), in order."""
    cells = []
    for k, block in enumerate(blocks):
        if block.lang == "python":
            after = blocks[k + 1] if k + 1 < len(blocks) else None
            adjacent = after is not None and after.lang == "" and (
                after.first == block.first + len(block.lines) + 2)
            cells.append((block, after if adjacent else None))
    return cells


def console_commands(blocks: list[Block]) -> list[Command]:
    """The ``$`` lines of the console blocks with the lines shown after each."""
    commands = []
    for block in (b for b in blocks if b.lang == "console"):
        for offset, line in enumerate(block.lines):
            where = block.first + offset
            if line.startswith("$ "):
                argv = shlex.split(line[2:], comments=True)
                assert argv[:1] == ["logitkit"], (
                    f"README.md:{where + 1}: {line!r} is not a logitkit command; the console "
                    "blocks hold only commands that run in an empty folder")
                assert not SHELL & set(argv), (
                    f"README.md:{where + 1}: {line!r} needs a shell (pipe or redirection)")
                commands.append(Command(where, argv, shown_at=where + 1))
            else:
                assert commands and commands[-1].line >= block.first, (
                    f"README.md:{where + 1}: output before any `$` command")
                commands[-1].shown.append(line)
    return commands


def normalised(lines) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _env() -> dict:
    """The environment of the subprocesses: this logitkit first on the path, no colours."""
    source = str(Path(logitkit.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": source + (os.pathsep + path if path else ""),
            "NO_COLOR": "1", "COLUMNS": "80"}


def run_python(cells, cwd: Path) -> tuple[list[list[str]], str]:
    """Run the cells in one fresh interpreter; (the lines each printed, stderr)."""
    payload = json.dumps([[block.first, "\n".join(block.lines)] for block, _ in cells])
    done = subprocess.run([sys.executable, "-c", RUNNER], input=payload, cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, f"a README python block failed:\n{done.stderr}"
    printed = re.split(MARK.format(r"\d+") + "\n", done.stdout)
    return [part.splitlines() for part in printed[1:]], done.stderr


def run_console(command: Command, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *command.argv[1:]], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=_env())


def _blocks() -> list[Block]:
    return fenced_blocks(README.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- tests


def check_python_session(blocks: list[Block], page: str, cwd: Path) -> None:
    """The python blocks of ``page`` run in order in one interpreter without warnings,
    each printing what the plain block right after it shows."""
    cells = python_cells(blocks)
    assert cells, f"{page} has no python blocks"
    printed, stderr = run_python(cells, cwd)
    assert len(printed) == len(cells)
    assert "Warning" not in stderr, f"{page}'s code warns:\n{stderr}"
    for (block, shown), lines in zip(cells, printed, strict=True):
        if shown is not None:
            assert normalised(lines) == normalised(shown.lines), (
                f"{page}:{shown.first}: the block shows other output than the python "
                f"block of line {block.first} prints:\n" + "\n".join(lines))


def test_python_blocks_run_in_order_and_print_what_is_shown(tmp_path):
    check_python_session(_blocks(), "README.md", tmp_path)


def test_console_commands_run_in_an_empty_folder(tmp_path):
    commands = console_commands(_blocks())
    assert commands, "README.md has no `$ logitkit` lines"
    for command in commands:
        done = run_console(command, tmp_path)
        where = f"README.md:{command.line + 1}: {shlex.join(command.argv)}"
        assert done.returncode == 0, f"{where} exits {done.returncode}:\n{done.stderr}"
        if normalised(command.shown):
            out, err = done.stdout.splitlines(), done.stderr.splitlines()
            assert normalised(command.shown) in (normalised(out), normalised(err + out)), (
                f"{where} prints other lines than shown:\n{done.stderr}{done.stdout}")


# ------------------------------------------------------------------ the parser itself

SAMPLE = """\
Text.

```python
print("a")
```
```
a
```

```python
x = 1
```

```
not an output: a paragraph stands between
```

```console
$ logitkit datasets spector --output s.csv   # a comment
$ logitkit evaluate m.lkm "my file.csv"
rows:      32
```
"""


def test_parser_pairs_outputs_and_reads_commands():
    blocks = fenced_blocks(SAMPLE)
    assert [b.lang for b in blocks] == ["python", "", "python", "", "console"]
    cells = python_cells(blocks)
    assert [(b.lines, o and o.lines) for b, o in cells] == [
        (['print("a")'], ["a"]), (["x = 1"], None)]
    commands = console_commands(blocks)
    assert [c.argv for c in commands] == [
        ["logitkit", "datasets", "spector", "--output", "s.csv"],
        ["logitkit", "evaluate", "m.lkm", "my file.csv"]]
    assert [c.shown for c in commands] == [[], ["rows:      32"]]


@pytest.mark.parametrize("line, message", [
    ("$ cat new.csv", "not a logitkit command"),
    ("$ logitkit predict m.lkm new.csv | head -3", "needs a shell"),
    ("$ logitkit datasets seed > seed.csv", "needs a shell"),
])
def test_parser_refuses_lines_that_need_a_shell(line, message):
    with pytest.raises(AssertionError, match=message):
        console_commands(fenced_blocks(f"```console\n{line}\n```\n"))


def test_parser_refuses_an_unclosed_block():
    with pytest.raises(AssertionError, match="never closes"):
        fenced_blocks("```python\nx = 1\n")


def test_update_rewrites_the_shown_outputs(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text("```python\nprint('b')\n```\n```\na\n```\n\n```python\nprint('c')\n"
                     "```\n\n```console\n$ logitkit datasets\nold list\n```\n")
    assert update(stale) == 2
    blocks = fenced_blocks(stale.read_text())
    # the output of print('c') is not shown, so it is not added
    assert [b.lines for b in blocks[:3]] == [["print('b')"], ["b"], ["print('c')"]]
    listed = console_commands(blocks)[0].shown
    assert [line.split()[0] for line in listed] == ["spector", "ucla", "anes96", "seed"]


# ------------------------------------------------------------- python tests/test_readme.py


def update(path: Path = README) -> int:
    """Rewrite the shown outputs of ``path`` with what the blocks print now; returns the
    number of blocks changed.  Outputs that are not shown are not added."""
    import tempfile

    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = fenced_blocks("\n".join(lines))
    edits = []  # (first, count, new lines)
    with tempfile.TemporaryDirectory() as tmp:
        cells = python_cells(blocks)
        printed, _ = run_python(cells, Path(tmp))
        for (_, shown), new in zip(cells, printed, strict=True):
            if shown is not None:
                edits.append((shown.first, len(shown.lines), normalised(new)))
    with tempfile.TemporaryDirectory() as tmp:
        for command in console_commands(blocks):
            done = run_console(command, Path(tmp))
            if command.shown:
                new = done.stdout.splitlines() or done.stderr.splitlines()
                edits.append((command.shown_at, len(command.shown), normalised(new)))
    changed = 0
    for first, count, new in sorted(edits, reverse=True):
        if normalised(lines[first:first + count]) != new:
            lines[first:first + count] = new
            changed += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_readme.py --update  (rewrites README.md's outputs)")
    print(f"README.md: {update()} output block(s) rewritten")
