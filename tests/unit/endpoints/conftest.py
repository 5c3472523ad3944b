"""In-process tests of the endpoints' `_invoke` (no plugin process, no devkit).

`import dify_plugin` (which the endpoint modules do) runs `gevent.monkey.patch_all()`
as a side effect. The test process must not be patched (pytest, hypothesis and the
other unit tests run on real threads and sockets), so the patch is suspended while the
endpoint modules are first imported, as `dify_plugin_devkit._sdk` does.
"""

from __future__ import annotations

import gevent.monkey

_patch_all = gevent.monkey.patch_all
gevent.monkey.patch_all = lambda *args, **kwargs: None
try:
    import endpoints.duck
    import endpoints.gallery
    import endpoints.openai_chat
    import endpoints.openai_models
    import endpoints.preflight
    import endpoints.runner  # noqa: F401 - imported here, unpatched, for the tests
finally:
    gevent.monkey.patch_all = _patch_all
