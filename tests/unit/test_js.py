"""The browser's pure JS logic, tested with node's own runner (tests/js/*.test.mjs), and the
labels the scripts copy from dispatch/ (static/js/lib/labels.js), compared with the Python tables
so that the two cannot drift. Needs Node.js (scripts/test installs Debian's `nodejs`);
static/js/package.json tells node that the scripts are ES modules."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dispatch import referrals, units

ROOT = Path(__file__).resolve().parents[2]
NODE_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))
LABELS = ROOT / "static" / "js" / "lib" / "labels.js"

# labels.js table -> the dispatch/ table it copies.
COPIED: dict[str, Mapping[Any, str]] = {
    "URGENCY_LABELS": referrals.URGENCY_LABELS,
    "REFERRAL_STATUS_LABELS": referrals.STATUS_LABELS,
    "PROGRESS_LABELS": referrals.PROGRESS_LABELS,
    "UNIT_STATUS_LABELS": units.STATUS_LABELS,
    "SKILL_LABELS": units.SKILL_LABELS,
    "LANGUAGE_LABELS": units.LANGUAGE_LABELS,
}


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail(
            "node is missing: the JS tests need Node.js (apt-get install nodejs; scripts/test"
            " installs it when it can)."
        )
    return found


def run_node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node(), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_js_unit_tests_pass() -> None:
    assert NODE_TESTS, "no tests/js/*.test.mjs"
    done = run_node("--test", *(str(path.relative_to(ROOT)) for path in NODE_TESTS))
    assert done.returncode == 0, f"node --test failed:\n{done.stdout}\n{done.stderr}"


@functools.cache
def js_labels() -> dict[str, object]:
    script = f"import * as labels from {json.dumps(LABELS.as_uri())};"
    script += " console.log(JSON.stringify(labels));"
    done = run_node("--input-type=module", "--eval", script)
    assert done.returncode == 0, f"reading labels.js failed:\n{done.stderr}"
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", sorted(COPIED))
def test_the_js_labels_copied_from_dispatch_are_the_same(name: str) -> None:
    python = {str(code): text for code, text in COPIED[name].items()}
    assert js_labels()[name] == python, f"static/js/lib/labels.js {name} differs from dispatch/"


def test_the_js_urgency_order_is_the_cores() -> None:
    assert js_labels()["URGENCIES"] == list(referrals.URGENCIES)
