"""The package's public names: what `__all__` lists is what it lazily imports."""

from __future__ import annotations

import dify_plugin_devkit


def test_all_lists_exactly_the_lazily_imported_names() -> None:
    assert sorted(dify_plugin_devkit.__all__) == sorted(dify_plugin_devkit._EXPORTS)


def test_every_public_name_resolves() -> None:
    for name in dify_plugin_devkit.__all__:
        assert getattr(dify_plugin_devkit, name).__name__ == name
