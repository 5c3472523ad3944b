"""gallery.markdown: answers render as Markdown, and no answer can inject markup or script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from gallery import markdown

# Tags the renderer may produce; anything else in the output came from the answer.
ALLOWED_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "em", "strong", "s", "code", "pre",
    "blockquote", "hr", "a", "div", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.tags


def rendered(text: str) -> str:
    """`text` through a parser built now (as `render`'s was at import), so each test checks the
    parser's configuration too, and through `render` itself: both must agree."""
    html = markdown._parser().render(text)
    assert markdown.render(text) == html
    return html


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("</div></main><h1>owned</h1>", "&lt;/div&gt;&lt;/main&gt;&lt;h1&gt;owned&lt;/h1&gt;"),
        ('<a href="javascript:alert(1)">x</a>', "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;"),
        ("<!-- comment --><style>*{}</style>", "&lt;!-- comment --&gt;&lt;style&gt;*{}&lt;/style&gt;"),
        ("`<b>code</b>`", "<code>&lt;b&gt;code&lt;/b&gt;</code>"),
        ("```\n<script>x</script>\n```", "<pre><code>&lt;script&gt;x&lt;/script&gt;\n</code></pre>"),
    ],
)
def test_raw_html_in_an_answer_shows_as_text(answer: str, shown: str) -> None:
    html = rendered(answer)
    assert shown in html
    assert {tag for tag, _ in elements(html)} <= ALLOWED_TAGS


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](  javascript:alert(1)  )",
        "[x](&#106;avascript:alert(1))",
        "[x](java&#9;script:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](data:image/png;base64,iVBORw0KGgo=)",  # markdown-it's own validator lets this one through
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_links_to_script_or_data_are_not_links(link: str) -> None:
    html = rendered(link)
    for tag, attrs in elements(html):
        assert tag != "a" or not re.match(r"\s*(javascript|data|vbscript|file):", attrs.get("href") or "", re.I), html


@pytest.mark.parametrize(
    ("link", "href"),
    [
        ("[docs](https://docs.dify.ai/x?a=1&b=2)", "https://docs.dify.ai/x?a=1&b=2"),
        ("<http://example.com>", "http://example.com"),
        ("[mail](mailto:duck@example.com)", "mailto:duck@example.com"),
        ('[q](https://e.com/"onmouseover="alert(1))', "https://e.com/%22onmouseover=%22alert(1)"),
    ],
)
def test_web_links_open_apart_with_no_referrer_and_no_endorsement(link: str, href: str) -> None:
    anchors = [attrs for tag, attrs in elements(rendered(link)) if tag == "a"]
    assert anchors == [{"href": href, "rel": "noopener noreferrer nofollow", "target": "_blank"}]


def test_markdown_images_are_links_not_fetched_images() -> None:
    html = rendered("![tracker](https://evil.example/pixel.png)")
    assert "<img" not in html
    assert '<a href="https://evil.example/pixel.png"' in html


def test_headings_lists_emphasis_code_and_tables_render() -> None:
    html = rendered(
        "# Title\n\nSome *emphasis*, **strong** and ~~gone~~.\n\n- one\n- two\n\n1. first\n\n"
        "```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted"
    )
    for piece in (
        "<h1>Title</h1>",
        "<em>emphasis</em>",
        "<strong>strong</strong>",
        "<s>gone</s>",
        "<li>one</li>",
        "<ol>",
        "<pre><code class=\"language-python\">print('hi')\n</code></pre>",
        '<div class="table-wrap"><table>',
        "<td>1</td>",
        "</table>\n</div>",
        "<blockquote>",
    ):
        assert piece in html, piece


def test_a_single_newline_is_a_line_break() -> None:
    assert rendered("line one\nline two") == "<p>line one<br />\nline two</p>\n"


def test_unicode_passes_through_unchanged() -> None:
    text = "鸭子 🦆 Ünïcödé — ‮reversed‬ e\u0301"
    assert rendered(text) == f"<p>{text}</p>\n"


def test_a_ten_thousand_character_line_renders_whole() -> None:
    line = "quack" * 2000
    assert rendered(line) == f"<p>{line}</p>\n"


def test_an_answer_too_long_to_render_is_left_as_plain_text() -> None:
    assert markdown.render("x" * markdown.MAX_RENDER_CHARS) is not None
    assert markdown.render("x" * (markdown.MAX_RENDER_CHARS + 1)) is None


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.b", True),
        ("HTTP://a.b", True),
        ("mailto:a@b", True),
        ("relative/path", True),
        ("#anchor", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:x", False),
        ("data:image/png;base64,AAAA", False),
        ("vbscript:x", False),
        ("ftp://a.b", False),
    ],
)
def test_the_link_validator_accepts_web_and_mail_links_only(url: str, safe: bool) -> None:
    assert markdown.safe_link(url) is safe
