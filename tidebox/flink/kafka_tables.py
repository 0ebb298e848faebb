"""The tables ``job run`` binds a job to: its streams as Kafka topics, its reference tables as
JSON Lines copies under the state folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tidebox.core.errors import JobError, StreamNotFoundError
from tidebox.core.settings import Settings, StreamSpec, TableSpec
from tidebox.flink.ddl import table_ddl
from tidebox.flink.filetables import file_table_ddl, write_rows
from tidebox.streams.admin import ensure_stream, list_streams


@dataclass(frozen=True)
class KafkaTables:
    """Sources read a topic from its start (to the offsets present at start when bounded);
    sinks write one with ``delivery``'s guarantee (see :func:`tidebox.flink.ddl.table_ddl`)."""

    settings: Settings
    job: str
    bounded: bool = True
    delivery: str = "exactly-once"

    def source(self, spec: StreamSpec, table: str, arrival: str | None = None) -> str:
        return table_ddl(
            spec, self.settings, "source", self.bounded, self.job, table_name=table,
            arrival=arrival,
        )  # fmt: skip

    def sink(self, spec: StreamSpec) -> str:
        return table_ddl(spec, self.settings, "sink", self.bounded, self.job, self.delivery)

    def reference(self, table: TableSpec) -> str:
        """The table's file rewritten as JSON Lines under ``<state>/reference/<job>/<table>/``
        and declared over that copy."""
        source = Path(table.location)
        if not source.is_file():
            raise JobError(self.job, f"reference table '{table.name}': no file at {source}")
        folder = self.settings.state_dir.resolve() / "reference" / self.job
        shutil.rmtree(folder / table.name, ignore_errors=True)
        path = write_rows(table.name, source, folder)
        return file_table_ddl(table.name, table.columns, path)

    def create_sink(self, spec: StreamSpec) -> None:
        ensure_stream(self.settings, self.settings.stream(spec.name) or spec)

    def check_sources(self, job: str, names: list[str]) -> None:
        existing = set(list_streams(self.settings))
        for name in names:
            if name not in existing:
                raise StreamNotFoundError(name)
