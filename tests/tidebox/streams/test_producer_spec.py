"""Generator specs as files: producers/NAME.yaml read into a GenerateSpec."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidebox.core.errors import ConfigError
from tidebox.core.settings import Settings
from tidebox.streams.generate import GenerateSpec
from tidebox.streams.producer_spec import find_spec_file, read_generate_spec


def spec_file(folder: Path, text: str, name: str = "sensors.yaml") -> Path:
    path = folder / "producers" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_spec_file_holds_generate_spec_fields(tmp_path: Path) -> None:
    path = spec_file(tmp_path, "devices: 3\nhours: 2\nstart: 2026-02-01T06:00:00Z\nseed: 7\n")
    spec = read_generate_spec(path)
    assert spec == GenerateSpec(
        devices=3, hours=2, seed=7, start=datetime(2026, 2, 1, 6, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "start",
    ["2026-02-01", "'2026-02-01T00:00:00'", "2026-02-01 00:00:00", "2026-02-01T01:00:00+01:00"],
)
def test_start_in_any_yaml_form_is_a_utc_time(tmp_path: Path, start: str) -> None:
    spec = read_generate_spec(spec_file(tmp_path, f"start: {start}\n"))
    assert spec.start == datetime(2026, 2, 1, tzinfo=UTC)


def test_options_given_beat_the_file_and_unset_ones_do_not(tmp_path: Path) -> None:
    path = spec_file(tmp_path, "devices: 3\nhours: 2\n")
    spec = read_generate_spec(path, {"devices": 9, "hours": None})
    assert (spec.devices, spec.hours) == (9, 2)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("devies: 3\n", "unknown field(s) devies"),
        ("devices: 0\n", "devices must be an integer >= 1"),
        ("start: yesterday\n", "start: not an ISO-8601 time"),
        ("- 1\n", "top level must be a mapping"),
    ],
)
def test_a_bad_spec_file_is_one_line_naming_the_file(tmp_path: Path, text: str, words: str) -> None:
    path = spec_file(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_generate_spec(path)
    assert str(info.value).startswith(f"{path}: ") and words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_spec_is_a_file_or_a_name_in_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = spec_file(tmp_path, "devices: 3\n")
    monkeypatch.chdir(tmp_path / "producers")
    settings = Settings(project_dir=tmp_path)
    assert find_spec_file(settings, "sensors") == path
    assert find_spec_file(settings, "sensors.yaml") == Path("sensors.yaml")
    with pytest.raises(ConfigError, match="no generator spec 'nope'"):
        find_spec_file(settings, "nope")
