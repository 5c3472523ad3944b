"""gallery.index_page and provider.app_form: the gallery's HTML, URLs and curl lines,
and the app's input form read from fetch_app's parameters (no plugin process needed)."""

from __future__ import annotations

import html
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request
from werkzeug.test import EnvironBuilder

from gallery import index_page
from gallery.index_page import Demo
from provider import app_form, http
from provider.app_form import FormField
from provider.errors import AppFailed, AppNotConfigured, Unauthorized
from tests.conftest import manifest as manifest_of_this_plugin
from tests.unit.fakes import FakeFetchApp, fake_session

HOSTILE = "<img src=x onerror=alert(1)>"


def request(path: str = "/", headers: list[tuple[str, str]] | None = None) -> Request:
    return Request(EnvironBuilder(path=path, headers=headers or [], base_url="http://10.0.0.5:5002").get_environ())


# --- public URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook_url", "path", "base"),
    [
        ("https://dify.example/e/abc/", "/", "https://dify.example/e/abc"),
        ("http://dify.example:8080/e/abc/", "/", "http://dify.example:8080/e/abc"),
        ("https://dify.example/e/abc/gallery", "/gallery", "https://dify.example/e/abc"),
        ("https://proxy.example/e/abc", "/", "https://proxy.example/e/abc"),
        ("https://dify.example/e/abc/?x=1#y", "/", "https://dify.example/e/abc"),
    ],
)
def test_public_base_is_the_hook_url_without_the_route(hook_url: str, path: str, base: str) -> None:
    assert index_page.public_base(request(path, [("Dify-Hook-Url", hook_url)])) == base


@pytest.mark.parametrize("hook_url", ["", "javascript:alert(1)//", "/e/abc/", "https://"])
def test_public_base_without_a_usable_hook_url_falls_back_to_host_and_hook_id(hook_url: str) -> None:
    r = request("/", [("Dify-Hook-Url", hook_url), ("Dify-Hook-Id", "abc")])
    assert index_page.public_base(r) == "http://10.0.0.5:5002/e/abc"


# --- the app's form -----------------------------------------------------------------


def parameters(*items: dict[str, Any]) -> dict[str, Any]:
    return {"user_input_form": list(items), "opening_statement": ""}


def test_parse_form_reads_every_field_type_in_order() -> None:
    fields = app_form.parse_form(
        parameters(
            {"text-input": {"variable": "t", "label": "Title", "required": True, "max_length": 20, "default": "x"}},
            {"paragraph": {"variable": "p", "label": "", "required": False, "max_length": 0}},
            {"select": {"variable": "s", "label": "S", "options": ["a", "b"], "default": "b"}},
            {"number": {"variable": "n", "label": "N", "default": 3}},
            {"checkbox": {"variable": "c", "label": "C", "default": True}},
            {"file": {"variable": "f", "label": "F", "allowed_file_types": ["image", "audio"]}},
            {
                "file-list": {
                    "variable": "fl",
                    "label": "FL",
                    "max_length": 3,
                    "allowed_file_types": ["custom"],
                    "allowed_file_extensions": [".CSV", "tsv", ""],
                }
            },
        )
    )
    assert [(f.kind, f.variable) for f in fields] == [
        ("text-input", "t"), ("paragraph", "p"), ("select", "s"), ("number", "n"),
        ("checkbox", "c"), ("file", "f"), ("file-list", "fl"),
    ]  # fmt: skip
    assert fields[0] == FormField("text-input", "t", "Title", required=True, default="x", max_length=20)
    assert fields[1].label == "p"  # no label: the variable name
    assert fields[1].max_length is None
    assert fields[2].options == ("a", "b")
    assert fields[5].accept == ".jpg,.jpeg,.png,.webp,.gif,.svg,image/*,.mp3,.m4a,.wav,.amr,.mpga,audio/*"
    assert fields[5].file_types == ("image", "audio")
    assert fields[6].accept == ".csv,.tsv"
    assert fields[6].file_extensions == ("csv", "tsv")
    assert fields[6].max_length == 3


@pytest.mark.parametrize(
    "form",
    [
        None,
        "x",
        [None, "x", {}, {"a": 1, "b": 2}, {"text-input": "x"}, {"text-input": {"label": "no variable"}}],
    ],
)
def test_parse_form_skips_what_it_cannot_use(form: object) -> None:
    assert app_form.parse_form({"user_input_form": form}) == []


def test_an_unknown_field_type_becomes_a_text_input() -> None:
    (field,) = app_form.parse_form(parameters({"json_object": {"variable": "j", "label": "J"}}))
    assert field.kind == "text-input"


def test_document_files_accept_difys_document_extensions() -> None:
    accept = app_form.file_accept(["document"], [])
    assert ".pdf" in accept.split(",")
    assert ".docx" in accept.split(",")
    assert app_form.file_accept([], []) == ""


def test_example_inputs_fill_every_non_file_field() -> None:
    fields = app_form.parse_form(
        parameters(
            {"text-input": {"variable": "topic", "label": "Topic", "required": True}},
            {"text-input": {"variable": "opt", "label": "Opt", "required": False}},
            {"select": {"variable": "s", "label": "S", "options": ["a", "b"], "default": ""}},
            {"number": {"variable": "n", "label": "N"}},
            {"checkbox": {"variable": "c", "label": "C"}},
            {"paragraph": {"variable": "p", "label": "P", "default": "given"}},
            {"file": {"variable": "f", "label": "F"}},
        )
    )
    assert index_page.example_inputs(fields) == {
        "topic": "Topic",
        "opt": "",
        "s": "a",
        "n": 1,
        "c": False,
        "p": "given",
    }


class _App:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def fetch_app(self, app_id: str) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class _Session:
    def __init__(self, answer: Any) -> None:
        self.app = _App(answer)


def test_fetch_form_reads_the_parameters() -> None:
    session = _Session(parameters({"text-input": {"variable": "topic", "label": "Topic"}}))
    assert [f.variable for f in app_form.fetch_form(session, "app-1", "workflow_app")] == ["topic"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fetch app failed: data is nil", "app_not_found"),
        ("permission denied, you need to enable app access in plugin manifest", "app_permission_denied"),
    ],
)
def test_fetch_form_failures_name_the_setting_and_never_the_sdk_text(text: str, code: str) -> None:
    with pytest.raises(AppFailed) as caught:
        app_form.fetch_form(_Session(Exception(text)), "app-1", "workflow_app")  # type: ignore[arg-type]
    assert caught.value.code == code
    assert caught.value.status == 503
    assert text not in caught.value.message


# --- curl lines -----------------------------------------------------------------------


def test_curl_lines_carry_the_example_inputs_shell_quoted() -> None:
    fields = (FormField("text-input", "topic", "Topic", required=True, default='it\'s "x" $HOME'),)
    (post, get) = index_page.curl_lines(
        Demo("workflow", "workflow_app", "ready", fields), "https://d.example/e/a", False
    )
    argv = shlex.split(post)
    assert argv[:5] == ["curl", "-N", "-X", "POST", "https://d.example/e/a/workflow"]
    assert argv[-1] == '{"inputs": {"topic": "it\'s \\"x\\" $HOME"}}'
    assert shlex.split(get)[-1].startswith("https://d.example/e/a/workflow?inputs=%7B%22topic%22")


def test_curl_lines_with_a_key_send_the_bearer_header_from_the_environment() -> None:
    lines = index_page.curl_lines(Demo("duck", "chat_app", "ready"), "https://d.example/e/a", True)
    assert all('-H "Authorization: Bearer $API_KEY"' in line for line in lines)
    assert "query=Hello%20duck" in lines[0]


def test_a_required_file_makes_the_example_multipart() -> None:
    fields = (FormField("file", "doc", "Doc", required=True), FormField("text-input", "t", "T", required=True))
    (line,) = index_page.curl_lines(Demo("workflow", "workflow_app", "ready", fields), "https://d.example/e/a", False)
    assert shlex.split(line)[-4:] == ["-F", 'inputs={"t": "T"}', "-F", "doc=@doc.txt"]


# --- the page -------------------------------------------------------------------------


def render(demos: list[Demo], lang: Any = "en_US", key_required: bool = False, key: str | None = None) -> str:
    return index_page.page("NONCE", lang, "https://d.example/e/a", demos, key_required=key_required, key=key)


FORM = (
    FormField("text-input", "title", HOSTILE, required=True, default='"><script>x</script>', max_length=20),
    FormField("paragraph", "notes", "Notes", max_length=200, default="</textarea><b>"),
    FormField("select", "tone", "Tone", required=True, default="b & c", options=("a", "b & c")),
    FormField("number", "count", "Count", default=3),
    FormField("checkbox", "urgent", "Urgent", required=True, default=True),
    FormField("file", "photo", "Photo", accept="image/*"),
    FormField("file-list", "tables", "Tables", max_length=3, accept=".csv"),
)


def test_every_field_is_labelled_and_carries_its_type_default_and_limits() -> None:
    page = render([Demo("workflow", "workflow_app", "ready", FORM)])
    ids = re.findall(r'<(?:input|textarea|select) [^>]*id="(workflow-in-[^"]+)"', page)
    assert ids == [f"workflow-in-{f.variable}" for f in FORM]
    for ident in ids:
        assert f'<label for="{ident}">' in page
    assert html.escape(HOSTILE) in page
    assert HOSTILE not in page
    assert "<script>x" not in page
    assert "</textarea><b>" not in page
    assert 'maxlength="20"' in page
    assert 'maxlength="200"' in page
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in page
    assert '<option value="b &amp; c" selected>' in page
    assert 'type="number" step="any"' in page
    assert 'value="3"' in page
    assert 'data-kind="checkbox" checked' in page
    assert 'type="file" id="workflow-in-photo"' in page
    assert 'accept="image/*"' in page
    assert 'data-max-files="3"' in page
    assert "multiple" in page
    assert page.count('class="req"') == 3  # title, tone, urgent
    assert 'data-var="urgent" data-kind="checkbox" required' not in page  # an unticked box is a value too


def test_unset_and_unreadable_routes_show_why_and_offer_no_demo() -> None:
    failure = AppFailed("x", code="app_not_found", status=503)
    page = render([Demo("duck", "chat_app", "unset"), Demo("workflow", "workflow_app", "failed", failure=failure)])
    assert "Not configured" in page
    assert "<code>chat_app</code>" in page
    assert "Not available" in page
    assert "(app_not_found)" in page
    assert "<form" not in page
    assert "-curl" not in page


def test_every_script_and_style_carries_the_nonce_and_nothing_loads_from_elsewhere() -> None:
    page = render([Demo("duck", "chat_app", "ready"), Demo("workflow", "workflow_app", "ready", FORM)])
    executable = re.findall(r"<script(?![^>]*application/json)[^>]*>", page)
    assert executable == ['<script nonce="NONCE">']
    assert re.findall(r"<style[^>]*>", page) == ['<style nonce="NONCE">']
    # the one URL in the page: its inline icon (so that no browser asks for /favicon.ico)
    assert re.findall(r"<[a-z][^>]*\s(?:src|href)=\"([^\"]*)\"", page) == ["data:,"]
    assert page.count("<link") == 1
    assert "innerHTML" not in page
    assert "insertAdjacentHTML" not in page
    csp = index_page.page_headers("NONCE", "en_US")["Content-Security-Policy"]
    assert "script-src 'nonce-NONCE'" in csp
    assert "default-src 'none'" in csp
    assert "connect-src 'self'" in csp


def test_the_script_texts_cannot_close_the_script_element() -> None:
    page = render([])
    data = page.split('id="page-text">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data


def test_with_an_api_key_the_page_asks_for_it_and_the_duck_form_carries_it() -> None:
    page = render([Demo("duck", "chat_app", "ready")], key_required=True, key="k&y")
    assert '<label for="api-key">' in page
    assert '<input type="password" id="api-key" autocomplete="off" value="k&amp;y">' in page
    assert '<input type="hidden" name="key" value="k&amp;y">' in page
    assert "localStorage" not in page
    assert "sessionStorage" not in page
    assert "cookie" not in page


def test_the_page_speaks_simplified_chinese_when_asked() -> None:
    page = render([Demo("duck", "chat_app", "unset")], lang="zh_Hans")
    assert '<html lang="zh-Hans">' in page
    assert "未配置" in page
    assert "运行中" in page  # the script's texts too
    assert index_page.page_headers("N", "zh_Hans")["Content-Language"] == "zh-Hans"


@pytest.mark.parametrize(("code", "text"), [("missing_api_key", "needs its API key"), ("invalid_api_key", "is wrong")])
def test_the_key_error_page_asks_for_the_key(code: str, text: str) -> None:
    page = index_page.error_page("N", "en_US", Unauthorized("m", code=code))
    assert text in page
    assert '<input type="password" id="key" name="key"' in page
    assert '<label for="key">' in page


def test_the_settings_error_page_names_the_setting_in_every_language() -> None:
    error = AppNotConfigured("The endpoint's `keepalive_seconds` setting must be a number.")
    for lang in ("en_US", "zh_Hans"):
        page = index_page.error_page("N", lang, error)  # type: ignore[arg-type]
        assert "keepalive_seconds" in page
        assert "(app_not_configured)" in page


def test_the_title_is_the_plugins_label_from_its_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("label: {en_US: My plugin, zh_Hans: 我的插件}\n", encoding="utf-8")
    assert index_page.plugin_labels(http.read_manifest(manifest)) == {"en_US": "My plugin", "zh_Hans": "我的插件"}
    manifest.write_text("label: {en_US: Only English}\n", encoding="utf-8")
    assert index_page.plugin_labels(http.read_manifest(manifest)) == {
        "en_US": "Only English",
        "zh_Hans": "Only English",
    }
    for broken in ("label: [", "- a list", "label: {en_US: 3}"):
        manifest.write_text(broken, encoding="utf-8")
        assert index_page.plugin_labels(http.read_manifest(manifest)) == {
            "en_US": "Dify plugin",
            "zh_Hans": "Dify plugin",
        }
    assert index_page.plugin_labels(http.read_manifest(tmp_path / "missing.yaml"))["en_US"] == "Dify plugin"
    assert index_page.page_labels()["en_US"] == manifest_of_this_plugin()["label"]["en_US"]


# --- more exact behaviour (mutation testing, issue #14) --------------------------------


@pytest.mark.parametrize(
    ("hook_url", "path", "base"),
    [
        ("https://dify.example/e/abcX/", "/", "https://dify.example/e/abcX"),  # only slashes are cut
        ("https://dify.example/e/abc/", "/other", "https://dify.example/e/abc"),  # a path it does not end with stays
    ],
)
def test_public_base_cuts_only_the_route_and_trailing_slashes(hook_url: str, path: str, base: str) -> None:
    assert index_page.public_base(request(path, [("Dify-Hook-Url", hook_url)])) == base


def test_public_base_of_an_unparsable_hook_url_falls_back() -> None:
    r = request("/", [("Dify-Hook-Url", "http://[::1"), ("Dify-Hook-Id", "abc")])
    assert index_page.public_base(r) == "http://10.0.0.5:5002/e/abc"


def test_public_base_quotes_the_hook_id_and_without_one_is_the_host() -> None:
    assert index_page.public_base(request("/", [("Dify-Hook-Id", "a/b c")])) == "http://10.0.0.5:5002/e/a%2Fb%20c"
    assert index_page.public_base(request("/")) == "http://10.0.0.5:5002"


def test_parse_form_skips_only_the_unusable_entries() -> None:
    fields = app_form.parse_form(
        parameters(
            None,  # type: ignore[arg-type]
            {"text-input": {"label": "no variable"}},
            {"text-input": {"variable": "kept", "label": "Kept"}},
        )
    )
    assert fields == [FormField("text-input", "kept", "Kept")]


def test_parse_form_keeps_only_what_fits_the_fields_kind() -> None:
    fields = app_form.parse_form(
        parameters(
            {
                "text-input": {
                    "variable": "t",
                    "label": "T",
                    "options": ["a"],
                    "allowed_file_types": ["image"],
                    "default": {"not": "a value"},
                    "max_length": 1,
                }
            },
        )
    )
    assert fields == [FormField("text-input", "t", "T", max_length=1)]


def test_file_accept_reads_custom_extensions_as_browsers_want_them() -> None:
    assert app_form.file_accept(["custom"], ["XML", ".X", ". ", ".", "pdf", ".pdf"]) == ".xml,.x,.pdf"
    assert app_form.file_accept(["custom"], "csv") == ""  # not a list: nothing
    assert app_form.file_accept(["hologram", "image"], []) == app_form.file_accept(["image"], [])  # a newer Dify's


def test_example_inputs_of_a_select_without_options_and_a_bounded_text() -> None:
    fields = (
        FormField("select", "s", "S", required=True),
        FormField("text-input", "t", "Topic", required=True, max_length=3),
    )
    assert index_page.example_inputs(fields) == {"s": "", "t": "Top"}


def test_fetch_form_asks_for_the_app_and_reads_a_non_mapping_answer_as_no_fields() -> None:
    fetch_app = FakeFetchApp(parameters=None)  # type: ignore[arg-type]
    assert app_form.fetch_form(fake_session(fetch_app=fetch_app), "app-1", "workflow_app") == []
    assert fetch_app.calls == ["app-1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "fetch app failed: data is nil",
            "The app set in `workflow_app` was not found in this workspace; choose another app in the endpoint's "
            "settings.",
        ),
        (
            "permission denied, you need to enable app access in plugin manifest",
            "The plugin is not allowed to read apps (its manifest lacks the app permission).",
        ),
    ],
)
def test_fetch_form_failures_exact_and_the_sdk_text_in_the_log_only(
    text: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(AppFailed) as caught:
        app_form.fetch_form(fake_session(fetch_app=FakeFetchApp(error=text)), "app-1", "workflow_app")
    assert caught.value.message == message
    assert [r.getMessage() for r in caplog.records if r.name == "provider.apps"] == [
        f"fetch_app failed (app-1 via workflow_app): {text}"
    ]


def test_curl_lines_keep_non_ascii_and_send_every_required_file() -> None:
    fields = (
        FormField("text-input", "t", "T", default="café"),
        FormField("file", "a", "A", required=True),
        FormField("file", "b", "B", required=True),
        FormField("file-list", "c", "C"),
    )
    (line,) = index_page.curl_lines(Demo("workflow", "workflow_app", "ready", fields), "https://d.example/e/a", False)
    assert line == 'curl -N -X POST https://d.example/e/a/workflow -F \'inputs={"t": "café"}\' -F a=@a.txt -F b=@b.txt'
    (post, get) = index_page.curl_lines(Demo("completion", "completion_app", "ready", fields[:1]), "http://h/e/b", True)
    assert post == (
        'curl -N -X POST -H "Authorization: Bearer $API_KEY" http://h/e/b/completion '
        '-H \'Content-Type: application/json\' -d \'{"inputs": {"t": "café"}}\''
    )
    assert (
        get
        == "curl -N -H \"Authorization: Bearer $API_KEY\" 'http://h/e/b/completion?inputs=%7B%22t%22%3A%20%22caf%C3%A9%22%7D'"
    )


def test_duck_curl_lines_exact() -> None:
    assert index_page.curl_lines(Demo("duck", "chat_app", "ready"), "https://d.example/e/a", False) == [
        "curl -N 'https://d.example/e/a/duck?query=Hello%20duck'",
        "curl -N -X POST https://d.example/e/a/duck -d 'query=Hello duck'",
    ]


def test_the_manifest_is_read_as_utf8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon may run Python under a non-UTF-8 locale: the Chinese title must still decode."""
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("label: {en_US: My plugin, zh_Hans: 我的插件}\n", encoding="utf-8")
    # what `encoding=None` means under LANG=en_US.ISO-8859-1 (pathlib asks io.text_encoding)
    monkeypatch.setattr(io, "text_encoding", lambda encoding, stacklevel=2: encoding or "latin-1")
    assert index_page.plugin_labels(http.read_manifest(manifest))["zh_Hans"] == "我的插件"
