"""The report's charts, drawn by matplotlib as SVG to inline in the HTML (runs on the
controller; no file, no network: the SVG text goes into the page).

Each plotted bar carries an id (``avail-bar-<day>``) so that a browser test can count what
was drawn; a day without samples gets no bar (and a grey "no data" mark at the axis), never
a full one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.figure import Figure

from storeops.availability import DayAvailability

METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
BAR_ID = "avail-bar-"
NO_DATA_ID = "avail-nodata-"
GOOD, BAD, NO_DATA, TARGET = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"


def _floor(days: Sequence[DayAvailability], target: float) -> float:
    """The y axis' bottom: below the lowest day and the target, in steps of 0.5 %."""
    lowest = min([target, *(d.availability for d in days if d.availability is not None)])
    return max(0.0, (int(lowest * 2) - 1) / 2)


def availability_svg(code: str, days: Sequence[DayAvailability], target: float) -> str:
    """The store's availability per day against ``target`` (%), as an inline ``<svg>``."""
    # text as <text> (not each glyph as a path): a third less SVG for the browser and WeasyPrint
    with mpl.rc_context({"svg.hashsalt": f"storeops-{code}", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.2, 2.4), layout="constrained")
        axes = figure.add_subplot()
        bottom = _floor(days, target)
        for index, day in enumerate(days, start=1):
            if day.availability is None:
                (mark,) = axes.plot([index], [bottom], marker="x", color=NO_DATA, linestyle="")
                mark.set_gid(f"{NO_DATA_ID}{day.day.isoformat()}")
                continue
            colour = GOOD if day.availability >= target else BAD
            bar = axes.bar(index, day.availability - bottom, bottom=bottom, color=colour)[0]
            bar.set_gid(f"{BAR_ID}{day.day.isoformat()}")
        axes.axhline(
            target, color=TARGET, linestyle="--", linewidth=1, label=f"target {target:g} %"
        )
        axes.set_xlim(0.4, len(days) + 0.6)
        axes.set_ylim(bottom, 100.05)
        axes.set_xticks(range(1, len(days) + 1, 2 if len(days) > 16 else 1))
        axes.set_xlabel("day of month (store-local)")
        axes.set_ylabel("availability %")
        axes.legend(loc="lower left", fontsize="small")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    # inline: no XML declaration or DOCTYPE, and no RDF metadata (it names outside URLs)
    return METADATA.sub("", text[text.index("<svg") :])
