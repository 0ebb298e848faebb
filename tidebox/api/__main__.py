"""``python -m tidebox.api SETTINGS.json``: the endpoint process ``tidebox up`` starts."""

from __future__ import annotations

import sys
from pathlib import Path

from tidebox.api.server import serve
from tidebox.core.errors import TideboxError
from tidebox.core.settings import Settings


def main() -> int:
    try:
        settings = Settings.model_validate_json(Path(sys.argv[1]).read_text())
        serve(settings)
    except TideboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
