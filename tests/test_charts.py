"""Charts: valid SVG and PNG files of the requested size, with one ``series-*`` per data series,
drawn only when asked for (start-up never imports matplotlib)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from incidentkit.config import StatsSettings
from incidentkit.errors import InputError
from incidentkit.services.charts import incidents_chart, parse_size
from incidentkit.services.stats import incident_stats
from incidentkit.store import Store
from tests.helpers import home_store, run
from tests.test_stats import seed_five

SVG = "{http://www.w3.org/2000/svg}"


def series(svg: Path) -> set[str]:
    return set(re.findall(r'id="series-([a-z-]+)"', svg.read_text(encoding="utf-8")))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_incident_chart_as_svg_and_png(store: Store, tmp_path: Path) -> None:
    stats = incident_stats(seed_five(store), StatsSettings())
    svg = incidents_chart(stats, tmp_path / "stats.svg", (1000, 800))
    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag == f"{SVG}svg" and (root.get("width"), root.get("height")) == ("720pt", "576pt")  # 10 x 8 in
    # bars: incidents, repeats, pages, pages outside; one box (and its points) per metric with values
    assert series(svg) == {
        "incidents", "repeats", "pages", "pages-outside",
        "time-to-detect", "time-to-detect-points", "time-to-mitigate", "time-to-mitigate-points",
        "time-to-resolve", "time-to-resolve-points", "impact-duration", "impact-duration-points",
    }  # fmt: skip
    text = svg.read_text(encoding="utf-8")  # matplotlib writes each text as a comment before its glyphs
    for label in ("Incidents per quarter (N = 5; 1 repeats)", "incidents", "minutes (log scale)", "pages", "N = 3, unknown 2"):
        assert f"<!-- {label}" in text, label
    assert "#0072b2" in text.lower()  # the Okabe-Ito blue
    png = incidents_chart(stats, tmp_path / "stats.png", (640, 480))
    assert png_size(png) == (640, 480)
    again = incidents_chart(stats, tmp_path / "again.svg", (1000, 800))
    assert again.read_bytes() == svg.read_bytes()  # repeatable: re-uploads change nothing


def test_a_metric_without_values_has_no_series(store: Store, tmp_path: Path) -> None:
    from tests.test_stats import imported

    imported(store, "2024-01-10_a", "A", "2024-01-10T10:00:00Z", "2024-01-10T11:00:00Z", "== Summary ==\nA.\n")
    svg = incidents_chart(incident_stats(store, StatsSettings()), tmp_path / "one.svg")
    assert {"time-to-resolve", "impact-duration"} <= series(svg)
    assert not {"time-to-detect", "time-to-mitigate"} & series(svg)  # N = 0: nothing drawn, N shown


def test_the_commands_draw_charts(tmp_path: Path) -> None:
    with home_store() as store:
        seed_five(store)
    result = run("incidents", "stats", "--format", "json", "--chart", str(tmp_path / "i.svg"), "--chart-size", "800x600")
    assert result.exit_code == 0, result.output
    assert ET.parse(tmp_path / "i.svg").getroot().get("width") == "576pt"
    assert run("actionables", "stats", "--format", "json", "--chart", str(tmp_path / "a.png")).exit_code == 0
    assert png_size(tmp_path / "a.png") == (1200, 900)
    assert run("scorecard", "stats", "--format", "json", "--chart", str(tmp_path / "s.svg")).exit_code == 0
    assert ET.parse(tmp_path / "s.svg").getroot().tag == f"{SVG}svg"


def test_actionables_chart_series(tmp_path: Path) -> None:
    home_store().close()  # an empty store: a read command needs one to exist
    assert run("actionables", "stats", "--format", "json", "--chart", str(tmp_path / "a.svg")).exit_code == 0
    assert series(tmp_path / "a.svg") == {"opened", "closed", "open"}  # no open actionable: no age points


@pytest.mark.parametrize("name", ["chart.pdf", "chart"])
def test_only_svg_and_png(tmp_path: Path, name: str) -> None:
    result = run("incidents", "stats", "--format", "json", "--chart", str(tmp_path / name))
    assert result.exit_code != 0 and "name the file .svg or .png" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("text", ["big", "10x10", "1200x"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="--chart-size"):
        parse_size(text)


def test_without_matplotlib_a_chart_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = run("incidents", "stats", "--format", "json", "--chart", str(tmp_path / "x.svg"))
    assert result.exit_code != 0 and "charts need matplotlib" in result.stderr and "incidentkit[charts]" in result.stderr


@pytest.mark.slow  # a child process
def test_start_up_does_not_import_matplotlib() -> None:
    code = "import sys, incidentkit.cli; assert 'matplotlib' not in sys.modules, 'matplotlib imported at start-up'"
    subprocess.run([sys.executable, "-c", code], check=True)
