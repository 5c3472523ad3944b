# ruff: noqa: E501 - golden markup: one literal per element, exactly as browsers get it
"""The index page's exact markup for a fixed nonce and form (gallery.index_page): what
browsers get must not drift silently. The inline style and script (templates/index.css,
index.js) and the plugin's label stand as <STYLE>, <SCRIPT> and <LABEL>; the behaviour is
tested in tests/unit/gallery/test_index_page.py and, in a browser, tests/browser.

Changed on purpose for issue #18 (pages from Jinja2 templates): Jinja writes a quote as
`&#34;` and an apostrophe as `&#39;` (html.escape wrote `&quot;` and `&#x27;`: the same
characters), the page text's JSON escapes `>`, `&` and `'` as well as `<`, and the head
declares an inline icon, so that no browser asks for /favicon.ico."""

from __future__ import annotations

import pytest

from gallery import index_page, render
from gallery.index_page import Demo, Exhibits
from gallery.mcp.tools import Tool
from gallery.openai_compat import Model
from provider import i18n
from provider.app_form import FormField
from provider.errors import AppFailed, AppNotConfigured, Unauthorized

BASE = "https://d.example/e/a"
#: Every kind of field, required and not, with and without defaults and limits.
FIELDS = (
    FormField("text-input", "title", "Title <b>", required=True, default="café", max_length=20),
    FormField("text-input", "empty", "Empty"),
    FormField("paragraph", "notes", "Notes", max_length=200, default="a & b"),
    FormField("select", "tone", "Tone", required=True, default="b", options=("a", "b")),
    FormField("select", "mood", "Mood", options=("x", "y")),
    FormField("select", "size", "Size", required=True, default="z", options=("s", "m")),
    FormField("number", "count", "Count", default=3, max_length=5),  # a number has no length limit
    FormField("number", "other", "Other"),
    FormField("checkbox", "urgent", "Urgent", required=True, default=True),
    FormField("checkbox", "quiet", "Quiet", default=False),
    FormField("file", "photo", "Photo", accept="image/*"),
    FormField("file", "any", "Any"),
    FormField("file-list", "tables", "Tables", max_length=3, accept=".csv"),
    FormField("file-list", "more", "More"),
)


#: What the completion section says of Dify 1.13.2 (issue #19: the gallery says what Dify does).
COMPLETION_DEFECT = (
    '<p class="note dify-defect">Dify 1.13.2 cannot run a completion app from a plugin (a defect: its plugin '
    "invocation drops the <code>query</code> a completion app needs), so on it every run here ends with the error "
    "<code>completion_unsupported</code>. The workaround: rebuild the app as a workflow app (a Start node with the "
    "same inputs, an LLM node, an End node), choose it in <code>workflow_app</code> and run it with /workflow.</p>"
)
#: Two models (one renamed by the owner) and two tools (one titled by the owner).
EXHIBITS = Exhibits(
    models=(Model("chat", "chat", "chat_app", "app-1"), Model("team/summariser", "workflow", "workflow_app", "app-2")),
    tools=(
        Tool("chat", "Ask the chat app", "d", "chat", "chat_app", "app-1"),
        Tool("summarise_a_topic", "Summarise a topic", "d", "workflow", "workflow_app", "app-2"),
    ),
)
#: The /v1 and /mcp sections of an endpoint with a key and EXHIBITS.
EXHIBIT_SECTIONS_WITH_KEY = (
    '<section class="card" id="v1" aria-labelledby="v1-heading"><h2 id="v1-heading">OpenAI-compatible API</h2>'
    "<p>Any OpenAI client (the <code>openai</code> SDKs, Open WebUI, LangChain, …) can call this endpoint&#39;s apps: give it the base URL below and the endpoint&#39;s <code>api_key</code> as its API key. Each app chosen in the settings is one model.</p>"
    '<p class="url"><span>Base URL</span> <code>https://d.example/e/a/v1</code></p>'
    '<h3>Models</h3><ul class="names"><li><code>chat</code> — the app in <code>chat_app</code></li><li><code>team/summariser</code> — the app in <code>workflow_app</code></li></ul>'
    '<h3>With curl</h3><p class="note">Set API_KEY to the endpoint&#39;s key first: export API_KEY=…</p>'
    '<div class="curl"><pre id="v1-curl"><code>curl -N -H &#34;Authorization: Bearer $API_KEY&#34; https://d.example/e/a/v1/models\n'
    "curl -N -X POST -H &#34;Authorization: Bearer $API_KEY&#34; https://d.example/e/a/v1/chat/completions -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;model&#34;: &#34;chat&#34;, &#34;messages&#34;: [{&#34;role&#34;: &#34;user&#34;, &#34;content&#34;: &#34;Hello duck&#34;}], &#34;stream&#34;: true}&#39;</code></pre>"
    '<button type="button" class="copy" data-copy="v1-curl" aria-label="Copy the curl lines of /v1">Copy</button></div>'
    '<h3>With the openai Python SDK</h3><p class="note">Replace <code>&lt;api_key&gt;</code> with the endpoint&#39;s key.</p>'
    '<div class="curl"><pre id="v1-python"><code>from openai import OpenAI\n\n'
    "client = OpenAI(base_url=&#34;https://d.example/e/a/v1&#34;, api_key=&#34;&lt;api_key&gt;&#34;)\n"
    "print([model.id for model in client.models.list()])\n"
    "reply = client.chat.completions.create(model=&#34;chat&#34;, messages=[{&#34;role&#34;: &#34;user&#34;, &#34;content&#34;: &#34;Hello duck&#34;}])\n"
    "print(reply.choices[0].message.content)</code></pre>"
    '<button type="button" class="copy" data-copy="v1-python" aria-label="Copy the Python example">Copy</button></div>'
    "</section>"
    '<section class="card" id="mcp" aria-labelledby="mcp-heading"><h2 id="mcp-heading">MCP server</h2>'
    "<p>Any MCP client can use this endpoint&#39;s apps as tools (Streamable HTTP, with the endpoint&#39;s <code>api_key</code> as a Bearer token). Each app chosen in the settings is one tool.</p>"
    '<p class="url"><span>URL</span> <code>https://d.example/e/a/mcp</code></p>'
    '<h3>Tools</h3><ul class="names"><li><code>chat</code> — Ask the chat app</li><li><code>summarise_a_topic</code> — Summarise a topic</li></ul>'
    '<p class="note">Replace <code>&lt;api_key&gt;</code> with the endpoint&#39;s key.</p>'
    '<h3>VS Code (<code>.vscode/mcp.json</code>)</h3><div class="curl"><pre id="mcp-vscode"><code>{\n  &#34;servers&#34;: {\n    &#34;dify&#34;: {\n      &#34;type&#34;: &#34;http&#34;,\n      &#34;url&#34;: &#34;https://d.example/e/a/mcp&#34;,\n      &#34;headers&#34;: {\n        &#34;Authorization&#34;: &#34;Bearer &lt;api_key&gt;&#34;\n      }\n    }\n  }\n}</code></pre>'
    '<button type="button" class="copy" data-copy="mcp-vscode" aria-label="Copy the configuration for VS Code">Copy</button></div>'
    '<h3>Cursor (<code>.cursor/mcp.json</code>)</h3><div class="curl"><pre id="mcp-cursor"><code>{\n  &#34;mcpServers&#34;: {\n    &#34;dify&#34;: {\n      &#34;type&#34;: &#34;http&#34;,\n      &#34;url&#34;: &#34;https://d.example/e/a/mcp&#34;,\n      &#34;headers&#34;: {\n        &#34;Authorization&#34;: &#34;Bearer &lt;api_key&gt;&#34;\n      }\n    }\n  }\n}</code></pre>'
    '<button type="button" class="copy" data-copy="mcp-cursor" aria-label="Copy the configuration for Cursor">Copy</button></div>'
    '<h3>Claude Code (in a terminal)</h3><div class="curl"><pre id="mcp-claude"><code>claude mcp add --transport http dify https://d.example/e/a/mcp --header &#34;Authorization: Bearer &lt;api_key&gt;&#34;</code></pre>'
    '<button type="button" class="copy" data-copy="mcp-claude" aria-label="Copy the configuration for Claude Code">Copy</button></div>'
    "</section>"
)


#: The label the pages show, fixed here: a copy of this template renames its plugin, and
#: its label (say "Ask") may also be a word of the page's own text.
LABEL = "Golden Label 7f3a"


@pytest.fixture(autouse=True)
def fixed_label(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_page, "page_labels", lambda: {"en_US": LABEL, "zh_Hans": LABEL})


def placeholders(page: str) -> str:
    return (
        page.replace(render.asset("index.css"), "<STYLE>")
        .replace(render.asset("index.js"), "<SCRIPT>")
        .replace(LABEL, "<LABEL>")
    )


def test_page_with_a_key_and_every_field_kind_exact() -> None:
    demos = [
        Demo("duck", "chat_app", "ready"),
        Demo("workflow", "workflow_app", "ready", FIELDS),
        Demo("completion", "completion_app", "ready"),
    ]
    page = index_page.page("N0NCE", "en_US", BASE, demos, key_required=True, key="k&y", exhibits=EXHIBITS)
    assert placeholders(page) == (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title><LABEL></title><style nonce="N0NCE"><STYLE></style></head><body><main><h1><LABEL></h1>'
        '<p class="intro">This is an endpoint of the “<LABEL>” plugin for Dify: HTTP routes that call the apps chosen in its settings and stream their answers, an OpenAI-compatible API and an MCP server. Its address is https://d.example/e/a/</p>'
        '<noscript><p class="note">The live demos need JavaScript; the curl lines work without it.</p></noscript>'
        '<section class="card" aria-labelledby="key-heading"><h2 id="key-heading">API key</h2><label for="api-key">API key of this endpoint</label><input type="password" id="api-key" autocomplete="off" value="k&amp;y"><p class="note">The demos send it as Authorization: Bearer. This page never stores it.</p>'
        "</section>"
        '<section class="card" id="duck" aria-labelledby="duck-heading"><h2 id="duck-heading">Duck — a chat page</h2><p>GET or POST /duck asks the chat app in <code>chat_app</code> and streams its answer as an HTML page with a follow-up form.</p><p class="url"><span>URL</span> <code>https://d.example/e/a/duck</code></p>'
        '<h3>With curl</h3><p class="note">Set API_KEY to the endpoint&#39;s key first: export API_KEY=…</p>'
        '<div class="curl"><pre id="duck-curl"><code>curl -N -H &#34;Authorization: Bearer $API_KEY&#34; &#39;https://d.example/e/a/duck?query=Hello%20duck&#39;\ncurl -N -X POST -H &#34;Authorization: Bearer $API_KEY&#34; https://d.example/e/a/duck -d &#39;query=Hello duck&#39;</code></pre><button type="button" class="copy" data-copy="duck-curl" aria-label="Copy the curl lines of /duck">Copy</button></div>'
        "<h3>Try it</h3>"
        '<form method="get" action="duck" class="duck-form" id="duck-form"><label for="duck-query">Your question</label><div class="row"><input type="text" id="duck-query" name="query" required placeholder="Ask the duck anything"><input type="hidden" name="key" value="k&amp;y"><button type="submit">Ask the duck</button></div></form>'
        "</section>"
        '<section class="card" id="workflow" aria-labelledby="workflow-heading"><h2 id="workflow-heading">Workflow runner</h2><p>POST /workflow runs the workflow in <code>workflow_app</code>: Server-Sent Events, or blocking JSON with &#34;response_mode&#34;: &#34;blocking&#34;. GET /workflow?inputs=… is the same for EventSource.</p><p class="url"><span>URL</span> <code>https://d.example/e/a/workflow</code></p>'
        '<h3>With curl</h3><p class="note">Set API_KEY to the endpoint&#39;s key first: export API_KEY=…</p>'
        '<div class="curl"><pre id="workflow-curl"><code>curl -N -X POST -H &#34;Authorization: Bearer $API_KEY&#34; https://d.example/e/a/workflow -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;inputs&#34;: {&#34;title&#34;: &#34;café&#34;, &#34;empty&#34;: &#34;&#34;, &#34;notes&#34;: &#34;a &amp; b&#34;, &#34;tone&#34;: &#34;b&#34;, &#34;mood&#34;: &#34;x&#34;, &#34;size&#34;: &#34;z&#34;, &#34;count&#34;: 3, &#34;other&#34;: 1, &#34;urgent&#34;: true, &#34;quiet&#34;: false}}&#39;\ncurl -N -H &#34;Authorization: Bearer $API_KEY&#34; &#39;https://d.example/e/a/workflow?inputs=%7B%22title%22%3A%20%22caf%C3%A9%22%2C%20%22empty%22%3A%20%22%22%2C%20%22notes%22%3A%20%22a%20%26%20b%22%2C%20%22tone%22%3A%20%22b%22%2C%20%22mood%22%3A%20%22x%22%2C%20%22size%22%3A%20%22z%22%2C%20%22count%22%3A%203%2C%20%22other%22%3A%201%2C%20%22urgent%22%3A%20true%2C%20%22quiet%22%3A%20false%7D&#39;</code></pre><button type="button" class="copy" data-copy="workflow-curl" aria-label="Copy the curl lines of /workflow">Copy</button></div>'
        "<h3>Try it</h3>"
        '<form class="run-form" id="workflow-form" data-route="workflow"><p class="note">Fields marked * are required.</p>'
        '<div class="field"><label for="workflow-in-title">Title &lt;b&gt; <span class="req" aria-hidden="true">*</span></label><input type="text" id="workflow-in-title" name="title" data-var="title" data-kind="text-input" required maxlength="20" aria-describedby="workflow-in-title-hint" value="café"><small id="workflow-in-title-hint">at most 20 characters</small></div>'
        '<div class="field"><label for="workflow-in-empty">Empty</label><input type="text" id="workflow-in-empty" name="empty" data-var="empty" data-kind="text-input" value=""></div>'
        '<div class="field"><label for="workflow-in-notes">Notes</label><textarea id="workflow-in-notes" name="notes" data-var="notes" data-kind="paragraph" maxlength="200" aria-describedby="workflow-in-notes-hint" rows="4">a &amp; b</textarea><small id="workflow-in-notes-hint">at most 200 characters</small></div>'
        '<div class="field"><label for="workflow-in-tone">Tone <span class="req" aria-hidden="true">*</span></label><select id="workflow-in-tone" name="tone" data-var="tone" data-kind="select" required><option value="a">a</option><option value="b" selected>b</option></select></div>'
        '<div class="field"><label for="workflow-in-mood">Mood</label><select id="workflow-in-mood" name="mood" data-var="mood" data-kind="select"><option value="">(choose)</option><option value="x">x</option><option value="y">y</option></select></div>'
        '<div class="field"><label for="workflow-in-size">Size <span class="req" aria-hidden="true">*</span></label><select id="workflow-in-size" name="size" data-var="size" data-kind="select" required><option value="">(choose)</option><option value="s">s</option><option value="m">m</option></select></div>'
        '<div class="field"><label for="workflow-in-count">Count</label><input type="number" step="any" id="workflow-in-count" name="count" data-var="count" data-kind="number" value="3"></div>'
        '<div class="field"><label for="workflow-in-other">Other</label><input type="number" step="any" id="workflow-in-other" name="other" data-var="other" data-kind="number" value=""></div>'
        '<div class="field check"><input type="checkbox" id="workflow-in-urgent" name="urgent" data-var="urgent" data-kind="checkbox" checked><label for="workflow-in-urgent">Urgent <span class="req" aria-hidden="true">*</span></label></div>'
        '<div class="field check"><input type="checkbox" id="workflow-in-quiet" name="quiet" data-var="quiet" data-kind="checkbox"><label for="workflow-in-quiet">Quiet</label></div>'
        '<div class="field"><label for="workflow-in-photo">Photo</label><input type="file" id="workflow-in-photo" name="photo" data-var="photo" data-kind="file" accept="image/*"></div>'
        '<div class="field"><label for="workflow-in-any">Any</label><input type="file" id="workflow-in-any" name="any" data-var="any" data-kind="file"></div>'
        '<div class="field"><label for="workflow-in-tables">Tables</label><input type="file" id="workflow-in-tables" name="tables" data-var="tables" data-kind="file-list" data-max-files="3" aria-describedby="workflow-in-tables-hint" accept=".csv" multiple><small id="workflow-in-tables-hint">at most 3 files</small></div>'
        '<div class="field"><label for="workflow-in-more">More</label><input type="file" id="workflow-in-more" name="more" data-var="more" data-kind="file-list" multiple></div><button type="submit">Run</button></form>'
        '<div class="run" id="workflow-run" data-part="run" hidden><p class="status" role="status" data-part="status"></p>'
        '<h4>Nodes</h4><ol class="nodes" data-part="nodes"></ol>'
        '<h4>Text</h4><div class="text" data-part="text"></div>'
        '<div data-part="outputs-box" hidden>'
        '<h4>Outputs</h4><pre class="outputs" data-part="outputs"></pre></div>'
        '<div class="error" role="alert" data-part="error" hidden></div></div>'
        "</section>"
        '<section class="card" id="completion" aria-labelledby="completion-heading"><h2 id="completion-heading">Completion runner</h2><p>POST /completion runs the completion app in <code>completion_app</code>, with the same contract as /workflow.</p>'
        + COMPLETION_DEFECT
        + '<p class="url"><span>URL</span> <code>https://d.example/e/a/completion</code></p>'
        '<h3>With curl</h3><p class="note">Set API_KEY to the endpoint&#39;s key first: export API_KEY=…</p>'
        '<div class="curl"><pre id="completion-curl"><code>curl -N -X POST -H &#34;Authorization: Bearer $API_KEY&#34; https://d.example/e/a/completion -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;inputs&#34;: {}}&#39;\ncurl -N -H &#34;Authorization: Bearer $API_KEY&#34; &#39;https://d.example/e/a/completion?inputs=%7B%7D&#39;</code></pre><button type="button" class="copy" data-copy="completion-curl" aria-label="Copy the curl lines of /completion">Copy</button></div>'
        "<h3>Try it</h3>"
        '<form class="run-form" id="completion-form" data-route="completion"><p class="note">This app takes no inputs.</p><button type="submit">Run</button></form>'
        '<div class="run" id="completion-run" data-part="run" hidden><p class="status" role="status" data-part="status"></p>'
        '<h4>Answer</h4><div class="text" data-part="text"></div>'
        '<div data-part="outputs-box" hidden>'
        '<h4>Outputs</h4><pre class="outputs" data-part="outputs"></pre></div>'
        '<div class="error" role="alert" data-part="error" hidden></div></div>'
        "</section>"
        + EXHIBIT_SECTIONS_WITH_KEY
        + '<script type="application/json" id="page-text">{"running": "Running… {seconds} s", "succeeded": "Finished in {seconds} s", "failed": "Failed after {seconds} s", "run_failed": "The run failed: {message}", "refused": "The request was refused: {message}", "broken": "The connection broke: {message}", "ended_early": "The stream ended before the run finished.", "too_many_files": "Choose at most {count} files.", "node_running": "running", "copied": "Copied"}</script>'
        '<script nonce="N0NCE"><SCRIPT></script></main></body></html>\n'
    )


def test_page_of_unset_and_unreadable_apps_exact() -> None:
    demos = [
        Demo("duck", "chat_app", "unset"),
        Demo("workflow", "workflow_app", "failed", failure=AppFailed("The <app> broke.", code="app_gone", status=503)),
        Demo(
            "completion", "completion_app", "failed", failure=AppFailed("x", code="app_permission_denied", status=503)
        ),
    ]
    page = index_page.page("N0NCE", "en_US", BASE, demos, key_required=False, key=None)
    assert placeholders(page) == (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title><LABEL></title><style nonce="N0NCE"><STYLE></style></head><body><main><h1><LABEL></h1>'
        '<p class="intro">This is an endpoint of the “<LABEL>” plugin for Dify: HTTP routes that call the apps chosen in its settings and stream their answers, an OpenAI-compatible API and an MCP server. Its address is https://d.example/e/a/</p>'
        '<noscript><p class="note">The live demos need JavaScript; the curl lines work without it.</p></noscript>'
        '<section class="card" id="duck" aria-labelledby="duck-heading"><h2 id="duck-heading">Duck — a chat page</h2><p>GET or POST /duck asks the chat app in <code>chat_app</code> and streams its answer as an HTML page with a follow-up form.</p><p class="url"><span>URL</span> <code>https://d.example/e/a/duck</code></p><p class="unset" role="status">Not configured: the workspace owner has not chosen an app in the <code>chat_app</code> setting.</p>'
        "</section>"
        '<section class="card" id="workflow" aria-labelledby="workflow-heading"><h2 id="workflow-heading">Workflow runner</h2><p>POST /workflow runs the workflow in <code>workflow_app</code>: Server-Sent Events, or blocking JSON with &#34;response_mode&#34;: &#34;blocking&#34;. GET /workflow?inputs=… is the same for EventSource.</p><p class="url"><span>URL</span> <code>https://d.example/e/a/workflow</code></p><p class="unset" role="status">Not available: The &lt;app&gt; broke. (app_gone)</p>'
        "</section>"
        '<section class="card" id="completion" aria-labelledby="completion-heading"><h2 id="completion-heading">Completion runner</h2><p>POST /completion runs the completion app in <code>completion_app</code>, with the same contract as /workflow.</p>'
        + COMPLETION_DEFECT
        + '<p class="url"><span>URL</span> <code>https://d.example/e/a/completion</code></p><p class="unset" role="status">Not available: the plugin is not allowed to read apps (its manifest lacks the app permission) (app_permission_denied)</p>'
        "</section>"
        '<script type="application/json" id="page-text">{"running": "Running… {seconds} s", "succeeded": "Finished in {seconds} s", "failed": "Failed after {seconds} s", "run_failed": "The run failed: {message}", "refused": "The request was refused: {message}", "broken": "The connection broke: {message}", "ended_early": "The stream ended before the run finished.", "too_many_files": "Choose at most {count} files.", "node_running": "running", "copied": "Copied"}</script>'
        '<script nonce="N0NCE"><SCRIPT></script></main></body></html>\n'
    )


ERROR_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title><LABEL></title>'
    '<style nonce="N0NCE"><STYLE></style></head><body><main><h1><LABEL></h1>'
)
KEY_FORM = (
    '<form method="get" class="key-form"><label for="key">API key of this endpoint</label>'
    '<input type="password" id="key" name="key" required autocomplete="off" autofocus>'
    '<button type="submit">Open</button></form></main></body></html>\n'
)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("missing_api_key", "This endpoint needs its API key. Enter it to open this page."),
        ("invalid_api_key", "That API key is wrong. Enter the key set in the endpoint&#39;s settings."),
    ],
)
def test_key_error_page_exact(code: str, message: str) -> None:
    page = index_page.error_page("N0NCE", "en_US", Unauthorized("m", code=code))
    assert placeholders(page) == ERROR_HEAD + f'<div class="error" role="alert">{message}</div>' + KEY_FORM


def test_settings_error_page_exact() -> None:
    page = index_page.error_page("N0NCE", "en_US", AppNotConfigured("The `x` setting <is> wrong."))
    assert placeholders(page) == (
        ERROR_HEAD + '<div class="error" role="alert"><p>This endpoint&#39;s settings need fixing by the workspace '
        'owner:</p><p lang="en">The `x` setting &lt;is&gt; wrong. (app_not_configured)</p></div></main></body></html>\n'
    )


def test_error_pages_speak_the_visitors_language() -> None:
    page = index_page.error_page("N0NCE", "zh_Hans", Unauthorized("m", code="missing_api_key"))
    assert '<html lang="zh-Hans">' in page
    assert '<div class="error" role="alert">此端点需要 API 密钥。输入后即可打开本页面。</div>' in page
    assert '<label for="key">此端点的 API 密钥</label>' in page


def test_page_headers_exact() -> None:
    assert index_page.page_headers("N0NCE", "en_US") == {
        "Content-Security-Policy": "default-src 'none'; script-src 'nonce-N0NCE'; style-src 'nonce-N0NCE'; "
        "connect-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Language": "en",
        "Vary": "Accept-Language",
    }


def test_nonce_is_fresh_and_long() -> None:
    nonces = {index_page.new_nonce() for _ in range(5)}
    assert len(nonces) == 5
    assert all(len(nonce) == 22 for nonce in nonces)  # token_urlsafe(16): 128 bits


def test_a_script_text_with_markup_cannot_close_the_script_element(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {"copied": {"en_US": "</script><b>", "zh_Hans": "x"}}
    monkeypatch.setattr(index_page, "SCRIPT_TEXT", i18n.Catalog(texts))
    page = index_page.page("N0NCE", "en_US", BASE, [], key_required=False, key=None)
    assert (
        '<script type="application/json" id="page-text">{"copied": "\\u003c/script\\u003e\\u003cb\\u003e"}</script>'
        in page
    )


def test_page_without_a_key_exact() -> None:
    """No key: no key card, no `API_KEY` note, no hidden key field, curl lines without the header."""
    demos = [
        Demo("duck", "chat_app", "ready"),
        Demo("completion", "completion_app", "ready", (FormField("text-input", "site", "Site", default="a/b"),)),
    ]
    page = placeholders(index_page.page("N0NCE", "en_US", BASE, demos, key_required=False, key=None))
    sections = page[page.index('<section class="card" id="duck"') : page.index('<script type="application/json"')]
    assert sections == (
        '<section class="card" id="duck" aria-labelledby="duck-heading"><h2 id="duck-heading">Duck — a chat page</h2><p>GET or POST /duck asks the chat app in <code>chat_app</code> and streams its answer as an HTML page with a follow-up form.</p><p class="url"><span>URL</span> <code>https://d.example/e/a/duck</code></p>'
        "<h3>With curl</h3>"
        '<div class="curl"><pre id="duck-curl"><code>curl -N &#39;https://d.example/e/a/duck?query=Hello%20duck&#39;\ncurl -N -X POST https://d.example/e/a/duck -d &#39;query=Hello duck&#39;</code></pre><button type="button" class="copy" data-copy="duck-curl" aria-label="Copy the curl lines of /duck">Copy</button></div>'
        "<h3>Try it</h3>"
        '<form method="get" action="duck" class="duck-form" id="duck-form"><label for="duck-query">Your question</label><div class="row"><input type="text" id="duck-query" name="query" required placeholder="Ask the duck anything"><button type="submit">Ask the duck</button></div></form>'
        "</section>"
        '<section class="card" id="completion" aria-labelledby="completion-heading"><h2 id="completion-heading">Completion runner</h2><p>POST /completion runs the completion app in <code>completion_app</code>, with the same contract as /workflow.</p>'
        + COMPLETION_DEFECT
        + '<p class="url"><span>URL</span> <code>https://d.example/e/a/completion</code></p>'
        "<h3>With curl</h3>"
        '<div class="curl"><pre id="completion-curl"><code>curl -N -X POST https://d.example/e/a/completion -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;inputs&#34;: {&#34;site&#34;: &#34;a/b&#34;}}&#39;\ncurl -N &#39;https://d.example/e/a/completion?inputs=%7B%22site%22%3A%20%22a%2Fb%22%7D&#39;</code></pre><button type="button" class="copy" data-copy="completion-curl" aria-label="Copy the curl lines of /completion">Copy</button></div>'
        "<h3>Try it</h3>"
        '<form class="run-form" id="completion-form" data-route="completion">'
        '<div class="field"><label for="completion-in-site">Site</label><input type="text" id="completion-in-site" name="site" data-var="site" data-kind="text-input" value="a/b"></div><button type="submit">Run</button></form>'
        '<div class="run" id="completion-run" data-part="run" hidden><p class="status" role="status" data-part="status"></p>'
        '<h4>Answer</h4><div class="text" data-part="text"></div>'
        '<div data-part="outputs-box" hidden>'
        '<h4>Outputs</h4><pre class="outputs" data-part="outputs"></pre></div>'
        '<div class="error" role="alert" data-part="error" hidden></div></div>'
        "</section>"
    )


def test_a_keyed_page_opened_without_the_key_in_its_url_carries_an_empty_one() -> None:
    demos = [Demo("duck", "chat_app", "ready")]
    page = index_page.page("N0NCE", "en_US", BASE, demos, key_required=True, key=None)
    assert '<input type="hidden" name="key" value=""><button type="submit">Ask the duck</button>' in page
    assert '<input type="password" id="api-key" autocomplete="off" value="">' in page
