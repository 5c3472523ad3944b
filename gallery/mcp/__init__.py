"""The MCP exhibit: the endpoint's apps as tools for any MCP client (`POST /mcp`).

- `protocol`: JSON-RPC over Streamable HTTP, stateless: one request per POST, the
  protocol revision read from each request (2026-07-28's `_meta` envelope and
  headers, or a 2025 client's `initialize`), errors with the specification's codes.
- `tools`: one tool per configured app, its input schema built from the app's own
  input form (`provider.app_form`), and the checks that turn arguments into inputs.
- `calls`: a `tools/call` run through `provider.apps.AppCall`: progress while it
  runs, then the tool result.
- `server`: the methods, and the responses (JSON, or SSE with progress).
"""
