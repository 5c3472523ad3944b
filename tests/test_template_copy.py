"""Copying the template works as docs/template.md says, step by step.

The steps live in one place, docs/template.md: each `sh` block marked
`<!-- template-step -->`, each file shown under `<!-- template-file: PATH -->` and the
manifest keys under `<!-- template-edit: manifest.yaml -->` are read from the page and
applied, in the page's order, to a copy of this repository's tracked files. The page and
this test cannot drift: a step the page leaves out is not applied, and nothing is
applied that the page does not say. The copy (a signed webhook that runs a workflow, and
a streaming chat route) then runs what its author would: `make check`, `make lint`, the
copy's own tests (`make test`: the kit's unit tests, the shared packaging and `make dev`
tests on the copy's names, the routes' tests), `make package`, and `make fuzz`, `make soak`
and `make bench`, which must say they are skipped (their tests went with the gallery).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "template.md"

#: A marked block: the mark, then a fenced block (``` or ~~~, any info string).
_BLOCK = re.compile(
    r"^<!-- template-(?P<kind>step|file|edit)(?:: (?P<path>\S+))? -->\n"
    r"(?P<fence>`{3,}|~{3,})[^\n]*\n(?P<body>.*?)\n(?P=fence)[ \t]*$",
    re.M | re.S,
)


@dataclass(frozen=True)
class Step:
    kind: str  # "step": a sh block to run; "file": a file to write; "edit": manifest keys to replace
    path: str | None
    body: str


def documented_steps(text: str) -> list[Step]:
    """Every marked block of the guide, in order; an unmarked `template-` comment is an error."""
    steps = [Step(m["kind"], m["path"], m["body"] + "\n") for m in _BLOCK.finditer(text)]
    assert len(steps) == text.count("<!-- template-"), "a <!-- template-... --> mark is not followed by a block"
    return steps


def tracked_files(root: Path) -> list[str]:
    """What a clone of the repository holds: tracked files and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (root / name).is_file()]


def copy_repository(target: Path) -> None:
    """Step 1 (a clone without history): the files git tracks, in an empty folder."""
    for name in tracked_files(ROOT):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    # uv is installed beside this interpreter: the copy's steps and bootstrap use it, as an author's would
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def apply(step: Step, plugin: Path) -> None:
    if step.kind == "step":
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", step.body],
            cwd=plugin,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{step.body}\n{done.stdout}\n{done.stderr}"
    elif step.kind == "file":
        assert step.path is not None
        target = plugin / step.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(step.body, encoding="utf-8")
    else:
        assert step.path == "manifest.yaml", step
        manifest = yaml.safe_load((plugin / "manifest.yaml").read_text(encoding="utf-8"))
        manifest.update(yaml.safe_load(step.body))
        (plugin / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))


def make(plugin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=plugin,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_guide_marks_the_steps_a_copy_needs() -> None:
    """The guide's marked blocks: shell steps, the files of both routes, the manifest edit."""
    steps = documented_steps(GUIDE.read_text(encoding="utf-8"))
    files = {step.path for step in steps if step.kind == "file"}
    assert {"endpoints/orders.py", "endpoints/ask.py", "group/orders.yaml", "dev/devkit.yaml", "README.md"} <= files
    assert [step.path for step in steps if step.kind == "edit"] == ["manifest.yaml"]
    assert any("rm -rf gallery/" in step.body for step in steps if step.kind == "step")


def leftovers_of_the_gallery(plugin: Path) -> list[str]:
    """Files of the copy that still belong to the gallery: its packages, its routes'
    names, or code importing the gallery (a test in a folder step 2 does not delete)."""
    names = [
        str(path.relative_to(plugin)) for path in plugin.rglob("*") if path.is_file() and ".venv" not in path.parts
    ]
    found = [n for n in names if n.startswith(("gallery/", "devkit/", "docs/", "bench/"))]
    shared = {"tests/packaging/test_gallery_package.py"}  # the shared package test (its historical name)
    found += [n for n in names if re.search(r"duck|runner|preflight|openai|mcp|gallery", n) and n not in shared]
    for name in names:
        if name.endswith(".py"):
            text = (plugin / name).read_text(encoding="utf-8")
            if re.search(r"^\s*(from|import) (gallery|endpoints\.(?!orders|ask))", text, re.M):
                found.append(f"{name} imports the gallery")
    return found


@pytest.mark.timeout(1800)
def test_copy_with_a_signed_webhook_and_a_streaming_route_checks_lints_tests_and_packages(tmp_path: Path) -> None:
    plugin = tmp_path / "order-hooks"
    copy_repository(plugin)
    for step in documented_steps(GUIDE.read_text(encoding="utf-8")):
        apply(step, plugin)
    # nothing of the gallery is left: a file step 2 forgets shows up here by name
    assert leftovers_of_the_gallery(plugin) == []
    assert (plugin / "dev" / "devkit.txt").read_text().startswith("./dev/wheels/dify_plugin_devkit-")

    checked = make(plugin, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok: order_hooks 0.1.0: 2 endpoints, 5 settings" in checked.stdout, checked.stdout
    # the devkit came from the wheel (step 3), not from a folder of the copy
    installed = subprocess.run(
        [
            str(plugin / ".venv" / "bin" / "python"),
            "-c",
            "import dify_plugin_devkit; print(dify_plugin_devkit.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "/site-packages/dify_plugin_devkit/" in installed.stdout

    linted = make(plugin, "lint")
    assert linted.returncode == 0, linted.stdout + linted.stderr

    tested = make(plugin, "test", "PYTEST_ARGS=-q -rA -p no:cacheprovider")
    assert tested.returncode == 0, tested.stdout[-6000:] + tested.stderr[-3000:]
    passed = set(re.findall(r"^PASSED (\S+?)(?:\[|$| )", tested.stdout, re.M))
    for expected in (
        "tests/test_orders.py::test_a_signed_order_runs_the_workflow_and_answers_its_outputs",
        "tests/test_orders.py::test_an_unsigned_or_forged_order_is_a_401_and_runs_nothing",
        "tests/test_ask.py::test_ask_streams_the_chat_apps_answer",
        # the shared tests, on the copy's names: the signed example is sent (and printed) signed
        "tests/test_make_dev.py::test_make_dev_prints_urls_and_curl_lines_and_stops_on_ctrl_c",
        "tests/packaging/test_gallery_package.py::test_every_route_answers_from_the_package",
        "tests/packaging/test_install_like_dify.py::test_plugin_starts_from_that_environment_and_answers",
        "tests/test_plugin_checks.py::test_check_imports_the_plugin_in_the_development_venv_and_says_so",
    ):
        assert expected in passed, f"{expected} did not pass:\n{tested.stdout[-4000:]}"
    assert not re.search(r"^(FAILED|ERROR) ", tested.stdout, re.M), tested.stdout[-4000:]
    # the one skip: no translated README to check (the copy's labels are English only)
    skipped = re.findall(r"^SKIPPED .*$", tested.stdout, re.M)
    assert all("test_readmes.py" in line and "empty parameter set" in line for line in skipped), skipped

    packaged = make(plugin, "package")
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    names = set(zipfile.ZipFile(plugin / "dist" / "order_hooks-0.1.0.difypkg").namelist())
    assert {"endpoints/orders.py", "endpoints/ask.py", "group/orders.yaml", "requirements.txt"} <= names
    assert {n for n in names if n.startswith("provider/")} >= {"provider/signatures.py", "provider/apps.py"}
    assert not [n for n in names if n.split("/")[0] in {"gallery", "docs", "devkit", "tests", "dev", "bench"}]

    for target, message in [
        ("fuzz", "make fuzz: skipped: no tests/robustness/ here"),
        ("soak", "make soak: skipped: no tests/robustness/ here"),
        ("bench", "make bench: skipped: no bench/run.py here"),
    ]:
        done = make(plugin, target)
        assert done.returncode == 0, done.stdout + done.stderr
        assert message in done.stdout
