# ruff: noqa: E501, RUF001 - exact markup: one literal per element, exactly as browsers get it (Chinese punctuation included)
"""The gallery page's `/v1` and `/mcp` sections (gallery.index_page.Exhibits): the models
and tools the settings give, the examples (curl, the `openai` SDK, MCP clients' config)
exact in both languages, a key never printed, owner text escaped; and the completion
section's note on Dify 1.13.2 (issue #19)."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from gallery import index_page
from gallery.index_page import Demo, Exhibits
from gallery.mcp.tools import Tool
from gallery.openai_compat import Model
from provider import i18n
from provider.errors import AppNotConfigured
from provider.settings import EndpointSettings

BASE = "https://d.example/e/a"
HOSTILE = "<img src=x onerror=alert(1)>"
KEY = "k3y-n0t-to-print"
CHAT = Model("chat", "chat", "chat_app", "app-1")
WORKFLOW = Model("workflow", "workflow", "workflow_app", "app-2")


@pytest.fixture(autouse=True)
def fixed_label(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_page, "page_labels", lambda: {"en_US": "Label", "zh_Hans": "Label"})


def sections(ex: Exhibits, *, lang: i18n.Language = "en_US", key: str | None = None) -> str:
    """The page's `/v1` and `/mcp` sections (after the demos, before the script)."""
    page = index_page.page("N", lang, BASE, [], key_required=key is not None, key=key, exhibits=ex)
    return page[page.index('<section class="card" id="v1"') : page.index('<script type="application/json"')]


def app(app_id: str) -> dict[str, str]:
    return {"app_id": app_id, "app_mode": "x"}


def exhibits_of(settings: dict[str, Any]) -> Exhibits:
    return index_page.exhibits(settings, EndpointSettings.parse(settings))


# --- what the settings give ----------------------------------------------------------


def test_exhibits_are_what_v1_and_mcp_serve_for_the_settings() -> None:
    ex = exhibits_of(
        {
            "chat_app": app("c"),
            "completion_app": app("p"),
            "openai_model_names": "completion=letters",
            "mcp_completion_tool_title": "Write a letter",
        }
    )
    assert [(m.id, m.setting, m.app_id) for m in ex.models] == [
        ("chat", "chat_app", "c"),
        ("letters", "completion_app", "p"),
    ]
    assert [(t.name, t.title) for t in ex.tools] == [("chat", "Ask the chat app"), ("write_a_letter", "Write a letter")]
    assert (ex.models_failure, ex.tools_failure) == (None, None)


def test_a_setting_that_refuses_is_that_sections_failure_and_the_other_still_lists() -> None:
    ex = exhibits_of(
        {
            "chat_app": app("c"),
            "workflow_app": app("w"),
            "openai_model_names": "chat=<b>",
            "mcp_chat_tool_title": "Run it",
            "mcp_workflow_tool_title": "run IT!",
        }
    )
    assert ex.models == ()
    assert isinstance(ex.models_failure, AppNotConfigured)
    assert ex.tools == ()
    assert isinstance(ex.tools_failure, AppNotConfigured)
    html = sections(ex)
    assert (
        '<p class="unset" role="status">Not available: The endpoint&#39;s <code>openai_model_names</code> setting must be like'
        in html
    )
    assert "(app_not_configured)</p>" in html
    assert (
        "<code>run_it</code>, which another app&#39;s tool has: choose another title. (app_not_configured)</p>" in html
    )
    assert "<pre" not in html  # no example for what cannot work


def test_no_app_no_models_no_tools_and_no_examples_exact() -> None:
    assert sections(exhibits_of({})) == (
        '<section class="card" id="v1" aria-labelledby="v1-heading"><h2 id="v1-heading">OpenAI-compatible API</h2>'
        "<p>Any OpenAI client (the <code>openai</code> SDKs, Open WebUI, LangChain, …) can call this endpoint&#39;s apps: give it the base URL below and the endpoint&#39;s <code>api_key</code> as its API key. Each app chosen in the settings is one model.</p>"
        '<p class="url"><span>Base URL</span> <code>https://d.example/e/a/v1</code></p>'
        '<p class="unset" role="status">No models: the workspace owner has not chosen any app in the endpoint&#39;s settings.</p></section>'
        '<section class="card" id="mcp" aria-labelledby="mcp-heading"><h2 id="mcp-heading">MCP server</h2>'
        "<p>Any MCP client can use this endpoint&#39;s apps as tools (Streamable HTTP, with the endpoint&#39;s <code>api_key</code> as a Bearer token). Each app chosen in the settings is one tool.</p>"
        '<p class="url"><span>URL</span> <code>https://d.example/e/a/mcp</code></p>'
        '<p class="unset" role="status">No tools: the workspace owner has not chosen any app in the endpoint&#39;s settings.</p></section>'
    )


def test_without_exhibits_the_page_has_no_such_sections() -> None:
    page = index_page.page("N", "en_US", BASE, [], key_required=False, key=None)
    assert 'id="v1"' not in page
    assert 'id="mcp"' not in page


# --- the examples ---------------------------------------------------------------------


def test_openai_curl_lines_without_a_key_exact_and_their_body_is_the_chat_models() -> None:
    lines = index_page.openai_curl_lines(BASE, [WORKFLOW, CHAT], with_key=False)
    assert lines == [
        "curl -N https://d.example/e/a/v1/models",
        "curl -N -X POST https://d.example/e/a/v1/chat/completions -H 'Content-Type: application/json' "
        """-d '{"model": "chat", "messages": [{"role": "user", "content": "Hello duck"}], "stream": true}'""",
    ]


def test_the_examples_call_the_first_model_when_there_is_no_chat_app() -> None:
    line = index_page.openai_curl_lines(BASE, [WORKFLOW], with_key=True)[1]
    argv = shlex.split(line)
    assert argv[:6] == ["curl", "-N", "-X", "POST", "-H", "Authorization: Bearer $API_KEY"]
    assert json.loads(argv[argv.index("-d") + 1])["model"] == "workflow"
    assert 'model="workflow"' in index_page.openai_python(BASE, [WORKFLOW], with_key=True)


def test_an_odd_base_url_and_model_stay_one_shell_word_and_one_python_string() -> None:
    base = 'https://d.example/e/it\'s "odd"'
    model = Model("it's", "chat", "chat_app", "a")
    argv = shlex.split(index_page.openai_curl_lines(base, [model], with_key=False)[1])
    assert argv[4] == base + "/v1/chat/completions"
    assert json.loads(argv[-1])["model"] == "it's"
    python = index_page.openai_python(base, [model], with_key=False)
    compile(python, "example", "exec")  # valid Python
    assert f'base_url={json.dumps(base + "/v1")}, api_key="none"' in python
    assert shlex.split(index_page.mcp_configs(base, with_key=False)["claude"])[-1] == base + "/mcp"


def test_mcp_configs_without_a_key_have_no_header_exact() -> None:
    configs = index_page.mcp_configs(BASE, with_key=False)
    assert json.loads(configs["vscode"]) == {"servers": {"dify": {"type": "http", "url": f"{BASE}/mcp"}}}
    assert json.loads(configs["cursor"]) == {"mcpServers": {"dify": {"type": "http", "url": f"{BASE}/mcp"}}}
    assert configs["claude"] == "claude mcp add --transport http dify https://d.example/e/a/mcp"


def test_mcp_configs_with_a_key_carry_the_placeholder() -> None:
    configs = index_page.mcp_configs(BASE, with_key=True)
    entry = {"type": "http", "url": f"{BASE}/mcp", "headers": {"Authorization": "Bearer <api_key>"}}
    assert json.loads(configs["vscode"]) == {"servers": {"dify": entry}}
    assert json.loads(configs["cursor"]) == {"mcpServers": {"dify": entry}}
    assert shlex.split(configs["claude"]) == [
        "claude", "mcp", "add", "--transport", "http", "dify", f"{BASE}/mcp", "--header", "Authorization: Bearer <api_key>",
    ]  # fmt: skip


def test_the_page_never_prints_the_key_it_was_opened_with() -> None:
    ex = Exhibits(models=(CHAT,), tools=(Tool("chat", "Ask", "d", "chat", "chat_app", "app-1"),))
    html = sections(ex, key=KEY)
    assert KEY not in html
    assert html.count("&lt;api_key&gt;") == 6  # the SDK, 3 MCP configs, and the two notes that say to replace it
    assert html.count("$API_KEY") == 2  # both curl lines read it from the environment


# --- escaping ---------------------------------------------------------------------------


def test_an_owners_hostile_tool_title_and_model_name_are_text() -> None:
    ex = exhibits_of({"chat_app": app("c"), "mcp_chat_tool_title": HOSTILE})
    assert ex.tools[0].name == "img_src_x_onerror_alert_1"
    html = sections(Exhibits(models=(Model(HOSTILE, "chat", "chat_app", "c"),), tools=ex.tools))
    assert "<img" not in html
    assert "<li><code>img_src_x_onerror_alert_1</code> — &lt;img src=x onerror=alert(1)&gt;</li>" in html
    assert "<li><code>&lt;img src=x onerror=alert(1)&gt;</code> — the app in <code>chat_app</code></li>" in html
    assert "&#34;model&#34;: &#34;&lt;img src=x onerror=alert(1)&gt;&#34;" in html  # in the curl body too


def test_a_hostile_base_url_is_text_in_every_example() -> None:
    base = 'https://d.example/e/"><script>alert(1)</script>'
    page = index_page.page(
        "N", "en_US", base, [], key_required=False, key=None, exhibits=Exhibits(models=(CHAT,), tools=())
    )
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/v1" in page


# --- both languages -----------------------------------------------------------------------


def test_the_sections_in_simplified_chinese_exact() -> None:
    ex = Exhibits(models=(CHAT,), tools=(Tool("chat", "Ask the chat app", "d", "chat", "chat_app", "app-1"),))
    assert sections(ex, lang="zh_Hans") == (
        '<section class="card" id="v1" aria-labelledby="v1-heading"><h2 id="v1-heading">OpenAI 兼容 API</h2>'
        "<p>任何 OpenAI 客户端（<code>openai</code> SDK、Open WebUI、LangChain 等）都可以调用此端点的应用：把下面的 Base URL 填给它，API 密钥填端点的 <code>api_key</code>。设置中选定的每个应用就是一个模型。</p>"
        '<p class="url"><span>Base URL</span> <code>https://d.example/e/a/v1</code></p>'
        '<h3>模型</h3><ul class="names"><li><code>chat</code> — <code>chat_app</code> 中的应用</li></ul>'
        "<h3>使用 curl</h3>"
        '<div class="curl"><pre id="v1-curl"><code>curl -N https://d.example/e/a/v1/models\n'
        "curl -N -X POST https://d.example/e/a/v1/chat/completions -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;model&#34;: &#34;chat&#34;, &#34;messages&#34;: [{&#34;role&#34;: &#34;user&#34;, &#34;content&#34;: &#34;Hello duck&#34;}], &#34;stream&#34;: true}&#39;</code></pre>"
        '<button type="button" class="copy" data-copy="v1-curl" aria-label="复制 /v1 的 curl 命令">复制</button></div>'
        "<h3>使用 openai Python SDK</h3>"
        '<div class="curl"><pre id="v1-python"><code>from openai import OpenAI\n\n'
        "client = OpenAI(base_url=&#34;https://d.example/e/a/v1&#34;, api_key=&#34;none&#34;)\n"
        "print([model.id for model in client.models.list()])\n"
        "reply = client.chat.completions.create(model=&#34;chat&#34;, messages=[{&#34;role&#34;: &#34;user&#34;, &#34;content&#34;: &#34;Hello duck&#34;}])\n"
        "print(reply.choices[0].message.content)</code></pre>"
        '<button type="button" class="copy" data-copy="v1-python" aria-label="复制 Python 示例">复制</button></div>'
        "</section>"
        '<section class="card" id="mcp" aria-labelledby="mcp-heading"><h2 id="mcp-heading">MCP 服务器</h2>'
        "<p>任何 MCP 客户端都可以把此端点的应用用作工具（Streamable HTTP，以端点的 <code>api_key</code> 作为 Bearer 令牌）。设置中选定的每个应用就是一个工具。</p>"
        '<p class="url"><span>地址</span> <code>https://d.example/e/a/mcp</code></p>'
        '<h3>工具</h3><ul class="names"><li><code>chat</code> — Ask the chat app</li></ul>'
        '<h3>VS Code（<code>.vscode/mcp.json</code>）</h3><div class="curl"><pre id="mcp-vscode"><code>{\n  &#34;servers&#34;: {\n    &#34;dify&#34;: {\n      &#34;type&#34;: &#34;http&#34;,\n      &#34;url&#34;: &#34;https://d.example/e/a/mcp&#34;\n    }\n  }\n}</code></pre>'
        '<button type="button" class="copy" data-copy="mcp-vscode" aria-label="复制 VS Code 的配置">复制</button></div>'
        '<h3>Cursor（<code>.cursor/mcp.json</code>）</h3><div class="curl"><pre id="mcp-cursor"><code>{\n  &#34;mcpServers&#34;: {\n    &#34;dify&#34;: {\n      &#34;type&#34;: &#34;http&#34;,\n      &#34;url&#34;: &#34;https://d.example/e/a/mcp&#34;\n    }\n  }\n}</code></pre>'
        '<button type="button" class="copy" data-copy="mcp-cursor" aria-label="复制 Cursor 的配置">复制</button></div>'
        '<h3>Claude Code（在终端中运行）</h3><div class="curl"><pre id="mcp-claude"><code>claude mcp add --transport http dify https://d.example/e/a/mcp</code></pre>'
        '<button type="button" class="copy" data-copy="mcp-claude" aria-label="复制 Claude Code 的配置">复制</button></div>'
        "</section>"
    )


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en_US", "Dify 1.13.2 cannot run a completion app from a plugin"),
        ("zh_Hans", "Dify 1.13.2 无法从插件运行文本生成应用"),
    ],
)
@pytest.mark.parametrize("state", ["ready", "unset"])
def test_the_completion_section_says_what_dify_1_13_2_does_and_the_workaround(
    lang: i18n.Language, text: str, state: str
) -> None:
    demo = Demo("completion", "completion_app", "ready" if state == "ready" else "unset")
    page = index_page.page("N", lang, BASE, [demo], key_required=False, key=None)
    note = page.split('<p class="note dify-defect">', 1)[1].split("</p>", 1)[0]
    assert note.startswith(text)
    assert "<code>completion_unsupported</code>" in note
    assert "<code>workflow_app</code>" in note
