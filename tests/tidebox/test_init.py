"""The Python API: everything the CLI does is reachable from ``import tidebox``."""

from __future__ import annotations

import pytest

import tidebox


def test_query_is_the_function_even_after_its_module_is_imported() -> None:
    import sys

    import tidebox.lake.query  # the submodule, once more

    assert callable(tidebox.query)
    assert tidebox.query is sys.modules["tidebox.lake.query"].query


@pytest.mark.parametrize("name", tidebox.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(tidebox, name) is not None


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = tidebox.no_such_thing
