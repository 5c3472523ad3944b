"""Entry point Dify's plugin daemon runs (`python -m main`).

Part of what ships (docs/layout.md): this file, the routes (`group/`, `endpoints/`), the
kit any endpoint plugin reuses (`provider/`) and the gallery's own pages (`gallery/`).
The devkit (`devkit/`) and the development files (`tests/`, `dev/`, `bench/`, `docs/`)
never ship.
"""

from dify_plugin import DifyPluginEnv, Plugin

plugin = Plugin(DifyPluginEnv(MAX_REQUEST_TIMEOUT=600))

if __name__ == "__main__":
    plugin.run()
