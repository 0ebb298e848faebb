"""A new sandbox project, written from the templates packaged with tidebox (``tidebox init``).

The project is a commented ``tidebox.yaml``, a ``.gitignore`` for the state folder, and the four
folders of user content with working examples: two jobs (one-minute windows, and anomaly scores
with RANDOM_CUT_FOREST), a generator spec, a delivery stream with its transform, and a
data-quality suite. Nothing is overwritten: if any file to
write exists, nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tidebox.core.errors import ProjectExistsError
from tidebox.templates import PROJECT

# files stored under another name in the package: setuptools' globs skip dotfiles
_RENAMED = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class WrittenProject:
    """What :func:`write_project` wrote: the project folder and its new files, relative to it."""

    folder: Path
    files: tuple[Path, ...]


def template_files() -> dict[Path, Path]:
    """Each template file by the path it takes in a new project."""
    found = {}
    for source in sorted(PROJECT.rglob("*")):
        relative = source.relative_to(PROJECT)
        if not source.is_file() or "__pycache__" in relative.parts or source.suffix == ".pyc":
            continue
        found[relative.with_name(_RENAMED.get(relative.name, relative.name))] = source
    return found


def write_project(folder: str | Path) -> WrittenProject:
    """Write a new sandbox project into ``folder`` (created if absent); ProjectExistsError,
    with nothing written, if any of its files already exists."""
    root = Path(folder).expanduser()
    if root.exists() and not root.is_dir():
        raise ProjectExistsError(str(root))
    files = template_files()
    clashes = [root / target for target in files if (root / target).exists()]
    if clashes:
        raise ProjectExistsError(str(clashes[0]), len(clashes) - 1)
    for target, source in files.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes())
    return WrittenProject(root, tuple(files))
