"""The plugin's tests: development files, never shipped (docs/layout.md, docs/testing.md).

unit/ pure code; unit/endpoints/ the routes in process; endpoints/ the real plugin behind
the devkit (stdio and serverless); browser/ the pages in Chromium; robustness/ soak,
fuzz and faults; packaging/ the .difypkg as Dify installs it.
"""
