"""A chat answer as HTML, rendered from its Markdown with no way to inject markup.

Chat models answer in Markdown; shown raw, it is asterisks and pipes. markdown-it-py
(CommonMark, well kept, used by Jupyter and MyST) renders it with these choices:

- `html=False`: raw HTML in an answer (`<script>`, `<img onerror=...>`, a stray
  `</div>` that would close the page's own block) is escaped and shows as text;
- a link validator that accepts only `http`, `https` and `mailto` URLs (and
  scheme-less ones, which are relative to this page): a `javascript:`, `data:` or
  `vbscript:` link stays unrendered text;
- links open in a new tab with `rel="noopener noreferrer nofollow"`: the app's
  links are not endorsed, and the opened page gets no handle on, nor the URL of,
  the conversation;
- Markdown images are not rendered (they show as links): an answer must not make
  the visitor's browser fetch arbitrary URLs. Files the app sends are another
  matter (see gallery.duck_page);
- tables (in a wrapper that scrolls on narrow screens) and strikethrough, as
  GitHub-flavoured answers use them; a single newline is a line break, as chat
  answers mean it.

An answer longer than MAX_RENDER_CHARS is not rendered at all (`render` returns
None) and stays plain text: rendering must not cost seconds of CPU per page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

#: Longer answers stay plain text. Measured on a busy 2-core machine at this length: ~0.5 s for
#: mixed Markdown, ~1.2 s for the worst input tried (100,000 `[`).
MAX_RENDER_CHARS: Final = 100_000
#: What a link may point to; anything else with a scheme is refused.
SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "noopener noreferrer nofollow"

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def safe_link(url: str) -> bool:
    """Whether `url` (as markdown-it normalised it) may become a link: a scheme from
    SAFE_SCHEMES, or no scheme at all. Control characters and spaces were already
    percent-encoded by normalisation, so `java\\tscript:` cannot pass as a scheme."""
    scheme = _SCHEME.match(url.strip())
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    token.attrSet("rel", LINK_REL)
    token.attrSet("target", "_blank")
    return renderer.renderToken(tokens, idx, options, env)


def _table_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return '<div class="table-wrap">' + renderer.renderToken(tokens, idx, options, env)


def _table_close(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return renderer.renderToken(tokens, idx, options, env) + "</div>"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.validateLink = safe_link  # type: ignore[method-assign]  # markdown-it's documented hook
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


_MD: Final = _parser()


def render(text: str) -> str | None:
    """`text` as safe HTML, or None when it is too long to render (show it as plain text)."""
    if len(text) > MAX_RENDER_CHARS:
        return None
    return _MD.render(text)
