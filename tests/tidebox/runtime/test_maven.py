"""Jars are fetched once per pom content and reused after that."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidebox.core.errors import RuntimeStartError
from tidebox.runtime import maven


def test_cached_jars_are_reused_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "jars" / "flink"
    dest.mkdir(parents=True)
    (dest / "connector.jar").write_bytes(b"jar")
    digest = maven.hashlib.sha256(maven.pom_path("flink-connectors.xml").read_bytes())
    (dest / maven.MARKER).write_text(digest.hexdigest()[:16] + "\n")
    monkeypatch.setattr(maven.shutil, "which", lambda _: None)  # Maven is not even needed
    assert maven.flink_connector_jars(tmp_path) == [dest / "connector.jar"]


def test_a_changed_pom_refetches_and_a_missing_maven_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "jars" / "flink"
    dest.mkdir(parents=True)
    (dest / maven.MARKER).write_text("an-older-pom\n")
    monkeypatch.setattr(maven.shutil, "which", lambda _: None)
    with pytest.raises(RuntimeStartError, match=r"Maven \(mvn\) is not on PATH"):
        maven.flink_connector_jars(tmp_path)


def test_the_shipped_poms_pin_the_versions_the_readme_names() -> None:
    kafka = maven.pom_path("kafka-broker.xml").read_text()
    flink = maven.pom_path("flink-connectors.xml").read_text()
    assert "<kafka.version>4." in kafka
    assert "<version>5.0.0-2.2</version>" in flink


@pytest.mark.slow
def test_a_relative_state_folder_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default state folder is './.tidebox': Maven must fill it, not one beside the pom."""
    monkeypatch.chdir(tmp_path)
    jars = maven.flink_connector_jars(Path(".tidebox"))
    assert [j.name for j in jars] == ["flink-sql-connector-kafka-5.0.0-2.2.jar"]
    assert jars[0].parent == tmp_path / ".tidebox" / "jars" / "flink"
