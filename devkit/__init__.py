"""devkit: a local stand-in for Dify's plugin daemon and app backend.

It runs a real plugin process (`python -m main` on the real `dify_plugin` runtime)
over the real wire protocol, serves `/e/<hook_id>/<path>` the way the daemon does,
and answers the plugin's app calls with scripted demo apps. It is never shipped
inside a `.difypkg`.
"""
