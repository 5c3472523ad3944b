"""The Endpoint Gallery's own code: its pages and exhibits, built on the kit in `provider/`.

`index_page` is the gallery page at `GET /`: each route's public URL, a curl line and
a live demo. `duck_page` is the Duck chat page, streamed as the chat app answers;
`conversations` keeps its earlier turns in the plugin's storage and `markdown`
renders the answers. Both pages are Jinja2 templates in `templates/` (one shared
`base.html`; CSS and script files beside them), rendered with autoescaping by
`render`. `mcp` is the MCP server exhibit (`/mcp`). Nothing in `provider/` imports
this package: a plugin copied from this one deletes `gallery/` whole (with the
gallery's routes in `endpoints/` and their YAMLs).
"""
