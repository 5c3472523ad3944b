"""The gallery page (`GET /`) in a real Chromium: the demo forms built from the apps'
input forms, workflow node progress live, outputs, failures, the completion stream,
EventSource on `GET /workflow`, and the Duck question box."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import ANY

import pytest
from playwright.sync_api import Locator, Page

from tests.browser.apps import FORM_WORKFLOW_VARIABLES
from tests.browser.conftest import LOCKED_KEY, PHONE, PageFactory, Site, Watched, screenshot, scrolls_sideways

#: The element each form type is, as (tag, type attribute).
CONTROLS = {
    "text-input": ("input", "text"),
    "paragraph": ("textarea", None),
    "select": ("select", None),
    "number": ("input", "number"),
    "checkbox": ("input", "checkbox"),
}


def _run_box(page: Page, route: str) -> Locator:
    return page.locator(f"#{route}-run")


def _part(page: Page, route: str, name: str) -> Locator:
    return _run_box(page, route).locator(f'[data-part="{name}"]')


def _open_gallery(page: Page, site: Site, hook_id: str = "b") -> None:
    page.goto(site.url(hook_id, "/"), wait_until="load")


def test_the_workflow_form_matches_the_apps_parameters(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site)
    form = p.locator("#workflow-form")
    assert form.locator("[data-var]").count() == len(FORM_WORKFLOW_VARIABLES)
    for variable in FORM_WORKFLOW_VARIABLES:
        name, kind = variable["name"], variable["type"]
        control = form.locator(f'[data-var="{name}"]')
        tag, input_type = CONTROLS[kind]
        assert control.evaluate("el => el.tagName.toLowerCase()") == tag, name
        assert control.get_attribute("type") == input_type, name
        # a label names it (clicking the label focuses the control: it is tied by `for`)
        label = form.locator(f'label[for="{control.get_attribute("id")}"]')
        assert variable["label"] in (label.text_content() or ""), name
        required = variable.get("required", True)
        assert ("*" in (label.text_content() or "")) == required, name
        if kind != "checkbox":
            assert (control.get_attribute("required") is not None) == required, name
        if "max_length" in variable:
            assert control.get_attribute("maxlength") == str(variable["max_length"]), name
        if kind == "select":
            options = control.locator("option").all_text_contents()
            assert [o for o in options if o in variable["options"]] == variable["options"]
        if "default" in variable:
            if kind == "checkbox":
                assert control.is_checked() == variable["default"], name
            else:
                assert control.input_value() == str(variable["default"]), name
    # the completion's form is its own app's
    assert p.locator("#completion-form [data-var]").count() == 1
    assert p.locator("#completion-form [data-var=name]").get_attribute("required") is not None
    assert page.problems() == []


def test_running_the_workflow_shows_node_progress_live_then_the_outputs(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site)
    form = p.locator("#workflow-form")
    form.locator("[data-var=topic]").fill("ponds")
    form.locator("[data-var=tone]").select_option("formal")
    form.locator("[data-var=count]").fill("5")
    form.locator("button[type=submit]").click()
    nodes = _part(p, "workflow", "nodes").locator("li")
    # one look at the run (atomic, in the page) while the LLM node streams its text
    live = p.wait_for_function(
        """() => {
             const box = document.getElementById("workflow-run");
             const part = (name) => box.querySelector(`[data-part="${name}"]`);
             const llm = part("nodes").querySelector('li[data-node-id="llm"]');
             if (!llm || llm.dataset.status !== "running" || !part("text").textContent.includes("Summary of ponds")) {
               return false;
             }
             return {
               nodes: [...part("nodes").children].map((li) => [li.dataset.nodeId, li.dataset.status]),
               outputsHidden: part("outputs-box").hidden,
               status: part("status").textContent,
             };
           }"""
    ).json_value()
    # Start is done, the LLM node runs, the run goes on ("Running… 0.4 s"), no outputs yet
    assert live == {"nodes": [["start", "succeeded"], ["llm", "running"]], "outputsHidden": True, "status": ANY}
    assert "…" in live["status"]
    # then the run ends: every node succeeded with its time, the outputs as formatted JSON
    _part(p, "workflow", "outputs-box").wait_for(state="visible")
    assert [li.get_attribute("data-node-id") for li in nodes.all()] == ["start", "llm", "end"]
    assert [li.get_attribute("data-status") for li in nodes.all()] == ["succeeded"] * 3
    assert [li.locator(".title").text_content() for li in nodes.all()] == ["Start", "LLM", "End"]
    for li in nodes.all():
        assert (li.locator(".elapsed").text_content() or "").endswith(" s")
    text = _part(p, "workflow", "text").text_content() or ""
    assert text.startswith("Summary of ponds in a formal tone, 5 points:")
    outputs_text = _part(p, "workflow", "outputs").text_content() or ""
    assert json.loads(outputs_text) == {"text": text}
    assert "\n  " in outputs_text  # formatted, not one line
    assert _part(p, "workflow", "error").is_hidden()
    assert page.problems() == []
    screenshot(p, "gallery-workflow-1280")
    p.set_viewport_size(PHONE)
    assert not scrolls_sideways(p)
    screenshot(p, "gallery-workflow-360")


@pytest.mark.parametrize(
    ("hook_id", "message"),
    [
        # its LLM node fails: node_finished and workflow_finished with status failed
        ("fails", "The model provider returned an error (simulated)."),
        # the call breaks mid-stream: the stream ends with an `error` frame
        ("breaks", "app_stream_failed"),
    ],
)
def test_a_failing_workflow_shows_its_error_in_place(site: Site, page: Watched, hook_id: str, message: str) -> None:
    p = page.page
    _open_gallery(p, site, hook_id)
    p.locator("#workflow-form button[type=submit]").click()
    error = _part(p, "workflow", "error")
    error.wait_for(state="visible")
    p.wait_for_function("() => !document.querySelector('#workflow-form button[type=submit]').disabled")
    assert message in (error.text_content() or "")
    status = _part(p, "workflow", "status").text_content() or ""
    assert "…" not in status
    assert status.rstrip().endswith(" s")  # the run's elapsed time
    assert page.problems() == []


def test_the_completion_demo_streams(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site)
    form = p.locator("#completion-form")
    form.locator("[data-var=name]").fill("Ada")
    form.locator("button[type=submit]").click()
    text = _part(p, "completion", "text")
    # one look (atomic, in the page) as soon as the first words show
    live = p.wait_for_function(
        """() => {
             const box = document.getElementById("completion-run");
             const text = box.querySelector('[data-part="text"]').textContent;
             return text.includes("Dear Ada,") && {text, status: box.querySelector('[data-part="status"]').textContent};
           }"""
    ).json_value()
    # they were there while the app was still sending the rest
    assert "COMPLETION_END" not in live["text"]
    assert "…" in live["status"]
    text.filter(has_text="COMPLETION_END").wait_for()
    assert (text.text_content() or "").startswith("Dear Ada, thank you")
    assert _part(p, "completion", "error").is_hidden()
    assert page.problems() == []


#: Run in the page: an EventSource on GET /workflow, until workflow_finished.
EVENT_SOURCE = """
async (url) => await new Promise((resolve) => {
  const seen = [];
  let text = "";
  const source = new EventSource(url);
  for (const name of ["workflow_started", "node_started", "node_finished", "text_chunk", "workflow_finished"]) {
    source.addEventListener(name, (e) => {
      seen.push(name);
      const data = JSON.parse(e.data);
      if (name === "text_chunk") text += data.data.text;
      if (name === "workflow_finished") { source.close(); resolve({seen, text, outputs: data.data.outputs}); }
    });
  }
  source.addEventListener("error", () => { source.close(); resolve({seen, text, error: true}); });
})
"""


def test_eventsource_on_get_workflow_works_in_the_browser(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site)  # the endpoint's own origin
    inputs = json.dumps({"topic": "rivers", "tone": "plain"})
    result: dict[str, Any] = p.evaluate(EVENT_SOURCE, f"workflow?inputs={inputs}")
    assert "error" not in result
    assert result["seen"][0] == "workflow_started"
    assert result["seen"][-1] == "workflow_finished"
    assert result["seen"].count("text_chunk") > 1
    assert result["text"].startswith("Summary of rivers in a plain tone")
    assert result["outputs"] == {"text": result["text"]}
    assert page.problems() == []


def test_the_duck_box_opens_the_duck_page(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site, "echo")
    p.locator("#duck-query").fill("from the gallery")
    with p.expect_navigation(wait_until="load"):
        p.locator("#duck-form button[type=submit]").click()
    assert "Turn 1: from the gallery" in (p.locator("#rendered").text_content() or "")
    assert page.problems() == []


def test_routes_without_an_app_are_shown_as_not_configured(site: Site, open_page: PageFactory) -> None:
    page = open_page(viewport=PHONE)
    p = page.page
    _open_gallery(p, site, "unset")
    for route in ("duck", "workflow", "completion"):
        assert p.locator(f"#{route} .unset").is_visible()
        assert p.locator(f"#{route} form").count() == 0
    assert not scrolls_sideways(p)
    assert page.problems() == []


def test_every_field_has_a_label_and_nothing_loads_from_elsewhere(site: Site, page: Watched) -> None:
    p = page.page
    requested: list[str] = []
    p.on("request", lambda request: requested.append(request.url))
    _open_gallery(p, site)
    unlabelled = p.evaluate(
        """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
              .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                              && !(el.tagName === "BUTTON" && el.textContent.trim()))
              .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []
    own = site.url("b")
    assert [url for url in requested if not url.startswith(own) and not url.startswith("data:")] == []
    assert page.problems() == []


def test_the_keyboard_runs_a_demo(site: Site, page: Watched) -> None:
    p = page.page
    _open_gallery(p, site)
    p.locator("#completion-form [data-var=name]").focus()
    p.keyboard.type("Keys")
    p.keyboard.press("Enter")  # a form's implicit submission
    _part(p, "completion", "text").filter(has_text="COMPLETION_END").wait_for()
    assert (_part(p, "completion", "text").text_content() or "").startswith("Dear Keys,")
    assert page.problems() == []


def test_an_endpoint_with_a_key_asks_for_it_and_the_demos_send_it_without_storing_it(site: Site, page: Watched) -> None:
    p = page.page
    response = p.goto(site.url("locked", "/"), wait_until="load")
    assert response is not None
    assert response.status == 401
    p.locator("#key").fill(LOCKED_KEY)
    with p.expect_navigation(wait_until="load"):
        p.locator("#key").press("Enter")
    assert p.locator("#api-key").input_value() == LOCKED_KEY
    p.locator("#completion-form [data-var=name]").fill("Keyholder")
    p.locator("#completion-form button[type=submit]").click()
    _part(p, "completion", "text").filter(has_text="COMPLETION_END").wait_for()
    assert _part(p, "completion", "error").is_hidden()
    # the page keeps the key nowhere
    stored = p.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    assert p.context.cookies() == []
    # a wrong key in the field: the demo shows the refusal in place
    p.locator("#api-key").fill("not-the-key")
    p.locator("#completion-form button[type=submit]").click()
    error = _part(p, "completion", "error")
    error.wait_for(state="visible")
    assert "invalid_api_key" in (error.text_content() or "")
    assert page.page_errors == []
    assert page.dialogs == []


def test_the_gallery_and_duck_follow_the_browsers_language(site: Site, open_page: PageFactory) -> None:
    page = open_page(locale="zh-CN")
    p = page.page
    _open_gallery(p, site)
    assert p.locator("html").get_attribute("lang") == "zh-Hans"
    p.locator("#workflow-form [data-var=topic]").fill("池塘")
    p.locator("#workflow-form button[type=submit]").click()
    _part(p, "workflow", "outputs-box").wait_for(state="visible")
    assert "完成" in (_part(p, "workflow", "status").text_content() or "")
    p.goto(site.url("echo", "/duck?query=你好"), wait_until="load")
    assert p.locator("html").get_attribute("lang") == "zh-Hans"
    assert "Turn 1: 你好" in (p.locator("#rendered").text_content() or "")
    assert page.problems() == []
