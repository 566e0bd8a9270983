"""The browser's third-party code and boundaries are what their scripts make of the lockfile and
the shipped data: vendored Leaflet with its licence and version, the simplified boundaries within
their size budget, and no page asset that points at another origin."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
GEO = ROOT / "static" / "geo"


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_leaflet_is_vendored_with_its_licence_and_the_locked_version() -> None:
    lock = json.loads((ROOT / "frontend" / "package-lock.json").read_text(encoding="utf-8"))
    locked = lock["packages"]["node_modules/leaflet"]
    assert (VENDOR / "leaflet" / "VERSION").read_text(encoding="utf-8").split() == [
        "leaflet",
        locked["version"],
        "BSD-2-Clause",
    ]
    assert (
        (VENDOR / "leaflet" / "LICENSE")
        .read_text(encoding="utf-8")
        .startswith("BSD 2-Clause License")
    )
    assert (VENDOR / "leaflet" / "dist" / "leaflet.js").stat().st_size > 100_000


def test_the_lockfile_names_no_registry_host() -> None:
    text = (ROOT / "frontend" / "package-lock.json").read_text(encoding="utf-8")
    assert "://" not in text
    assert '"resolved"' not in text


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_vendor_script_reproduces_the_vendored_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "vendor"), str(tmp_path)], check=True, timeout=300)
    assert files(tmp_path) == files(VENDOR)


def test_the_boundaries_script_reproduces_the_shipped_boundaries_byte_for_byte(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build-boundaries"), str(tmp_path)],
        check=True,
        timeout=120,
    )
    assert files(tmp_path) == files(GEO)


def test_all_zones_and_municipalities_fit_in_150_kb_gzipped() -> None:
    zones = json.loads((GEO / "zones.geojson").read_text(encoding="utf-8"))["features"]
    towns = json.loads((GEO / "municipalities.geojson").read_text(encoding="utf-8"))["features"]
    assert len(zones) == 28
    assert len(towns) == 273
    size = sum(len(gzip.compress(path.read_bytes(), 6)) for path in GEO.glob("*.geojson"))
    assert size <= 150 * 1024, f"{size} bytes gzipped"


def test_each_municipality_in_the_browser_carries_its_shipped_zone() -> None:
    with (ROOT / "console" / "data" / "toscana_comuni.csv").open(encoding="utf-8") as f:
        shipped = {row["istat_code"]: (row["name"], row["zona_id"]) for row in csv.DictReader(f)}
    towns = json.loads((GEO / "municipalities.geojson").read_text(encoding="utf-8"))["features"]
    drawn = {
        t["properties"]["code"]: (t["properties"]["name"], t["properties"]["zone"]) for t in towns
    }
    assert drawn == shipped
    zones = json.loads((GEO / "zones.geojson").read_text(encoding="utf-8"))["features"]
    assert {z["properties"]["id"] for z in zones} == {zone for _, zone in shipped.values()}


EXTERNAL = re.compile(r"""(?:https?:)?//(?!localhost|127\.0\.0\.1)[a-z0-9.-]+\.[a-z]{2,}""", re.I)


def test_no_page_template_script_or_style_loads_from_another_origin() -> None:
    """Loads only (src, url(), fetch, import, <link href>): a plain link the user follows to
    another site is not a load."""
    load = re.compile(
        r"""(\bsrc\b|url\(|fetch\(|import\b|\bfrom\b|<link\b[^>]*href)\W*?""" + EXTERNAL.pattern
    )
    found = []
    roots = [ROOT / "console" / "templates", ROOT / "static" / "js", ROOT / "static" / "css"]
    for folder in roots:
        for path in folder.rglob("*"):
            if path.suffix not in {".html", ".js", ".css", ".mjs"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if load.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
