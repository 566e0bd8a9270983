"""The direction of imports in `console/`: `lib` is the platform and never imports an area; an
area uses another area only through its `reads` or `actions`; no module imports itself back.

`dispatch/` imports the standard library only: tests/unit/test_purity.py asserts that (and
more), so it is not repeated here.

The checks read the modules' source with `ast` (nothing is imported or run). Every import
counts wherever it is written: module level, inside a function, under `if TYPE_CHECKING:`.
`from pkg import name` is the submodule `pkg.name` when that file exists, else `pkg` itself;
importing a submodule adds no edge to its parent package. The checks are themselves tested on
small samples so that a check that can no longer fail is noticed.
"""

import ast
import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"

LIB = "console.lib"
OUTSIDE_LIB = ("console.areas", "console.app", "console.demo")  # what lib must not import
AREAS = "console.areas"
SHARED = frozenset({"reads", "actions"})  # what an area may use of another area
ROSTER = frozenset({"__init__", "api", "actions", "reads", "schemas", "pages", "store"})
TOP_LEVEL_MODULES = 6  # .py files directly in console/, __init__.py included


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the repository
    line: int
    importer: str  # the importing module
    target: str  # the imported module, resolved

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def module_of(path: str) -> str:
    """`console/lib/db.py` -> `console.lib.db`; `console/lib/__init__.py` -> `console.lib`."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(files: dict[str, str]) -> list[Import]:
    """Every import in these files ({relative path: source}), resolved against these files."""
    modules = {module_of(path) for path in files}
    found = []
    for path, source in files.items():
        importer = module_of(path)
        package = importer if path.endswith("__init__.py") else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: the package, then one step up per extra dot
                    base = ".".join(filter(None, [package.rsplit(".", node.level - 1)[0], base]))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            else:
                continue
            found += [Import(path, node.lineno, importer, t) for t in dict.fromkeys(targets)]
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def area_of(module: str) -> str | None:
    """`console.areas.cases.reads` -> `cases`; None outside the areas."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and within(module, AREAS) else None


def lib_reaching_out(imports: list[Import]) -> list[str]:
    """Imports in `console/lib/` of an area, the app or the demo."""
    return [
        str(i)
        for i in imports
        if within(i.importer, LIB) and any(within(i.target, m) for m in OUTSIDE_LIB)
    ]


def areas_reaching_in(imports: list[Import]) -> list[str]:
    """Imports in an area of another area's module other than its `reads` or `actions`."""
    problems = []
    for i in imports:
        mine, theirs = area_of(i.importer), area_of(i.target)
        if mine is None or theirs is None or mine == theirs:
            continue
        if i.target.count(".") == 3 and i.target.rpartition(".")[2] in SHARED:
            continue
        problems.append(f"{i} (another area: only its reads or actions)")
    return problems


def cycles(imports: list[Import]) -> list[str]:
    """One chain per strongly connected group of `console` modules, each edge with its file:line."""
    edges: dict[str, dict[str, Import]] = {}
    for i in imports:
        if within(i.target, "console"):
            edges.setdefault(i.importer, {}).setdefault(i.target, i)
    nodes = sorted({*edges, *(t for targets in edges.values() for t in targets)})

    # Tarjan's strongly connected components, iterative (no recursion limit to meet).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in edges.get(node, {}):
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, {})))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    chains = []
    for group in groups:
        # The shortest way back to the group's first module, inside the group (breadth first).
        start, members = group[0], set(group)
        came_from: dict[str, str] = {}
        frontier = [start]
        while start not in came_from:
            reached = []
            for node in frontier:
                for target in sorted(edges.get(node, {})):
                    if target in members and target not in came_from:
                        came_from[target] = node
                        reached.append(target)
            frontier = reached
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(came_from[path[-1]])
        path.reverse()
        steps = ", ".join(str(edges[a][b]) for a, b in itertools.pairwise(path))
        chains.append(" -> ".join(path) + f" ({steps})")
    return chains


def off_roster(paths: list[str]) -> list[str]:
    """Files of an area package outside the roster, and top-level modules beyond the limit."""
    problems = [
        f"{path} (an area holds only {', '.join(sorted(ROSTER))})"
        for path in paths
        if path.startswith("console/areas/")
        and path.count("/") >= 3
        and (path.count("/") > 3 or Path(path).stem not in ROSTER)
    ]
    top = sorted(path for path in paths if path.count("/") == 1)
    if len(top) > TOP_LEVEL_MODULES:
        problems.append(
            f"console/ has {len(top)} top-level modules, at most {TOP_LEVEL_MODULES}: "
            + ", ".join(top)
        )
    return problems


@cache
def tree() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(CONSOLE.rglob("*.py"))
    }


@cache
def tree_imports() -> list[Import]:
    return imports_of(tree())


# The checks on samples.


def test_imports_are_resolved_to_the_submodule_when_its_file_exists_else_to_the_package():
    files = {
        "console/lib/__init__.py": "",
        "console/lib/db.py": "",
        "console/lib/hub.py": (
            "from console.lib import db, missing\n"
            "from console.lib.db import Database\n"
            "import console.lib.db as d\n"
            "from . import db\n"
            "from .db import Tx\n"
        ),
        "console/areas/cases/__init__.py": "from . import reads\nfrom .. import cases\n",
        "console/areas/cases/reads.py": "",
    }
    found = {(i.importer, i.line, i.target) for i in imports_of(files)}
    assert found == {
        ("console.lib.hub", 1, "console.lib.db"),
        ("console.lib.hub", 1, "console.lib"),
        ("console.lib.hub", 2, "console.lib.db"),
        ("console.lib.hub", 3, "console.lib.db"),
        ("console.lib.hub", 4, "console.lib.db"),
        ("console.lib.hub", 5, "console.lib.db"),
        ("console.areas.cases", 1, "console.areas.cases.reads"),
        ("console.areas.cases", 2, "console.areas.cases"),
    }


@pytest.mark.parametrize(
    "source",
    [
        "from console.areas.cases import reads",
        "from console.areas import cases",
        "import console.areas",
        "from console import app",
        "from console.app import ROUTES",
        "from console.demo import seed",
        "def f():\n    from console.areas.cases.reads import x",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from console.app import AREAS",
    ],
)
def test_the_check_catches_lib_importing_an_area_the_app_or_the_demo(source):
    files = {"console/lib/hub.py": source, "console/app.py": "", "console/demo/seed.py": ""}
    files |= {"console/areas/cases/__init__.py": "", "console/areas/cases/reads.py": ""}
    assert [p.split(" imports ")[0] for p in lib_reaching_out(imports_of(files))] == [
        f"console/lib/hub.py:{source.count(chr(10)) + 1}"
    ]


def test_the_check_lets_lib_import_lib_dispatch_and_the_rest():
    files = {
        "console/lib/hub.py": "from console.lib import db\nimport asyncpg\nfrom dispatch import x",
        "console/lib/db.py": "",
    }
    assert lib_reaching_out(imports_of(files)) == []


UNITS = {
    f"console/areas/units/{name}.py": ""
    for name in ["__init__", "api", "actions", "reads", "schemas", "pages", "store"]
}


@pytest.mark.parametrize(
    "source",
    [
        "from console.areas.units.store import ACTIVE",
        "from console.areas.units import schemas",
        "from console.areas.units import api",
        "from console.areas.units.pages import ROUTES",
        "from console.areas.units import routes",
        "from console.areas import units",
        "import console.areas.units.store",
        "from ..units import store",
        "def f():\n    from console.areas.units import schemas",
    ],
)
def test_the_check_catches_an_area_using_more_of_another_than_its_reads_or_actions(source):
    files = UNITS | {"console/areas/tablet/actions.py": source}
    assert [p.split(" imports ")[0] for p in areas_reaching_in(imports_of(files))] == [
        f"console/areas/tablet/actions.py:{source.count(chr(10)) + 1}"
    ]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("console/areas/tablet/actions.py", "from console.areas.units import reads as units_reads"),
        ("console/areas/tablet/actions.py", "from console.areas.units.reads import recommend"),
        ("console/areas/tablet/actions.py", "from console.areas.units import actions, reads"),
        ("console/areas/tablet/reads.py", "import console.areas.units.actions"),
        ("console/areas/tablet/reads.py", "from ..units import reads"),
        ("console/areas/units/api.py", "from console.areas.units.store import ACTIVE"),
        ("console/areas/units/api.py", "from console.areas.units import routes"),
        ("console/areas/units/__init__.py", "from console.areas.units import api, pages"),
        ("console/app.py", "from console.areas.units import store"),
        ("console/demo/seed.py", "from console.areas.units import store"),
    ],
)
def test_the_check_lets_an_area_use_its_own_modules_and_others_reads_and_actions(path, source):
    assert areas_reaching_in(imports_of(UNITS | {path: source})) == []


def test_the_check_reports_a_cycle_as_the_chain_of_modules_with_each_import():
    files = {
        "console/lib/db.py": "from console.lib import hub",
        "console/lib/hub.py": "import json\n\ndef f():\n    from console.lib.bus import Bus",
        "console/lib/bus.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from console.lib.db import Database",
        "console/lib/__init__.py": "",
    }
    assert cycles(imports_of(files)) == [
        "console.lib.bus -> console.lib.db -> console.lib.hub -> console.lib.bus ("
        "console/lib/bus.py:3 imports console.lib.db, "
        "console/lib/db.py:1 imports console.lib.hub, "
        "console/lib/hub.py:4 imports console.lib.bus)"
    ]


def test_the_check_reports_a_module_importing_itself():
    files = {"console/lib/db.py": "from console.lib import db", "console/lib/__init__.py": ""}
    assert cycles(imports_of(files)) == [
        "console.lib.db -> console.lib.db (console/lib/db.py:1 imports console.lib.db)"
    ]


def test_a_package_importing_its_submodules_is_no_cycle_unless_one_imports_the_package():
    files = {
        "console/areas/clocks/__init__.py": (
            "def routes():\n    from console.areas.clocks import api"
        ),
        "console/areas/clocks/api.py": "from console.areas.clocks import store",
        "console/areas/clocks/store.py": "",
    }
    assert cycles(imports_of(files)) == []
    files["console/areas/clocks/store.py"] = "from console.areas.clocks import RULES"
    assert cycles(imports_of(files)) == [
        "console.areas.clocks -> console.areas.clocks.api -> console.areas.clocks.store"
        " -> console.areas.clocks ("
        "console/areas/clocks/__init__.py:2 imports console.areas.clocks.api, "
        "console/areas/clocks/api.py:1 imports console.areas.clocks.store, "
        "console/areas/clocks/store.py:1 imports console.areas.clocks)"
    ]


def test_the_check_catches_files_off_the_roster_and_too_many_top_level_modules():
    paths = [
        "console/areas/units/reads.py",
        "console/areas/units/queries.py",
        "console/areas/units/sub/reads.py",
        "console/areas/__init__.py",
        "console/lib/anything.py",
        *(f"console/m{n}.py" for n in range(7)),
    ]
    assert off_roster(paths) == [
        "console/areas/units/queries.py (an area holds only "
        "__init__, actions, api, pages, reads, schemas, store)",
        "console/areas/units/sub/reads.py (an area holds only "
        "__init__, actions, api, pages, reads, schemas, store)",
        "console/ has 7 top-level modules, at most 6: "
        + ", ".join(f"console/m{n}.py" for n in range(7)),
    ]
    assert off_roster(paths[:1] + paths[3:10]) == []


# The checks on the tree.


def test_the_console_modules_are_all_found():
    modules = {module_of(path) for path in tree()}
    assert {"console.app", "console.lib.db", "console.areas.cases.reads"} <= modules
    assert len({area_of(m) for m in modules} - {None}) >= 13


def test_lib_never_imports_an_area_the_app_or_the_demo():
    problems = lib_reaching_out(tree_imports())
    assert problems == [], "console/lib is the platform:\n" + "\n".join(problems)


def test_an_area_uses_another_area_only_through_its_reads_or_actions():
    problems = areas_reaching_in(tree_imports())
    assert problems == [], "\n".join(problems)


def test_no_import_cycle_exists_among_the_console_modules():
    problems = cycles(tree_imports())
    assert problems == [], "import cycles:\n" + "\n".join(problems)


def test_each_area_holds_only_files_of_the_roster_and_console_few_top_level_modules():
    problems = off_roster(list(tree()))
    assert problems == [], "\n".join(problems)
