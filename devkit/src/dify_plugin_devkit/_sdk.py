"""The SDK's declaration models, imported without the SDK's gevent monkey-patching.

`import dify_plugin` runs `gevent.monkey.patch_all()` as a side effect (so that the
plugin process runs on greenlets). The devkit only needs the SDK's pydantic
models to validate declarations the way the SDK will; patching its own asyncio
sockets, threads and stdio would change how the devkit itself behaves. So the
patch is suspended for the duration of the import. The plugin process, started
separately, imports the SDK normally and is patched as in Dify.
"""

from __future__ import annotations

import gevent.monkey

_patch_all = gevent.monkey.patch_all
gevent.monkey.patch_all = lambda *args, **kwargs: None
try:
    from dify_plugin.core.entities.plugin.setup import PluginConfiguration
    from dify_plugin.entities.endpoint import EndpointConfiguration, EndpointProviderConfiguration
    from dify_plugin.entities.provider_config import ProviderConfig
finally:
    gevent.monkey.patch_all = _patch_all

__all__ = ["EndpointConfiguration", "EndpointProviderConfiguration", "PluginConfiguration", "ProviderConfig"]
