"""The report as one HTML file that opens offline: plotly.js and every chart's data inside it.

Sections: what ran (the run's own figures, when the demo passes them), anomalies caught, one
chart per device, the window statistics, the data-quality outcomes, what landed and what the
query scanned.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import plotly.offline

from tidebox.core.settings import Settings
from tidebox.lake.query import QueryResult
from tidebox.quality.suites import CheckResult
from tidebox.report.charts import device_figure, windows_figure
from tidebox.report.gather import ReportData, gather

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { padding: 0.25rem 0.8rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pass { color: #2ca02c; } .fail { color: #d62728; font-weight: bold; }
.note { color: #666; font-size: 0.9rem; }
"""


def default_path(settings: Settings) -> Path:
    return settings.state_dir / "reports" / "demo.html"


def write_report(
    settings: Settings,
    out: Path | None = None,
    run: Mapping[str, str] | None = None,
    check: CheckResult | None = None,
    query: QueryResult | None = None,
) -> Path:
    """Write the report of the demo's landed tables to ``out`` (default
    ``<state>/reports/demo.html``); ``run`` adds the run's own figures (label: value), and a
    ``check`` or ``query`` the caller has just run is shown rather than run again."""
    path = out or default_path(settings)
    page = render(gather(settings, check, query), run or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def render(data: ReportData, run: Mapping[str, str]) -> str:
    """The whole page as HTML text."""
    parts = [
        "<h1>tidebox: the demo's report</h1>",
        f'<p class="note">written {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC from the landed '
        "tables; it needs no network to open</p>",
    ]
    if run:
        parts += ["<h2>The run</h2>", _table(["step", "result"], list(run.items()))]
    parts += ["<h2>Anomalies caught</h2>", _detection(data)]
    parts.append("<h2>Devices</h2>")
    for device, rows in data.scores.groupby("device_id", sort=True):
        events = [e for e in data.events if e.key == str(device)]
        parts.append(_figure(device_figure(rows, events, str(device)), f"device-{device}"))
    parts += ["<h2>Window statistics</h2>", _figure(windows_figure(data.windows), "windows")]
    parts += [
        _table(
            data.query.table.column_names, [tuple(r.values()) for r in data.query.table.to_pylist()]
        )
    ]
    parts += ["<h2>Data quality</h2>", _checks(data)]
    parts += ["<h2>Landed and scanned</h2>", _landed(data)]
    script = plotly.offline.get_plotlyjs()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>tidebox report</title>"
        f"<style>{STYLE}</style><script>{script}</script></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def _figure(figure: object, name: str) -> str:
    return figure.to_html(  # type: ignore[attr-defined]
        full_html=False, include_plotlyjs=False, div_id=name, config={"displaylogo": False}
    )


def _detection(data: ReportData) -> str:
    d = data.detection
    rows = [(k.kind, k.events, k.caught, k.missed) for k in d.kinds]
    rows.append(("all", d.events, d.caught, d.events - d.caught))
    median, p90 = d.delay_s(0.5), d.delay_s(0.9)
    delays = (
        "none caught" if median is None else f"median {median:,.0f} s, 90th percentile {p90:,.0f} s"
    )
    return _table(["event kind", "injected", "caught", "missed"], rows) + _table(
        ["measure", "value"],
        [
            ("recall (events caught / injected)", f"{d.recall:.3f}"),
            ("precision (alarm episodes on an event / all)", f"{d.precision:.3f}"),
            ("F1", f"{d.f1:.3f}"),
            ("detection delay", delays),
            ("false alarms per device-day", f"{d.false_alarms_per_key_day:.2f}"),
        ],
    )


def _checks(data: ReportData) -> str:
    rows = [
        (
            o.expectation,
            o.column or "",
            '<span class="pass">pass</span>' if o.success else '<span class="fail">FAIL</span>',
            o.detail,
        )
        for o in data.check.outcomes
    ]
    return f"<p>suite {html.escape(data.check.suite)} on {data.check.rows:,} rows</p>" + _table(
        ["expectation", "column", "outcome", "detail"], rows, escape=False
    )


def _landed(data: ReportData) -> str:
    rows = [
        (t.table.name, t.files, f"{t.rows or 0:,}", f"{t.bytes:,}", t.table.location)
        for t in data.landed
    ]
    q = data.query
    scanned = (
        f"the window query read {q.bytes_scanned:,} bytes in {q.files_scanned} file(s) "
        f"({q.seconds:.3f} s, as Athena would bill ${q.cost_usd:.8f})"
    )
    return _table(["table", "files", "rows", "bytes", "location"], rows) + f"<p>{scanned}</p>"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], escape: bool = True) -> str:
    def cell(value: object) -> str:
        text = str(value)
        return html.escape(text) if escape else text

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
