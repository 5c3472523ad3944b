"""Size limits of request fields: large enough for real use, small enough that a
client cannot make the plugin (or the app) chew on megabytes by mistake."""

MAX_QUERY_CHARS = 16_000
MAX_INPUTS_BYTES = 64 * 1024
MAX_USER_CHARS = 256
DEFAULT_KEEPALIVE_SECONDS = 15.0
KEEPALIVE_RANGE = (1.0, 300.0)
