"""Every gallery route against the apps recorded in a real Dify 1.13.2, in both install methods.

The devkit runs the recorded apps from their DSL exports
(devkit/tests/fixtures/real-dify-1.13.2/apps/, loaded by tests/fixtures/recorded_apps.yaml) and
answers as Dify 1.13.2 does (the recordings' README: "What it showed"). Where a recording holds
the text Dify streamed, the expected answer is read from the recording (`inner-api/*.frames.jsonl`),
not written here: a route that cuts, doubles or reorders what Dify sent fails against the
recording itself.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from dify_plugin_devkit.pytest_plugin import DevkitFactory
from dify_plugin_devkit.testing import MODES, RunningDevkit
from tests.conftest import FIXTURES, RECORDED, inner_api_events

RECORDINGS = RECORDED / "inner-api"
CONVERSATION = re.compile(r'name="conversation_id" value="([0-9a-f-]{36})"')
#: What the recorded failing Code nodes said (no sandbox); the config scripts the same text.
SANDBOX_DOWN = (
    "Failed to execute code, which is likely a network issue, please check if the sandbox service is running. "
    "( Error: [Errno 111] Connection refused )"
)
#: The recorded workflow run's inputs (requests.tsv, inner_wf_stream_good).
RECORDED_INPUTS = {"topic": "ducks", "notes": "n", "style": "long"}


def recorded_answer(case: str) -> str:
    """A chatflow's answer as the recording streamed it: its `message` events, joined."""
    return "".join(event["answer"] for event in inner_api_events(case) if event["event"] == "message")


def recorded_chunks(case: str) -> list[str]:
    """A workflow's End node re-stream as the recording holds it: each `text_chunk`'s text."""
    return [event["data"]["text"] for event in inner_api_events(case) if event["event"] == "text_chunk"]


@pytest.fixture(scope="module", params=MODES)
def devkit(request: pytest.FixtureRequest, dify_devkit: DevkitFactory) -> RunningDevkit:
    return dify_devkit(config=FIXTURES / "recorded_apps.yaml", mode=request.param)


def sse(
    client: httpx.Client, devkit: RunningDevkit, route: str, hook: str = "recorded", **body: Any
) -> tuple[httpx.Response, list[ServerSentEvent]]:
    with connect_sse(client, "POST", devkit.url(hook, route), json=body) as source:
        return source.response, list(source.iter_sse())


def datas(events: list[ServerSentEvent]) -> list[dict[str, Any]]:
    return [json.loads(event.data) for event in events]


def openai_client(devkit: RunningDevkit, hook: str = "recorded") -> openai.OpenAI:
    return openai.OpenAI(base_url=devkit.url(hook, "/v1"), api_key="any", max_retries=0, timeout=60)


def with_mcp[T](url: str, work: Callable[[Client], Awaitable[T]]) -> T:
    async def session() -> T:
        async with create_mcp_http_client() as http, Client(streamable_http_client(url, http_client=http)) as client:
            return await work(client)

    return asyncio.run(session())


def duck_answer(page: str) -> str:
    """The streamed (plain) answer block of a Duck page, as text (Jinja escaped it)."""
    found = re.search(r'<div class="answer" id="answer">(.*?)</div>', page, re.DOTALL)
    assert found, page[-2000:]
    return html.unescape(found.group(1))


# --- /duck: the recorded chatflow (IF/ELSE, two Answer nodes) ------------------------------


def test_duck_answers_both_branches_and_continues_the_conversation(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_chat_stream_new ("hello duck": the IF branch) then inner_chat_stream_followup
    ("second turn", same conversation: the ELSE branch). Each answer arrives in three
    `message` pieces and `message_end` comes before `workflow_finished`: the page shows
    each answer exactly once, whole, with no error block."""
    first = client.get(devkit.url("recorded", "/duck"), params={"query": "hello duck"})
    assert first.status_code == 200
    assert duck_answer(first.text) == recorded_answer("inner_chat_stream_new")
    assert "<strong>Hello!</strong> You said: hello duck" in first.text  # rendered as Markdown
    assert "&lt;b&gt;html&lt;/b&gt;" in first.text  # the answer's HTML is shown as text
    assert 'class="error"' not in first.text
    conversation_id = CONVERSATION.search(first.text).group(1)

    second = client.post(
        devkit.url("recorded", "/duck"), data={"query": "second turn", "conversation_id": conversation_id}
    )
    assert second.status_code == 200
    assert duck_answer(second.text) == recorded_answer("inner_chat_stream_followup")
    assert second.text.count("You asked: second turn") == 2  # the plain block and the rendered one, once each
    assert CONVERSATION.search(second.text).group(1) == conversation_id  # as recorded: the same conversation
    assert 'class="turn"' in second.text  # the first turn is shown above the new one
    assert 'class="error"' not in second.text


def test_duck_shows_a_failing_chatflow_as_a_failure(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_chat_fail_stream: the first Answer node streams "Thinking about hello... ", the
    Code node fails, `workflow_finished` (failed), then Dify's `error` event. The page shows
    the piece that came and the failure in the error block, never as a normal answer."""
    page = client.get(devkit.url("recorded-fails", "/duck"), params={"query": "hello"})
    assert page.status_code == 200
    assert duck_answer(page.text) == recorded_answer("inner_chat_fail_stream")
    recorded_error = next(e for e in inner_api_events("inner_chat_fail_stream") if e["event"] == "error")
    assert recorded_error["message"] == f"Run failed: {SANDBOX_DOWN}"
    assert f'<div class="error" role="alert">The app reported an error: {recorded_error["message"]}</div>' in page.text
    assert 'id="rendered"' not in page.text  # no rendered (finished) answer
    assert page.text.rstrip().endswith("</html>")


def test_duck_with_an_unknown_conversation_says_so(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_chat_unknown_conv_stream: Dify answers 400 invalid_param with an empty message."""
    unknown = "0b0e1c57-0000-4000-8000-000000000000"
    page = client.post(devkit.url("recorded", "/duck"), data={"query": "hello", "conversation_id": unknown})
    assert (RECORDINGS / "inner_chat_unknown_conv_stream.body").read_bytes().startswith(b'{"code":"invalid_param"')
    assert '<div class="answer" id="answer"></div>' in page.text
    assert (
        '<div class="error" role="alert">This conversation does not exist (or belongs to another app): '
        "leave conversation_id empty to start a new one.</div>"
    ) in page.text
    assert unknown not in page.text  # the follow-up form does not carry the dead conversation on


def test_duck_refuses_a_malformed_conversation_id_before_dify_sees_it(
    devkit: RunningDevkit, client: httpx.Client
) -> None:
    """inner_chat_bad_conv_format: Dify answers a non-UUID id with a 500 `unknown`, which
    would read as the app's failure; the route refuses it first (400), and no app runs."""
    assert (RECORDINGS / "inner_chat_bad_conv_format.headers").read_text().startswith("HTTP/1.1 500")
    before = devkit.app_calls().get("rec-chatflow", 0)
    page = client.post(devkit.url("recorded", "/duck"), data={"query": "hello", "conversation_id": "not-a-uuid"})
    assert page.status_code == 400
    assert "`conversation_id` must be the id returned with a previous answer (a UUID)" in page.text
    assert devkit.app_calls().get("rec-chatflow", 0) == before


def test_a_chat_app_without_its_model_is_the_apps_failure_not_the_callers(
    devkit: RunningDevkit, client: httpx.Client
) -> None:
    """inner_basic_stream: Dify answers 400 `invalid_param` "Failed to request plugin daemon,
    url: plugin/<tenant id>/management/models" when the app's model cannot be reached. No
    request can fix that, and the text names the tenant: the routes say the app could not
    be run (502), and the text stays in the plugin log."""
    dify_says = json.loads((RECORDINGS / "inner_basic_stream.body").read_bytes())
    assert (dify_says["status"], dify_says["code"]) == (400, "invalid_param")
    tenant = dify_says["message"].split("plugin/")[1].split("/")[0]
    page = client.get(devkit.url("recorded-no-model", "/duck"), params={"query": "hello"})
    assert '<div class="error" role="alert">The app could not be run.</div>' in page.text
    assert tenant not in page.text
    with pytest.raises(openai.APIStatusError) as raised:
        openai_client(devkit, "recorded-no-model").chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hello"}]
        )
    assert (raised.value.status_code, raised.value.code) == (502, "app_failed")  # type: ignore[attr-defined]
    assert tenant not in raised.value.response.text


# --- /workflow: the recorded workflow (topic / notes / style) -------------------------------


def test_workflow_stream_passes_the_end_nodes_text_chunks_through_unchanged(
    devkit: RunningDevkit, client: httpx.Client
) -> None:
    """inner_wf_stream_good: the End node re-streams its three outputs as `text_chunk`s with
    "\\n" chunks between them; the route passes every event on, in Dify's order."""
    response, events = sse(client, devkit, "/workflow", inputs=RECORDED_INPUTS)
    assert response.status_code == 200
    sent = datas(events)
    assert [e["event"] for e in sent] == [e["event"] for e in inner_api_events("inner_wf_stream_good")]
    assert [e.event for e in events] == [e["event"] for e in sent]  # the SSE name is Dify's event name
    chunks = [e["data"]["text"] for e in sent if e["event"] == "text_chunk"]
    assert chunks == recorded_chunks("inner_wf_stream_good") == ["n", "\n", "ducks", "\n", "long"]
    assert [e["data"]["from_variable_selector"] for e in sent if e["event"] == "text_chunk"] == [
        e["data"]["from_variable_selector"]
        for e in inner_api_events("inner_wf_stream_good")
        if e["event"] == "text_chunk"
    ]
    finished = sent[-1]["data"]
    assert finished["status"] == "succeeded"
    assert finished["outputs"] == inner_api_events("inner_wf_stream_good")[-1]["data"]["outputs"]


def test_workflow_get_for_eventsource_streams_the_same_events(devkit: RunningDevkit, client: httpx.Client) -> None:
    params = {"inputs": json.dumps(RECORDED_INPUTS)}
    with connect_sse(client, "GET", devkit.url("recorded", "/workflow"), params=params) as source:
        events = list(source.iter_sse())
    assert [e.event for e in events] == [e["event"] for e in inner_api_events("inner_wf_stream_good")]
    assert [e["data"]["text"] for e in datas(events) if e["event"] == "text_chunk"] == recorded_chunks(
        "inner_wf_stream_good"
    )


def test_workflow_blocking_answers_the_recorded_outputs(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_wf_blocking_good: `{"topic": "ducks"}` only; `style` takes the form's default."""
    response = client.post(
        devkit.url("recorded", "/workflow"), json={"inputs": {"topic": "ducks"}, "response_mode": "blocking"}
    )
    assert response.status_code == 200
    want = json.loads((RECORDINGS / "inner_wf_blocking_good.frames.jsonl").read_text().splitlines()[0])["data"]
    got = response.json()
    assert got["data"]["status"] == want["data"]["status"] == "succeeded"
    assert got["data"]["outputs"] == want["data"]["outputs"]
    assert set(got) == set(want)


def test_workflow_missing_required_input_is_400_in_difys_words(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_wf_missing_required_*: 400 "topic is required in input form". Blocking: a 400;
    streaming (the stream is open before Dify answers): the `error` frame says the same."""
    assert b"topic is required in input form" in (RECORDINGS / "inner_wf_missing_required_stream.body").read_bytes()
    message = "The app rejected the request: topic is required in input form"
    blocking = client.post(devkit.url("recorded", "/workflow"), json={"inputs": {}, "response_mode": "blocking"})
    assert blocking.status_code == 400
    assert blocking.json() == {"error": {"code": "invalid_inputs", "message": message}}
    response, events = sse(client, devkit, "/workflow", inputs={})
    assert response.status_code == 200
    assert [e.event for e in events] == ["error"]
    assert json.loads(events[0].data) == {"event": "error", "status": 400, "code": "invalid_inputs", "message": message}


def test_workflow_bad_select_value_is_400_in_difys_words(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_wf_bad_select: `style: "medium"` is not one of the select's options."""
    dify_says = json.loads((RECORDINGS / "inner_wf_bad_select.body").read_bytes())["message"]
    assert dify_says == "style in input form must be one of the following: ['short', 'long']"
    response = client.post(
        devkit.url("recorded", "/workflow"),
        json={"inputs": {"topic": "x", "style": "medium"}, "response_mode": "blocking"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_inputs", "message": f"The app rejected the request: {dify_says}"}
    }
    _, events = sse(client, devkit, "/workflow", inputs={"topic": "x", "style": "medium"})
    assert [e.event for e in events] == ["error"]
    assert json.loads(events[0].data) == {"event": "error", "status": 400, **response.json()["error"]}


def test_failing_workflow_is_passed_on_as_dify_reports_it(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_wf_fail_stream / inner_wf_fail_blocking: no `error` event; the run ends `failed`.
    The route promises (docs/reference.md) to pass that on: SSE frames ending with
    `workflow_finished` (failed), no `error` frame; blocking, Dify's 200 with `data.status: "failed"`."""
    response, events = sse(client, devkit, "/workflow", "recorded-fails", inputs={"topic": "ducks"})
    assert response.status_code == 200
    sent = datas(events)
    assert [e["event"] for e in sent] == [e["event"] for e in inner_api_events("inner_wf_fail_stream")]
    assert "error" not in [e["event"] for e in sent]
    assert (sent[-1]["data"]["status"], sent[-1]["data"]["error"]) == ("failed", SANDBOX_DOWN)

    blocking = client.post(
        devkit.url("recorded-fails", "/workflow"), json={"inputs": {"topic": "ducks"}, "response_mode": "blocking"}
    )
    assert blocking.status_code == 200
    want = inner_api_events("inner_wf_fail_blocking")[0]["data"]
    assert (blocking.json()["data"]["status"], blocking.json()["data"]["outputs"]) == (want["status"], want["outputs"])
    assert blocking.json()["data"]["error"] == want["error"] == SANDBOX_DOWN


def test_file_workflow_takes_a_real_upload(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_wf_file_tool_file: the plugin uploads the file (signed URL, `tool_file`) and the
    run sees it; the End node outputs the file and the optional `topic`."""
    content = b"Ducks quack.\n"
    files = [("document", ("notes.txt", content, "text/plain"))]
    response = client.post(
        devkit.url("recorded-files", "/workflow"),
        files=files,
        data={"inputs": json.dumps({"topic": "ducks"}), "response_mode": "blocking"},
    )
    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert result["status"] == "succeeded"
    document = result["outputs"]["document"]
    recorded_document = inner_api_events("inner_wf_file_tool_file")[0]["data"]["outputs"]["document"]
    assert set(document) == set(recorded_document)
    assert (document["filename"], document["size"], document["transfer_method"]) == (
        "notes.txt",
        len(content),
        recorded_document["transfer_method"],
    )
    assert result["outputs"]["text"] == "ducks"


def test_file_workflow_streams_with_a_real_upload(devkit: RunningDevkit, client: httpx.Client) -> None:
    """The same upload, streamed: the run's Start node and its outputs see the uploaded file.
    (The DSL allows `local_file` and `remote_url` only; the plugin's `tool_file` still works
    through the inner API, as recorded in inner_wf_file_tool_file.)"""
    content = b"%PDF-1.4 not really\n"
    files = [("document", ("report.pdf", content, "application/pdf"))]
    url = devkit.url("recorded-files", "/workflow")
    with connect_sse(client, "POST", url, files=files, data={"inputs": "{}"}) as source:
        assert source.response.status_code == 200
        sent = datas(list(source.iter_sse()))
    assert sent[-1]["event"] == "workflow_finished"
    assert sent[-1]["data"]["status"] == "succeeded"
    document = sent[-1]["data"]["outputs"]["document"]
    assert (document["filename"], document["extension"], document["size"]) == ("report.pdf", ".pdf", len(content))
    assert sent[-1]["data"]["outputs"]["text"] is None  # the optional topic was not given


def test_file_workflow_without_its_file_is_400(devkit: RunningDevkit, client: httpx.Client) -> None:
    response = client.post(devkit.url("recorded-files", "/workflow"), json={"inputs": {}, "response_mode": "blocking"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_inputs",
        "message": "The app rejected the request: document is required in input form",
    }


# --- GET /: the gallery page's demos take the recorded forms --------------------------------


def test_gallery_page_shows_the_recorded_forms(devkit: RunningDevkit, client: httpx.Client) -> None:
    """fetch_app of the recorded workflow (inner_fetch_app_workflow): topic required, max 100;
    notes a paragraph; style a select with its default."""
    page = client.get(devkit.url("recorded", "/")).text
    assert 'name="topic" data-var="topic" data-kind="text-input" required maxlength="100"' in page
    assert 'name="notes" data-var="notes" data-kind="paragraph" maxlength="2000"' in page
    assert '<option value="short" selected>short</option><option value="long">long</option>' in page
    files_page = client.get(devkit.url("recorded-files", "/")).text
    assert 'name="document" data-var="document" data-kind="file" required' in files_page


# --- /completion: the recorded completion app (Dify 1.13.2 cannot run it from a plugin) ----


def test_completion_app_is_completion_unsupported(devkit: RunningDevkit, client: httpx.Client) -> None:
    """inner_completion_stream: 500 (KeyError 'query' inside Dify)."""
    assert (RECORDINGS / "inner_completion_stream.headers").read_text().startswith("HTTP/1.1 500")
    blocking = client.post(
        devkit.url("recorded", "/completion"), json={"inputs": {"name": "Ada"}, "response_mode": "blocking"}
    )
    assert blocking.status_code == 502
    error = blocking.json()["error"]
    assert error["code"] == "completion_unsupported"
    assert "Dify 1.13.2 cannot run completion apps from a plugin" in error["message"]
    response, events = sse(client, devkit, "/completion", inputs={"name": "Ada"})
    assert response.status_code == 200
    assert [e.event for e in events] == ["error"]
    assert json.loads(events[0].data) == {"event": "error", "status": 502, **error}


def test_completion_app_is_completion_unsupported_on_v1_and_mcp(devkit: RunningDevkit) -> None:
    """/v1 and /mcp say what /completion says (the kit's apps.completion_unsupported)."""
    with pytest.raises(openai.APIStatusError) as raised:
        openai_client(devkit).chat.completions.create(model="completion", messages=[{"role": "user", "content": "Ada"}])
    assert (raised.value.status_code, raised.value.code) == (502, "completion_unsupported")  # type: ignore[attr-defined]

    async def work(client: Client) -> Any:
        return await client.call_tool("complete_text", {"name": "Ada"})

    result = with_mcp(devkit.url("recorded", "/mcp"), work)
    assert result.is_error
    assert "Dify 1.13.2 cannot run completion apps from a plugin" in result.content[0].text


# --- /v1/chat/completions: the openai SDK on the recorded chatflow and workflow --------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_openai_chat_on_the_recorded_chatflow(devkit: RunningDevkit, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": "hello duck"}]
    sdk = openai_client(devkit)
    if stream:
        chunks = list(sdk.chat.completions.create(model="chat", messages=messages, stream=True))
        assert chunks[-1].choices[0].finish_reason == "stop"
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        result = sdk.chat.completions.create(model="chat", messages=messages)
        assert result.choices[0].finish_reason == "stop"
        text = result.choices[0].message.content or ""
    assert text == recorded_answer("inner_chat_stream_new")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_openai_chat_on_the_recorded_workflow(devkit: RunningDevkit, stream: bool) -> None:
    """inner_wf_stream_good's run: the message fills `topic` (the form's first required text
    input), the other inputs come in `inputs`. Streamed, the answer is the run's text_chunks
    exactly as Dify streamed them ("\\n" between the End node's outputs), streamed or not (the
    `text` output only stands in for a run that streamed no text)."""
    messages: Any = [{"role": "user", "content": RECORDED_INPUTS["topic"]}]
    others = {"inputs": {"notes": RECORDED_INPUTS["notes"], "style": RECORDED_INPUTS["style"]}}
    sdk = openai_client(devkit)
    if stream:
        chunks = list(sdk.chat.completions.create(model="workflow", messages=messages, stream=True, extra_body=others))
        assert chunks[-1].choices[0].finish_reason == "stop"
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = (
            sdk.chat.completions.create(model="workflow", messages=messages, extra_body=others)
            .choices[0]
            .message.content
            or ""
        )
    assert text == "".join(recorded_chunks("inner_wf_stream_good")) == "n\nducks\nlong"


def test_openai_chat_follow_up_continues_the_recorded_conversation(devkit: RunningDevkit) -> None:
    """inner_chat_stream_followup: the second turn of the same Dify conversation takes the ELSE branch."""
    sdk = openai_client(devkit)
    first = sdk.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello duck"}])
    history: Any = [
        {"role": "user", "content": "hello duck"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "second turn"},
    ]
    again = sdk.chat.completions.create(model="chat", messages=history)
    assert again.choices[0].message.content == recorded_answer("inner_chat_stream_followup")


def test_openai_chat_on_failing_recorded_apps_is_an_error(devkit: RunningDevkit) -> None:
    """The failing workflow (no error event, run `failed`) is a 502 `workflow_failed`; the failing
    chatflow (`error` event after its first Answer) is a 502 `app_stream_failed`, and a stream
    that had begun ends in the error line the SDK raises (never a normal `stop`)."""
    sdk = openai_client(devkit, "recorded-fails")
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="workflow", messages=[{"role": "user", "content": "ducks"}])
    assert (raised.value.status_code, raised.value.code) == (502, "workflow_failed")  # type: ignore[attr-defined]
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello"}])
    assert (raised.value.status_code, raised.value.code) == (502, "app_stream_failed")  # type: ignore[attr-defined]
    seen: list[str] = []

    def read_stream() -> None:
        stream = sdk.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hello"}], stream=True)
        for chunk in stream:
            assert chunk.choices[0].finish_reason is None  # never a normal end
            seen.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError) as failed:
        read_stream()
    assert failed.value.code == "app_stream_failed"  # type: ignore[attr-defined]
    assert "".join(seen) == recorded_answer("inner_chat_fail_stream")


# --- /mcp: the recorded workflow's form as the tool's schema -------------------------------


def test_mcp_lists_the_recorded_workflows_form_and_calls_its_tools(devkit: RunningDevkit) -> None:
    async def work(client: Client) -> tuple[list[Any], list[Any]]:
        listed = (await client.list_tools()).tools
        results = [
            await client.call_tool("run_workflow", RECORDED_INPUTS),
            await client.call_tool("run_workflow", {"topic": "ducks", "style": "medium"}),
            await client.call_tool("chat", {"query": "hello duck"}),
        ]
        return listed, results

    listed, (workflow, bad_select, chat) = with_mcp(devkit.url("recorded", "/mcp"), work)
    tools = {tool.name: tool for tool in listed}
    schema = tools["run_workflow"].input_schema
    assert schema["required"] == ["topic"]
    assert list(schema["properties"]) == ["topic", "notes", "style"]
    assert schema["properties"]["topic"] == {"type": "string", "maxLength": 100, "description": "Topic"}
    assert schema["properties"]["notes"] == {"type": "string", "maxLength": 2000, "description": "Notes"}
    assert schema["properties"]["style"] == {
        "type": "string",
        "enum": ["short", "long"],
        "description": "Style",
        "default": "short",
    }
    # the chatflow's own form (an optional `name`, max 48: inner_fetch_app_chatflow) is the chat tool's `inputs`
    chat_schema = tools["chat"].input_schema
    assert chat_schema["required"] == ["query"]
    assert chat_schema["properties"]["inputs"]["properties"] == {
        "name": {"type": "string", "maxLength": 48, "description": "Name"}
    }
    outputs = inner_api_events("inner_wf_stream_good")[-1]["data"]["outputs"]
    assert not workflow.is_error
    assert workflow.structured_content == outputs
    assert bad_select.is_error  # checked against the form before the app runs
    assert bad_select.content[0].text == "`style` must be one of: short, long."
    assert not chat.is_error
    assert chat.content[0].text == recorded_answer("inner_chat_stream_new")


def test_mcp_chat_continues_the_recorded_conversation(devkit: RunningDevkit) -> None:
    async def work(client: Client) -> tuple[str, Any]:
        first = await client.call_tool("chat", {"query": "hello duck"})
        conversation_id = first.structured_content["conversation_id"]
        again = await client.call_tool("chat", {"query": "second turn", "conversation_id": conversation_id})
        return conversation_id, again

    conversation_id, again = with_mcp(devkit.url("recorded", "/mcp"), work)
    assert not again.is_error
    assert again.content[0].text == recorded_answer("inner_chat_stream_followup")
    assert again.structured_content["conversation_id"] == conversation_id


def test_mcp_chat_with_a_bad_or_unknown_conversation_is_a_tool_error(devkit: RunningDevkit) -> None:
    """inner_chat_bad_conv_format (500 in Dify: refused before) and inner_chat_unknown_conv_stream."""

    async def work(client: Client) -> list[Any]:
        return [
            await client.call_tool("chat", {"query": "hello", "conversation_id": conversation})
            for conversation in ("not-a-uuid", "0b0e1c57-0000-4000-8000-000000000000")
        ]

    malformed, unknown = with_mcp(devkit.url("recorded", "/mcp"), work)
    assert malformed.is_error
    assert malformed.content[0].text.startswith("`conversation_id` must be the id returned with a previous answer")
    assert unknown.is_error
    assert unknown.content[0].text.startswith("This conversation does not exist")


def test_mcp_progress_carries_the_recorded_text_chunks_unchanged(devkit: RunningDevkit) -> None:
    """Each text_chunk of the run, "\\n" ones included, is one progress message, in order."""
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async def work(client: Client) -> Any:
        return await client.call_tool("run_workflow", RECORDED_INPUTS, progress_callback=on_progress)

    result = with_mcp(devkit.url("recorded", "/mcp"), work)
    assert not result.is_error
    chunks = [m for m in progress if m is not None and not m.startswith(("Workflow ", "Node "))]
    assert chunks == recorded_chunks("inner_wf_stream_good")
    assert progress[0] == "Workflow started."
    assert progress[-1] == "Workflow succeeded."


def test_mcp_failing_recorded_apps_are_tool_errors(devkit: RunningDevkit) -> None:
    async def work(client: Client) -> list[Any]:
        return [
            await client.call_tool("run_workflow", {"topic": "ducks"}),
            await client.call_tool("chat", {"query": "hello"}),
        ]

    workflow, chat = with_mcp(devkit.url("recorded-fails", "/mcp"), work)
    assert workflow.is_error
    assert workflow.content[0].text == f"The workflow run ended failed: {SANDBOX_DOWN}."
    assert chat.is_error
    assert chat.content[0].text == f"The app failed: Run failed: {SANDBOX_DOWN}"
