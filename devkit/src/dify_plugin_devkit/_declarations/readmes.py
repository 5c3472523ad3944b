"""The plugin's READMEs as Dify's daemon finds them: `README.md` and `readme/README_<lang>.md`.

Dify shows a plugin's README to the workspace owner who installs it, in their
language when the plugin has one. The daemon reads `README.md` at the root as the
en_US README and every file of the `readme/` folder whose name matches
`^README_([a-z]{2}_[A-Za-z]{2,})\\.md$` as the README of that language code
(dify-plugin-daemon, pkg/plugin_packager/decoder/helper.go, AvailableI18nReadme; the
CLI's `plugin init` writes `readme/README_zh_Hans.md` the same way). Any other file
there is ignored without a word, so a misnamed translation never reaches a reader:
that is reported here. The READMEs found are part of what the package must ship.
"""

from __future__ import annotations

import re

from dify_plugin_devkit._declarations.tree import PluginTree

#: The daemon's pattern for the files of `readme/` (its readmeRegexp).
README_NAME = re.compile(r"^README_([a-z]{2}_[A-Za-z]{2,})\.md$")
README_DIR = "readme"


def check_readmes(tree: PluginTree) -> None:
    """Report files of `readme/` that Dify would ignore; record the READMEs it reads."""
    if (tree.root / "README.md").is_file():
        tree.files.add("README.md")
    folder = tree.root / README_DIR
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        rel = f"{README_DIR}/{path.name}"
        if path.is_file() and README_NAME.match(path.name):
            tree.files.add(rel)
        elif path.is_file() and not path.name.startswith("."):
            tree.problems.add(
                rel,
                "(file)",
                "Dify ignores this file: only readme/README_<language>.md files are shown to users",
                "name it after a language code Dify uses, e.g. readme/README_zh_Hans.md or readme/README_ja_JP.md",
            )
