"""``tidebox query`` and ``tidebox catalog`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import JOBS, TIDEBOX, cli_env, month_of_readings, run_cli
from tests.tidebox.cli.test_app import assert_one_clear_line

CSV = JOBS / "reference" / "devices.csv"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    month_of_readings(tmp_path / "bucket" / "raw" / "readings", days=2, rows=10)
    env = {"TIDEBOX_STATE_DIR": str(tmp_path / "state"), "TIDEBOX_BUCKET": str(tmp_path / "bucket")}
    crawled = run_cli(["catalog", "crawl", "raw/readings", "--table", "readings"], tmp_path, env)
    assert crawled.returncode == 0, crawled.stderr
    assert "partition keys: dt, hour, 48 partition(s)" in crawled.stdout
    return env


def test_query_prints_rows_then_what_athena_shows(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli(
        [
            "query",
            "SELECT dt, count(*) AS n FROM readings GROUP BY dt ORDER BY dt",
            "--format",
            "csv",
        ],
        tmp_path,
        env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["dt,n", "2026-01-01,240", "2026-01-02,240"]
    stats = done.stderr.strip()
    assert stats.startswith("Run time: ") and "Data scanned: " in stats
    assert "48 file(s)" in stats and "Cost: $0.00004768 (billed 10 MB)" in stats


def test_csv_lines_end_with_a_newline_alone_on_stdout_and_in_saved_files(
    tmp_path: Path, env: dict[str, str]
) -> None:
    sql = "SELECT dt, count(*) AS n FROM readings GROUP BY dt ORDER BY dt"
    saved = tmp_path / "out.csv"
    done = subprocess.run(
        [TIDEBOX, "query", sql, "--format", "csv", "--output", str(saved)],
        cwd=tmp_path, env=cli_env(**env), capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"dt,n\n2026-01-01,240\n2026-01-02,240\n"  # bytes: no CRLF
    assert b"\r" not in saved.read_bytes() and saved.read_bytes().count(b"\n") == 3


def test_formats_and_saved_results(tmp_path: Path, env: dict[str, str]) -> None:
    sql = "SELECT device_id, count(*) AS n FROM readings WHERE dt = '2026-01-01' GROUP BY 1"
    lines = run_cli(["query", sql, "--format", "json"], tmp_path, env).stdout.splitlines()
    assert len(lines) == 10 and json.loads(lines[0])["n"] == 24
    out = tmp_path / "out.parquet"
    saved = run_cli(["query", sql, "--format", "parquet", "--output", str(out)], tmp_path, env)
    assert saved.returncode == 0 and pq.read_table(out).num_rows == 10
    folder = tmp_path / "results"
    folder.mkdir()
    run_cli(["query", sql, "--output", str(folder)], tmp_path, env)
    [csv] = list(folder.glob("*.csv"))
    metadata = json.loads(csv.with_name(csv.name + ".metadata").read_text())
    assert metadata["rows"] == 10 and metadata["queryId"] == csv.stem
    assert_one_clear_line(run_cli(["query", sql, "--format", "parquet"], tmp_path, env), "--output")


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT * FROM nowhere", "unknown table 'nowhere'"),
        ("SELECT pressure FROM readings", "unknown column 'pressure'"),
        ("SELEC 1", "syntax error"),
    ],
)
def test_query_errors_are_one_line(
    tmp_path: Path, env: dict[str, str], sql: str, words: str
) -> None:
    assert_one_clear_line(run_cli(["query", sql], tmp_path, env), words)


def test_the_shell_runs_statements_and_keeps_history(tmp_path: Path, env: dict[str, str]) -> None:
    statements = (
        "SELECT count(*) AS n\n  FROM readings;\n"
        "SELECT nope FROM readings;\n"
        "\\d readings\n"
        "SELECT max(dt) AS last FROM readings;\n"
    )
    done = subprocess.run(
        [TIDEBOX, "query"], cwd=tmp_path, env=cli_env(**env), input=statements,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "480" in done.stdout and "2026-01-02" in done.stdout
    assert "unknown column 'nope'" in done.stderr  # an error does not end the session
    assert "partitions: 48" in done.stdout
    history = (tmp_path / "state" / "query_history").read_text()
    assert "SELECT count(*) AS n   FROM readings;" in history


def test_catalog_commands(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "tidebox.yaml").write_text(f"tables: [{{name: devices, location: {CSV}}}]\n")
    listed = run_cli(["catalog", "list"], tmp_path, env).stdout
    assert "readings" in listed and "crawler" in listed and "devices" in listed
    shown = run_cli(["catalog", "show", "readings"], tmp_path, env).stdout
    assert "temperature" in shown and "partition key" in shown
    assert "partitions: 48" in shown and "files: 48" in shown and "rows: 480" in shown
    new = tmp_path / "bucket" / "raw" / "readings" / "dt=2026-01-03" / "hour=00"
    new.mkdir(parents=True)
    first = next((tmp_path / "bucket" / "raw" / "readings").rglob("*.parquet"))
    (new / "readings.parquet").write_bytes(first.read_bytes())
    assert "1 new partition(s)" in run_cli(["catalog", "repair", "readings"], tmp_path, env).stdout
    dropped = run_cli(["catalog", "drop", "readings"], tmp_path, env)
    assert dropped.returncode == 0 and "its files stay" in dropped.stdout
    assert_one_clear_line(run_cli(["catalog", "show", "readings"], tmp_path, env), "unknown table")
    assert_one_clear_line(
        run_cli(["catalog", "crawl", "nothing/here", "--table", "x"], tmp_path, env),
        "nothing to crawl",
    )
