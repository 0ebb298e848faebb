"""The demo's report: one self-contained HTML file to look at (charts drawn with plotly)."""

from tidebox.report.page import write_report

__all__ = ["write_report"]
