"""Every size, count and time limit of the kit in one place: Dify's own (the plugin
daemon's, which a plugin cannot change) and the kit's bounds on what clients send
(large enough for real use, small enough that a client cannot make the plugin, or
the app, chew on megabytes by mistake). Modules import them from here.
"""

from typing import Final

# --- Dify's limits (its plugin daemon's) ---------------------------------------------

#: No response chunk may be larger. The plugin sends each chunk hex-encoded inside one
#: stdout line, and Dify's daemon kills a local plugin whose line exceeds 5,242,880
#: bytes (PLUGIN_RUNTIME_MAX_BUFFER_SIZE): a 2.5 MiB chunk would take the process down.
MAX_CHUNK_BYTES: Final = 1024 * 1024
MIB: Final = 1024 * 1024
#: No setting may allow larger files: Dify's plugin daemon passes at most 10 MiB of a
#: request body to the plugin (and silently cuts the rest), so a larger file can never
#: arrive whole.
PLATFORM_MAX_FILE_MB: Final = 10.0

# --- the kit's bounds on requests ------------------------------------------------------

MAX_QUERY_CHARS: Final = 16_000
MAX_INPUTS_BYTES: Final = 64 * 1024
MAX_USER_CHARS: Final = 256
#: Parts of a multipart body (files and text fields together).
MAX_FORM_PARTS: Final = 64
#: Characters of an uploaded file's name as Dify stores it.
MAX_NAME_CHARS: Final = 200
#: The per-file limit when `max_file_mb` is empty: a typical PDF or photo fits, and two
#: of them still fit in one request under the daemon's 10 MiB cut.
DEFAULT_MAX_FILE_MB: Final = 5.0

# --- streams ---------------------------------------------------------------------------

#: Seconds a stream may stay silent before a keep-alive (gateways cut at ~60 s).
DEFAULT_KEEPALIVE_SECONDS: Final = 15.0
KEEPALIVE_RANGE: Final = (1.0, 300.0)
#: At most this many events are read ahead of the client (and so sent in one batch).
MAX_BATCH: Final = 256
#: How long a browser may reuse a CORS preflight answer (seconds; Chromium caps it at 7200).
CORS_MAX_AGE_SECONDS: Final = 600
