"""`dispatch/` is the pure core: standard library only, no clock, no randomness, no I/O.

The checks read the modules' source with `ast` (nothing is imported or run), and are themselves
tested on small samples so that a check that can no longer fail is noticed.
"""

import ast
import sys
from pathlib import Path

import pytest

DISPATCH = Path(__file__).resolve().parents[2] / "dispatch"
MODULES = sorted(DISPATCH.rglob("*.py"))

# Named explicitly (docs: STYLE.md point 1): I/O frameworks, and asyncio even though it is stdlib.
FORBIDDEN = frozenset(
    {"asyncpg", "redis", "starlette", "websockets", "apscheduler", "jinja2", "asyncio"}
)
# Standard library modules that are I/O, a clock or randomness: time is an argument here.
IMPURE_STDLIB = frozenset(
    {
        "random",
        "secrets",
        "uuid",
        "time",
        "os",
        "io",
        "socket",
        "ssl",
        "select",
        "selectors",
        "subprocess",
        "threading",
        "multiprocessing",
        "concurrent",
        "pathlib",
        "shutil",
        "tempfile",
        "sqlite3",
        "urllib",
        "http",
    }
)
CLOCK_ATTRIBUTES = frozenset({"now", "utcnow", "today"})  # time.time: `time` is not imported
IO_BUILTINS = frozenset({"open", "input", "print", "breakpoint"})


def imports_of(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level module) of every import; relative imports are the package itself."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "dispatch" if node.level else (node.module or "").split(".")[0]
            found.append((node.lineno, module))
    return found


def impurities(source: str) -> list[str]:
    """What makes this source impure, one line per problem."""
    tree = ast.parse(source)
    problems = []
    for line, module in imports_of(tree):
        if module == "dispatch" or module == "__future__":
            continue
        if module in FORBIDDEN:
            problems.append(f"line {line}: imports {module} (forbidden in the pure core)")
        elif module not in sys.stdlib_module_names:
            problems.append(f"line {line}: imports {module} (not the standard library)")
        elif module in IMPURE_STDLIB:
            problems.append(f"line {line}: imports {module} (a clock, randomness or I/O)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_ATTRIBUTES:
            problems.append(f"line {node.lineno}: uses .{node.attr} (reads the clock)")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in IO_BUILTINS
        ):
            problems.append(f"line {node.lineno}: calls {node.func.id}() (I/O)")
    return problems


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("import asyncpg", "imports asyncpg (forbidden"),
        ("from redis.asyncio import Redis", "imports redis (forbidden"),
        ("import starlette.requests", "imports starlette (forbidden"),
        ("from websockets import connect", "imports websockets (forbidden"),
        ("import apscheduler", "imports apscheduler (forbidden"),
        ("from jinja2 import Template", "imports jinja2 (forbidden"),
        ("import asyncio", "imports asyncio (forbidden"),
        ("def f():\n    import pydantic", "line 2: imports pydantic (not the standard library"),
        ("import random", "imports random (a clock, randomness or I/O"),
        ("from secrets import token_hex", "imports secrets"),
        ("from time import time", "imports time"),
        ("import os.path", "imports os"),
        ("from datetime import datetime\nx = datetime.now()", "line 2: uses .now"),
        ("import datetime\nx = datetime.datetime.utcnow()", "uses .utcnow"),
        ("from datetime import date\nx = date.today()", "uses .today"),
        ("f = open('x')", "calls open() (I/O)"),
    ],
)
def test_the_check_catches_each_kind_of_impurity(source, problem):
    assert any(problem in found for found in impurities(source)), impurities(source)


def test_the_check_accepts_what_the_core_may_use():
    source = (
        "from __future__ import annotations\n"
        "import enum\n"
        "from dataclasses import dataclass\n"
        "from datetime import datetime, timedelta\n"
        "from dispatch import access\n"
        "from . import events\n"
        "from .stream import plan_resume\n"
        "def late(now: datetime, at: datetime) -> bool:\n"
        "    return now - at > timedelta(minutes=5)\n"
    )
    assert impurities(source) == []


def test_the_core_modules_are_all_found():
    names = {path.name for path in MODULES}
    assert {"access.py", "sessions.py", "stream.py", "events.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DISPATCH)))
def test_a_core_module_uses_only_the_standard_library_and_no_clock_randomness_or_io(path):
    assert impurities(path.read_text(encoding="utf-8")) == []
