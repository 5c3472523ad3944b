"""`dify-devkit package` builds the .difypkg Dify installs; the reader unpacks it safely."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from support import GOOD_PLUGIN as GOOD
from support import UV_PROJECT

from dify_plugin_devkit import _difypkg as difypkg
from dify_plugin_devkit import _package as package
from dify_plugin_devkit._cli import main
from dify_plugin_devkit._declarations import inspect_plugin
from dify_plugin_devkit._package import (
    CheckFailedError,
    ExcludedFileError,
    PackageTooLargeError,
    build_package,
)

GOOD_FILES = {
    "_assets/icon.svg",
    "endpoints/hello.py",
    "endpoints/hello.yaml",
    "endpoints/hello_post.yaml",
    "group/good.yaml",
    "main.py",
    "manifest.yaml",
    "requirements.txt",
}

#: What a developer's plugin checkout accumulates; none of it may ship.
JUNK = (
    "devkit/__init__.py",
    "devkit/daemon.py",
    "tests/test_hello.py",
    ".venv/bin/python",
    ".venv/lib/python3.12/site-packages/x.py",
    ".cache/uv-tool/bin/uv",
    ".env",
    "__pycache__/main.cpython-312.pyc",
    "endpoints/__pycache__/hello.cpython-312.pyc",
    "stray.pyc",
    ".pytest_cache/v/cache/lastfailed",
    ".hypothesis/examples/x",
    ".git/config",
    ".git/objects/ab/cdef",
    "dist/old-0.0.1.difypkg",
    "scripts/bootstrap.sh",
    ".ci/hook.sh",
    "Makefile",
    "devkit.yaml",
)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "plugin"
    shutil.copytree(GOOD, root)
    return root


def quiet(_line: str) -> None:
    """A log sink: tests read the zip, not the progress lines."""


def build(root: Path, out: Path) -> Path:
    return build_package(root, out, log=quiet)


def names(pkg: Path) -> set[str]:
    with zipfile.ZipFile(pkg) as archive:
        return set(archive.namelist())


def add(root: Path, *paths: str, text: str = "x\n") -> None:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


# --- what goes in ----------------------------------------------------------------------


def test_gitignore_is_used_when_there_is_no_difyignore(plugin: Path, tmp_path: Path) -> None:
    add(plugin, ".gitignore", text="notes/\n*.log\n")
    add(plugin, "notes/todo.txt", "debug.log", "docs/usage.md")

    assert names(build(plugin, tmp_path / "out")) == GOOD_FILES | {".gitignore", "docs/usage.md"}


def test_difyignore_replaces_gitignore_rather_than_adding_to_it(plugin: Path, tmp_path: Path) -> None:
    add(plugin, ".gitignore", text="notes/\n")
    add(plugin, ".difyignore", text="*.log\n")
    add(plugin, "notes/todo.txt", "debug.log")

    assert names(build(plugin, tmp_path / "out")) == GOOD_FILES | {
        ".gitignore",
        ".difyignore",
        "notes/todo.txt",
    }


def test_git_dir_is_excluded_even_without_an_ignore_file(plugin: Path, tmp_path: Path) -> None:
    add(plugin, ".git/HEAD", "sub/.git/config")
    assert names(build(plugin, tmp_path / "out")) == GOOD_FILES


def test_git_file_of_a_worktree_is_excluded(plugin: Path, tmp_path: Path) -> None:
    """In a `git worktree` or a submodule, `.git` is a file pointing at the real repository."""
    add(plugin, ".git", text="gitdir: /somewhere/.git/worktrees/plugin\n")
    assert names(build(plugin, tmp_path / "out")) == GOOD_FILES


def test_ignore_rules_follow_gitignore_semantics(plugin: Path, tmp_path: Path) -> None:
    add(plugin, ".difyignore", text="*.log\n!keep.log\n/build/\ndocs/**/*.tmp\n")
    add(plugin, "a.log", "keep.log", "build/x", "sub/build/y", "docs/a/b/c.tmp", "docs/c.md")

    assert names(build(plugin, tmp_path / "out")) == GOOD_FILES | {
        ".difyignore",
        "keep.log",
        "sub/build/y",
        "docs/c.md",
    }


def test_ignoring_a_file_the_plugin_needs_is_refused(plugin: Path, tmp_path: Path) -> None:
    add(plugin, ".difyignore", text="endpoints/*.py\n")
    with pytest.raises(ExcludedFileError, match=r"endpoints/hello\.py .*'endpoints/\*\.py'"):
        build(plugin, tmp_path / "out")


def test_plugin_with_check_problems_is_not_packaged(plugin: Path, tmp_path: Path) -> None:
    (plugin / "_assets" / "icon.svg").unlink()
    with pytest.raises(CheckFailedError) as caught:
        build(plugin, tmp_path / "out")
    assert [p.field for p in caught.value.problems] == ["icon"]
    assert not (tmp_path / "out").exists()


# --- requirements.txt ------------------------------------------------------------------


def test_existing_requirements_txt_is_packed_as_is(plugin: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(build(plugin, tmp_path / "out")) as archive:
        assert archive.read("requirements.txt") == (GOOD / "requirements.txt").read_bytes()


def test_requirements_txt_is_exported_from_uv_lock(plugin: Path, tmp_path: Path) -> None:
    (plugin / "requirements.txt").unlink()
    shutil.copy(UV_PROJECT / "pyproject.toml", plugin)
    shutil.copy(UV_PROJECT / "uv.lock", plugin)

    with zipfile.ZipFile(build(plugin, tmp_path / "out")) as archive:
        requirements = archive.read("requirements.txt").decode()
    assert "dify-plugin==" in requirements
    assert "pytest" not in requirements  # dev group stays out, as with the Dify CLI
    assert not (plugin / "requirements.txt").exists()  # generated into the zip only


# --- the bytes ------------------------------------------------------------------------


def test_same_tree_packs_to_identical_bytes(plugin: Path) -> None:
    out = plugin / "dist"  # inside the plugin, not in any ignore file: must not pack itself
    first = build(plugin, out).read_bytes()
    os.utime(plugin / "main.py", (1_700_000_000, 1_700_000_000))
    (plugin / "endpoints" / "hello.py").chmod(0o755)
    second = build(plugin, out).read_bytes()
    assert first == second


def test_entries_have_fixed_times_modes_and_no_extra_fields(plugin: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(build(plugin, tmp_path / "out")) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(GOOD_FILES)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_size_cap_is_refused_with_the_largest_files_named(
    plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package, "MAX_PACKAGE_BYTES", 2000)
    add(plugin, "data/big.bin", text="z" * 5000)
    with pytest.raises(PackageTooLargeError, match=r"over Dify's 2000-byte .*data/big\.bin"):
        build(plugin, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- command line ----------------------------------------------------------------------


def test_cli_prints_each_file_and_the_final_size(
    plugin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["package", str(plugin), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out.splitlines()
    listed = {line.split(" (")[0].strip() for line in out if line.startswith("  ")}
    assert listed == GOOD_FILES
    size = (tmp_path / "out" / "good_plugin-0.0.1.difypkg").stat().st_size
    assert out[-1].startswith("wrote ")
    assert f"({size} bytes, {len(GOOD_FILES)} files)" in out[-1]


def test_cli_exits_1_and_lists_problems(plugin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (plugin / "main.py").unlink()
    assert main(["package", str(plugin), "-o", str(tmp_path / "out")]) == 1
    assert "meta.runner.entrypoint" in capsys.readouterr().err


# --- unpack ----------------------------------------------------------------------------


def test_unpack_round_trip_gives_back_a_plugin_that_passes_check(plugin: Path, tmp_path: Path) -> None:
    pkg = build(plugin, tmp_path / "out")
    root = difypkg.unpack(pkg, tmp_path / "unpacked")
    unpacked = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert unpacked == GOOD_FILES
    for rel in GOOD_FILES:
        assert (root / rel).read_bytes() == (plugin / rel).read_bytes()
    assert inspect_plugin(root).problems == []


def _zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize("evil", ["../escape.txt", "/abs.txt", "a/../../escape.txt"])
def test_unpack_rejects_entries_escaping_the_destination(tmp_path: Path, evil: str) -> None:
    pkg = _zip(tmp_path / "evil.difypkg", {"manifest.yaml": "x", evil: "boom"})
    with pytest.raises(difypkg.UnsafeEntryError):
        difypkg.unpack(pkg, tmp_path / "dest" / "inner")
    assert not (tmp_path / "dest" / "escape.txt").exists()
    assert not (tmp_path / "dest" / "inner" / "manifest.yaml").exists()  # nothing written


def test_unpack_refuses_a_zip_without_a_top_level_manifest(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "nested.difypkg", {"plugin/manifest.yaml": "x"})
    with pytest.raises(difypkg.PackageFormatError, match=r"no manifest\.yaml"):
        difypkg.unpack(pkg, tmp_path / "dest")


def test_unpack_refuses_packages_over_the_cap(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "big.difypkg", {"manifest.yaml": "x" * 100})
    with pytest.raises(difypkg.PackageFormatError, match="cap"):
        difypkg.unpack(pkg, tmp_path / "dest", max_bytes=50)
