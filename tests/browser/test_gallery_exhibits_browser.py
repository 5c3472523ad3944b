"""The gallery page's OpenAI-compatible and MCP sections in a real Chromium: visible and
readable at desktop and phone widths, the curl lines copied with the page's own Copy
button run as printed against the devkit; and the completion demo on a Dify 1.13.2
(the devkit's default quirks) shows why it cannot run and what to do instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import ViewportSize

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import RunningDevkit
from tests.browser.conftest import DESKTOP, LOCKED_KEY, PHONE, PageFactory, Site, Watched, screenshot, scrolls_sideways
from tests.conftest import manifest, run_curl_line

#: The sections' snippets, each with its Copy button.
SNIPPETS = ("v1-curl", "v1-python", "mcp-vscode", "mcp-cursor", "mcp-claude")


@pytest.fixture(scope="module")
def dify_1_13_2(dify_devkit: DevkitFactory) -> RunningDevkit:
    """The gallery as Dify 1.13.2 runs it (no `dify:` override: its quirks are on), with a
    completion app: every plugin call of it fails there."""
    endpoints = [{"hook_id": "old", "settings": {"completion_app": "demo-completion"}}]
    return dify_devkit(config={"endpoints": endpoints})


@pytest.fixture(scope="module")
def broken_storage(dify_devkit: DevkitFactory, tmp_path_factory: pytest.TempPathFactory) -> RunningDevkit:
    """The gallery behind a devkit whose file storage fails (as tests/endpoints/conftest.py
    makes it): every upload is refused, so /workflow answers a 502 JSON error before any stream."""
    state = tmp_path_factory.mktemp("broken-storage-browser")
    plugin = state / manifest()["author"] / manifest()["name"]
    plugin.mkdir(parents=True)
    (plugin / "files").write_text("not a folder: every upload fails")
    endpoints = [{"hook_id": "files", "settings": {"workflow_app": "demo-file-echo"}}]
    return dify_devkit(config={"state_dir": str(state), "endpoints": endpoints})


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "360"])
def test_the_openai_and_mcp_sections_show_at_desktop_and_phone_widths(
    site: Site, open_page: PageFactory, viewport: ViewportSize
) -> None:
    page = open_page(viewport=viewport)
    p = page.page
    p.goto(site.url("b", "/"), wait_until="load")
    base = site.url("b")
    for section, url in (("v1", f"{base}/v1"), ("mcp", f"{base}/mcp")):
        card = p.locator(f"#{section}")
        card.scroll_into_view_if_needed()
        assert card.is_visible()
        assert card.locator("p.url code").text_content() == url
    # one model and one tool per app of the instance, in the settings' order
    assert p.locator("#v1 ul.names li > code:first-child").all_text_contents() == ["chat", "workflow", "completion"]
    assert p.locator("#mcp ul.names li > code:first-child").all_text_contents() == [
        "chat",
        "run_workflow",
        "complete_text",
    ]
    for ident in SNIPPETS:
        snippet = p.locator(f"#{ident}")
        snippet.scroll_into_view_if_needed()
        assert snippet.is_visible(), ident
        assert p.locator(f'button.copy[data-copy="{ident}"]').is_visible(), ident
        # the snippet wraps inside its card, never wider than the page
        box = snippet.bounding_box()
        assert box is not None
        assert box["x"] >= 0, ident
        assert box["x"] + box["width"] <= viewport["width"], ident
    assert not scrolls_sideways(p)
    assert page.problems() == []
    screenshot(p, f"gallery-exhibits-{viewport['width']}")


@pytest.mark.parametrize(("hook_id", "key"), [("b", None), ("locked", LOCKED_KEY)])
def test_the_copied_curl_lines_run_as_printed(
    site: Site, open_page: PageFactory, hook_id: str, key: str | None
) -> None:
    """The Copy button puts the lines on the clipboard; each runs in bash as it is (the
    key, when the endpoint has one, from $API_KEY as the page says) and is answered 200."""
    origin = site.url(hook_id).split("/e/", 1)[0]
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    page.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    p = page.page
    p.goto(site.url(hook_id, "/") + (f"?key={key}" if key else ""), wait_until="load")
    button = p.locator('button.copy[data-copy="v1-curl"]')
    button.click()
    p.wait_for_function("() => document.querySelector('button.copy[data-copy=\"v1-curl\"]').textContent === 'Copied'")
    copied: str = p.evaluate("() => navigator.clipboard.readText()")
    lines = copied.splitlines()
    assert lines == (p.locator("#v1-curl").text_content() or "").splitlines()
    assert len(lines) == 2
    assert all(("$API_KEY" in line) == (key is not None) for line in lines)
    assert LOCKED_KEY not in copied
    env = {**os.environ, "API_KEY": key or ""}
    for line in lines:
        done = run_curl_line(line, env)
        assert done.stdout == "200", f"{line}\n{done.stderr}"
    assert page.problems() == []


def test_a_completion_demo_on_dify_1_13_2_shows_the_defect_and_the_workaround(
    dify_1_13_2: RunningDevkit, open_page: PageFactory
) -> None:
    page = open_page(viewport=PHONE)
    p = page.page
    p.goto(dify_1_13_2.url("old", "/"), wait_until="load")
    # the section says so before anyone runs it
    note = p.locator("#completion .dify-defect")
    assert note.is_visible()
    assert "completion_unsupported" in (note.text_content() or "")
    # and the run shows the kit's message in place: the defect and the workaround
    p.locator("#completion-form [data-var=name]").fill("Ada")
    p.locator("#completion-form button[type=submit]").click()
    error = p.locator('#completion-run [data-part="error"]')
    error.wait_for(state="visible")
    p.wait_for_function("() => !document.querySelector('#completion-form button[type=submit]').disabled")
    text = error.text_content() or ""
    assert text.startswith("The run failed: Dify could not run the completion app set in `completion_app`.")
    assert "Dify 1.13.2 cannot run completion apps from a plugin" in text
    assert "rebuild the app as a workflow app" in text
    assert text.endswith("(completion_unsupported)")
    assert not scrolls_sideways(p)
    assert page.problems() == []
    screenshot(p, "gallery-completion-dify-1-13-2-360")


def test_a_server_error_before_the_stream_reads_as_a_failed_run_not_a_refusal(
    broken_storage: RunningDevkit, page: Watched, tmp_path: Path
) -> None:
    """A 5xx JSON error (here Dify refusing the upload: 502 `file_upload_failed`) is the
    run failing, not the request being refused (a 4xx), and says what the server said."""
    document = tmp_path / "report.txt"
    document.write_text("ducks")
    p = page.page
    p.goto(broken_storage.url("files", "/"), wait_until="load")
    p.locator("#workflow-form [data-var=document]").set_input_files(str(document))
    p.locator("#workflow-form button[type=submit]").click()
    error = p.locator('#workflow-run [data-part="error"]')
    error.wait_for(state="visible")
    text = error.text_content() or ""
    assert text.startswith("The run failed: `document`: report.txt could not be uploaded to Dify")
    assert text.endswith("(file_upload_failed)")
    assert page.page_errors == []
    assert page.dialogs == []
