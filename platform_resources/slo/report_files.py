"""The SLO report's files: ``index.html`` (self-contained, charts inlined), ``slo_report.json``,
``slo_report.csv`` (one row per product and SLO) and PNG charts (matplotlib)."""

import base64
import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from platform_resources.core.check_names import SLO_CHECKS
from platform_resources.slo.report import (
    EXHAUSTED,
    NOT_MEASURED,
    SloAttainment,
    SloReport,
    budget_text,
    share_text,
)

CHARTS = {"attainment": "attainment.png", "budget": "error_budget.png", "timeline": "breach_timeline.png"}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("platform_resources.slo", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_LEVEL_COLOURS = {"healthy": "#8fd19e", "low": "#f6d365", EXHAUSTED: "#f28b82", NOT_MEASURED: "#e5e7eb"}


def _level(budget_left: float | None) -> str:
    if budget_left is None:
        return NOT_MEASURED
    return EXHAUSTED if budget_left < 0 else ("low" if budget_left < 0.5 else "healthy")


def _product_axes(report: SloReport, title: str, width: float) -> tuple[Any, Any]:
    """A figure with one row per product, top to bottom, a line between domains."""
    plt = _pyplot()
    products = report.products
    fig, ax = plt.subplots(figsize=(width, 1.6 + 0.42 * max(len(products), 1)))
    ax.set_yticks(range(len(products)), [p.uri.removeprefix("data://") for p in products], fontsize=8)
    for row in range(1, len(products)):
        if products[row].domain != products[row - 1].domain:
            ax.axhline(row - 0.5, color="#1d2433", linewidth=1.2)
    ax.set_ylim(len(products) - 0.5, -0.5)
    ax.set_title(title, fontsize=10)
    return fig, ax


def _legend(ax: Any, labels: Mapping[str, str]) -> None:
    from matplotlib import patches

    handles = [patches.Patch(color=_LEVEL_COLOURS[k], label=v) for k, v in labels.items()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.03), ncol=len(labels), fontsize=8)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def _attainment_chart(report: SloReport, path: Path) -> None:
    """One cell per product and SLO: attainment, evaluations and objective, coloured by budget left."""
    fig, ax = _product_axes(report, "SLO attainment over the window against its objective, by domain", 9)
    for row, p in enumerate(report.products):
        for column, s in enumerate(p.slos):
            level = _level(s.budget_left)
            ax.add_patch(
                _pyplot().Rectangle((column - 0.5, row - 0.5), 1, 1, color=_LEVEL_COLOURS[level], ec="white")
            )
            text = (
                NOT_MEASURED
                if s.attainment is None
                else f"{s.attainment:.2%} of {s.evaluations} (objective {s.objective:.0%})"
            )
            ax.text(column, row, text, ha="center", va="center", fontsize=7)
    ax.set_xlim(-0.5, len(SLO_CHECKS) - 0.5)
    ax.set_xticks(range(len(SLO_CHECKS)), list(SLO_CHECKS))
    ax.xaxis.tick_top()
    _legend(
        ax,
        {
            "healthy": "met, budget >= 50%",
            "low": "met, budget < 50%",
            EXHAUSTED: "missed (exhausted)",
            NOT_MEASURED: NOT_MEASURED,
        },
    )
    _save(fig, path)


def _budget_chart(report: SloReport, path: Path) -> None:
    """Per product, a bar per measured SLO's budget left (clipped at -1, labelled with its value)."""
    fig, ax = _product_axes(
        report,
        "Error budget left per product (1 untouched, 0 spent, below 0 exhausted; bars clipped at -1)",
        11,
    )
    height = 0.8 / len(SLO_CHECKS)
    for row, p in enumerate(report.products):
        if all(s.budget_left is None for s in p.slos):
            ax.text(0, row, f" {NOT_MEASURED}", va="center", fontsize=7, color="#6b7280")
            continue
        for i, s in enumerate(p.slos):
            y = row - 0.4 + height * (i + 0.5)
            if s.budget_left is not None:
                ax.barh(y, max(s.budget_left, -1.0), height, color=_LEVEL_COLOURS[_level(s.budget_left)])
            ax.text(
                max(s.budget_left or 0.0, 0.0),
                y,
                f" {s.slo}: {budget_text(s.budget_left)}",
                va="center",
                fontsize=6,
            )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-1.05, 1.75)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1])
    _legend(ax, {"healthy": ">= 50% left", "low": "< 50% left", EXHAUSTED: EXHAUSTED})
    _save(fig, path)


def _timeline_chart(report: SloReport, path: Path) -> None:
    plt = _pyplot()
    from matplotlib import dates, patches

    rows = list(dict.fromkeys((p.uri, b.check) for p in report.products for b in p.breaches))
    fig, ax = plt.subplots(figsize=(11, 1.8 + 0.35 * max(len(rows), 1)))
    start, end = (dt.datetime.fromisoformat(t) for t in (report.window_start, report.window_end))
    colours = {"slo": "#b3261e", "error": "#e37400", "warning": "#e3c008"}
    minimum = (end - start) / 300  # a single evaluation still shows
    for p in report.products:
        for b in p.breaches:
            first = dt.datetime.fromisoformat(b.start)
            last = dt.datetime.fromisoformat(b.end) if b.end else end
            colour = colours["slo" if b.slo else b.severity]
            ax.barh(rows.index((p.uri, b.check)), max(last - first, minimum), 0.6, left=first, color=colour)
            if b.end is None:
                ax.plot([end], [rows.index((p.uri, b.check))], marker=">", color=colour)
    if rows:
        ax.set_yticks(range(len(rows)), [f"{u.removeprefix('data://')} · {c}" for u, c in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no breaches in the window", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(dates.DateFormatter("%m-%d"))
    ax.set_title(f"Breaches over the last {report.window_days} days (> ongoing)")
    labels = {
        "slo": "SLO breach (spends budget)",
        "error": "quality check failed",
        "warning": "anomaly (warning)",
    }
    ax.legend(
        handles=[patches.Patch(color=colours[k], label=v) for k, v in labels.items()],
        loc="upper left",
        fontsize=8,
    )
    _save(fig, path)


def _write_csv(report: SloReport, path: Path) -> None:
    fields = [f.name for f in dataclasses.fields(SloAttainment)]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["domain", "product", "asset_key", *fields, "breaches", "ongoing_breaches"])
        for p in report.products:
            for s in p.slos:
                own = [b for b in p.breaches if b.check == s.check]
                writer.writerow(
                    [
                        p.domain,
                        p.uri,
                        p.asset_key,
                        *("" if v is None else v for v in dataclasses.astuple(s)),
                        len(own),
                        sum(1 for b in own if b.end is None),
                    ]
                )


def write_slo_report(report: SloReport, out: Path) -> Path:
    """Write the report's files into ``out``; returns the path of ``index.html``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "slo_report.json").write_text(json.dumps(dataclasses.asdict(report), indent=2))
    _write_csv(report, out / "slo_report.csv")
    _attainment_chart(report, out / CHARTS["attainment"])
    _budget_chart(report, out / CHARTS["budget"])
    _timeline_chart(report, out / CHARTS["timeline"])
    inline = {
        name: "data:image/png;base64," + base64.b64encode((out / file).read_bytes()).decode()
        for name, file in CHARTS.items()
    }
    index = out / "index.html"
    index.write_text(
        _TEMPLATES.get_template("slo_report.html.j2").render(
            report=report,
            charts=inline,
            files=CHARTS,
            share=share_text,
            budget=budget_text,
            slos=list(SLO_CHECKS),
        )
    )
    return index
