"""CORS in a real Chromium: a page on another local origin can `fetch` a stream from
`/workflow` when the endpoint's `allowed_origins` lists it, and the browser blocks it
when not. The browser, not a test's reading of headers, decides."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PageFactory, Site

#: Run in the other origin's page: POST /workflow with a JSON body (so the browser sends
#: a preflight first), read the stream chunk by chunk as it arrives.
FETCH_STREAM = """
async (url) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream"},
      body: JSON.stringify({inputs: {topic: "origins", tone: "plain"}}),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let body = "";
    let reads = 0;
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      reads += 1;
      body += decoder.decode(value, {stream: true});
    }
    return {status: response.status, reads, body};
  } catch (error) {
    return {failed: String(error)};
  }
}
"""


def _workflow_calls(site: Site) -> int:
    return site.devkit.app_calls().get("browser-form-workflow", 0)


def test_an_allowed_origin_can_fetch_a_workflow_stream(site: Site, open_page: PageFactory) -> None:
    page = open_page()
    page.page.goto(site.allowed_origin + "/", wait_until="load")
    result: dict[str, Any] = page.page.evaluate(FETCH_STREAM, site.url("b", "/workflow"))
    assert "failed" not in result, result
    assert result["status"] == 200
    assert "event: workflow_started" in result["body"]
    assert "event: text_chunk" in result["body"]
    assert "event: workflow_finished" in result["body"]
    assert result["reads"] > 1  # it arrived as a stream, piece by piece
    assert page.problems() == []


def test_an_origin_not_allowed_is_blocked_by_the_browser(site: Site, open_page: PageFactory) -> None:
    page = open_page()
    page.page.goto(site.denied_origin + "/", wait_until="load")
    calls_before = _workflow_calls(site)
    result: dict[str, Any] = page.page.evaluate(FETCH_STREAM, site.url("b", "/workflow"))
    assert result == {"failed": "TypeError: Failed to fetch"}
    # the browser says why, and the workflow never ran (the preflight was refused)
    assert any("CORS policy" in message for message in page.console_errors), page.console_errors
    assert _workflow_calls(site) == calls_before
