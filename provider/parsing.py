"""Parse and validate what clients send; every rejection is a BadRequest saying what to fix.

Messages speak to the person calling the endpoint (name the field, say what was
expected and what to do); `code`s are for programs and never change.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import SplitResult, urlsplit

from werkzeug import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from provider.apps import ResponseMode
from provider.errors import BadRequest, BodyTruncated
from provider.limits import MAX_FORM_PARTS, MAX_INPUTS_BYTES, MAX_QUERY_CHARS, MAX_USER_CHARS

RESPONSE_MODES: tuple[ResponseMode, ...] = ("streaming", "blocking")
_RUN_FIELDS = ("inputs", "response_mode", "user")


@dataclass(frozen=True)
class FilePart:
    """One file of a multipart request, as the client sent it: not yet checked against
    the app's input form, not uploaded. `mimetype` is the part's type without
    parameters (werkzeug's), empty when the client sent none."""

    variable: str
    filename: str
    mimetype: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class RunRequest:
    """A request to run a workflow or completion app: its inputs, and how to answer.

    `files`: the file parts of a multipart request, per input variable in the order
    sent (several for a file-list variable); empty for JSON and GET requests.
    """

    inputs: dict[str, Any]
    response_mode: ResponseMode = "streaming"
    user: str | None = None
    files: Mapping[str, tuple[FilePart, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Question:
    """A question for a chat app, possibly continuing a conversation."""

    query: str
    conversation_id: str | None = None
    user: str | None = None


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"{what} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}).",
            code="invalid_json",
        ) from None
    except RecursionError:  # thousands of nested brackets: valid JSON, but not something to run
        raise BadRequest(f"{what} is nested too deeply.", code="invalid_json") from None


#: What an empty POST/PUT body looks like inside the plugin. Dify's daemon writes the
#: copied request with Go's `Request.Write`, which frames an empty body as a chunked
#: body of one last-chunk; the SDK drops `Transfer-Encoding` without de-chunking, so
#: the endpoint sees these five bytes (with `Content-Length: 5`) where the client sent none.
EMPTY_CHUNKED_BODY = b"0\r\n\r\n"


def request_body(r: Request) -> bytes:
    """The body the client sent: `b""` for an empty one, also in its daemon-made form."""
    raw = r.get_data(cache=True)
    return b"" if raw == EMPTY_CHUNKED_BODY else raw


def json_body(r: Request, example: str | None = None) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as `{}`.

    `example` (e.g. `{"query": "..."}`) is shown when the body is JSON but not an object.
    """
    raw = request_body(r)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text; send JSON encoded as UTF-8.", code="invalid_json") from None
    body = _loads(text, "The request body")
    if not isinstance(body, dict):
        like = f" like {example}" if example else ""
        raise BadRequest(
            f"The request body must be a JSON object{like}, not a JSON {_json_type(body)}.",
            code="invalid_body",
        )
    return body


def _json_type(value: object) -> str:
    """JSON's name for a parsed value's type (a client sent JSON, not Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _optional_str(fields: Mapping[str, Any], name: str, max_chars: int) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"`{name}` must be a string.", code="invalid_field")
    if len(value) > max_chars:
        raise BadRequest(
            f"`{name}` is too long ({len(value)} characters; at most {max_chars}).", code="field_too_large"
        )
    return value


def _reject_unknown(fields: Mapping[str, Any], allowed: tuple[str, ...], hint: str = "") -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise BadRequest(
            f"Unknown field `{unknown[0]}`; allowed fields are {', '.join(allowed)}.{hint}",
            code="unknown_field",
        )


#: A multipart request may carry at most this many parts (the fields and the files).
#: Tells a client who sent a text part where a file was meant how to send a file.
_FILE_HINT = " Files go in file parts named after the app's input variable (curl: -F 'document=@report.pdf')."


def _multipart(r: Request) -> tuple[dict[str, Any], dict[str, tuple[FilePart, ...]]]:
    """The text fields and the file parts of a multipart/form-data body.

    The whole body must be there: Dify's daemon silently cuts a body at 10 MiB, and a
    cut multipart body lacks its closing boundary. werkzeug would quietly drop the
    broken last part (or the whole form), so the boundary is checked here first and
    the parser runs non-silent: a broken body is a 400, never a half file passed on.
    """
    raw = request_body(r)
    if not raw:
        return {}, {}
    boundary = r.mimetype_params.get("boundary", "")
    if not boundary:
        raise BadRequest("The multipart body has no boundary in its Content-Type header.", code="invalid_body")
    if not raw.rstrip(b"\r\n").endswith(b"--" + boundary.encode("latin-1", "replace") + b"--"):
        raise BodyTruncated(
            "The request body ended before its last multipart boundary: it was cut on the way (Dify passes at "
            "most 10 MiB of a request to the plugin). Nothing was uploaded; send smaller files."
        )
    parser = FormDataParser(max_form_memory_size=2 * MAX_INPUTS_BYTES, silent=False, max_form_parts=MAX_FORM_PARTS)
    try:
        _, form, files = parser.parse(io.BytesIO(raw), r.mimetype, len(raw), r.mimetype_params)
    except RequestEntityTooLarge:
        raise BadRequest(
            f"The multipart body has too many parts or too large a text field (at most {MAX_FORM_PARTS} parts, "
            f"text fields up to {MAX_INPUTS_BYTES} bytes).",
            code="field_too_large",
        ) from None
    except ValueError:  # werkzeug's parser on a malformed body
        raise BadRequest("The multipart body is malformed.", code="invalid_body") from None
    fields: dict[str, Any] = {}
    for name, values in form.lists():
        if name not in _RUN_FIELDS:
            _reject_unknown({name: None}, _RUN_FIELDS, _FILE_HINT)
        if len(values) > 1:
            raise BadRequest(f"The field `{name}` is sent more than once.", code="invalid_field")
        fields[name] = values[0]
    if "inputs" in fields:
        fields["inputs"] = _loads(fields["inputs"], "The `inputs` part") if fields["inputs"].strip() else {}
    parts: dict[str, tuple[FilePart, ...]] = {}
    for name, storages in files.lists():
        # a browser's file input left empty sends a part with no file name and no bytes: nothing was chosen
        chosen = [(s, s.read()) for s in storages]
        found = tuple(FilePart(name, s.filename or "", s.mimetype, data) for s, data in chosen if s.filename or data)
        if found:
            parts[name] = found
    return fields, parts


def run_request(r: Request) -> RunRequest:
    """POST: a JSON body, or multipart/form-data (a part `inputs` holding the JSON of the
    other inputs, `response_mode`, `user`, and one file part per file, named after its
    input variable). GET (EventSource): the fields in the query string, with `inputs`
    as JSON text."""
    files: dict[str, tuple[FilePart, ...]] = {}
    if r.method == "GET":
        fields: dict[str, Any] = dict(r.args.items())
        hint = (
            " The API key goes in the Authorization header (`Authorization: Bearer <key>`)." if "key" in fields else ""
        )
        _reject_unknown(fields, _RUN_FIELDS, hint)
        if "inputs" in fields:
            fields["inputs"] = _loads(fields["inputs"], "The `inputs` query parameter")
    elif r.mimetype == "multipart/form-data":
        fields, files = _multipart(r)
    else:
        fields = json_body(r, example='{"inputs": {...}}')
        _reject_unknown(fields, _RUN_FIELDS)

    inputs = fields.get("inputs", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise BadRequest(
            f"`inputs` must be a JSON object mapping variable names to values, not a JSON {_json_type(inputs)}.",
            code="invalid_field",
        )
    size = len(json.dumps(inputs, ensure_ascii=False).encode())
    if size > MAX_INPUTS_BYTES:
        raise BadRequest(f"`inputs` is too large ({size} bytes; at most {MAX_INPUTS_BYTES}).", code="field_too_large")
    both = sorted(set(files) & set(inputs))
    if both:
        raise BadRequest(f"`{both[0]}` is sent both as a file and in `inputs`; send it once.", code="invalid_field")

    mode = fields.get("response_mode") or "streaming"
    if mode not in RESPONSE_MODES:
        raise BadRequest(
            f'`response_mode` must be "streaming" or "blocking", not {json.dumps(mode)}.',
            code="invalid_response_mode",
        )
    return RunRequest(
        inputs=inputs,
        response_mode=cast(ResponseMode, mode),
        user=_optional_str(fields, "user", MAX_USER_CHARS),
        files=MappingProxyType(files),
    )


def form_fields(r: Request) -> dict[str, Any]:
    """The request's fields wherever a browser or a program puts them: the query
    string on GET; a form (urlencoded or multipart) or a JSON object on POST."""
    if r.method == "GET":
        return dict(r.args.items())
    if r.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(r.form.items())
    return json_body(r)


def question(fields: Mapping[str, Any]) -> Question:
    """`query` (required), `conversation_id` (a UUID from a previous answer) and `user`."""
    query = fields.get("query")
    if not isinstance(query, str) and query is not None:
        raise BadRequest("`query` must be a string.", code="invalid_field")
    if not query or not query.strip():
        raise BadRequest("Type a question: `query` is empty.", code="missing_query")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(
            f"The question is too long ({len(query)} characters; at most {MAX_QUERY_CHARS}).",
            code="field_too_large",
        )
    conversation_id = _optional_str(fields, "conversation_id", 64)
    if conversation_id is not None:
        try:
            uuid.UUID(conversation_id)
        except ValueError:
            raise BadRequest(
                "`conversation_id` must be the id returned with a previous answer (a UUID); "
                "leave it empty to start a new conversation.",
                code="invalid_field",
            ) from None
    return Question(query=query, conversation_id=conversation_id, user=_optional_str(fields, "user", MAX_USER_CHARS))


#: A field's expected type for `require_fields`: one Python type or a tuple of them.
FieldType = type | tuple[type, ...]

# JSON's name for each Python type a JSON value parses to, and a sample value of it.
_JSON_NAMES: dict[type, tuple[str, str]] = {
    str: ("string", '"..."'),
    int: ("number", "1"),
    float: ("number", "1.5"),
    bool: ("boolean", "true"),
    list: ("array", "[...]"),
    dict: ("object", "{...}"),
    type(None): ("null", "null"),
}


def _types(expected: FieldType) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _expected_name(expected: FieldType) -> str:
    names = dict.fromkeys(_JSON_NAMES.get(kind, (kind.__name__, ""))[0] for kind in _types(expected))
    return "a JSON " + " or ".join(names)


def _matches(value: object, expected: FieldType) -> bool:
    kinds = _types(expected)
    if isinstance(value, bool):  # JSON true/false is a boolean, never a number
        return bool in kinds
    return isinstance(value, kinds)


def _example(fields: Mapping[str, FieldType]) -> str:
    samples = (f'"{name}": {_JSON_NAMES.get(_types(kind)[0], ("", "..."))[1]}' for name, kind in fields.items())
    return "{" + ", ".join(samples) + "}"


def require_fields(
    body: Mapping[str, Any], fields: Mapping[str, FieldType], *, example: str | None = None
) -> dict[str, Any]:
    """Check that the JSON object `body` holds every field of `fields` with its type;
    return them (only them), in the order of `fields`.

    An absent field, a null (unless `type(None)` is allowed) or an empty string where
    a string is expected is `missing_field`; a value of another JSON type is
    `invalid_field`. Each message names the field and the expected JSON type,
    and shows `example` (default: one built from `fields`), so a caller can fix the
    request from the error alone. A JSON boolean never passes for a number.

        body = parsing.json_body(r, example='{"order_id": "A-1", "amount": 12.5}')
        order = parsing.require_fields(body, {"order_id": str, "amount": (int, float)})
        # {"amount": "12"} -> 400 missing_field: `order_id` is missing: send it as a JSON string, e.g. ...
    """
    like = example or _example(fields)
    found: dict[str, Any] = {}
    for name, expected in fields.items():
        value = body.get(name)
        kinds = _types(expected)
        if name not in body or (value is None and type(None) not in kinds) or (value == "" and str in kinds):
            raise BadRequest(
                f"`{name}` is missing: send it as {_expected_name(expected)}, e.g. {like}.", code="missing_field"
            )
        if not _matches(value, expected):
            raise BadRequest(
                f"`{name}` must be {_expected_name(expected)}, not a JSON {_json_type(value)}; e.g. {like}.",
                code="invalid_field",
            )
        found[name] = value
    return found


def hook_url(r: Request | str | None) -> SplitResult | None:
    """The public URL the client called, from the `Dify-Hook-Url` header the daemon sends
    (`<scheme>://<host>/e/<hook id><path>`, or what a proxy in front of Dify set), as
    parts; None when it is missing or not an http(s) URL with a host. The one reader of
    that header: pages build their links and resolve Dify's file paths from it."""
    raw = r.headers.get("Dify-Hook-Url") if isinstance(r, Request) else r
    try:
        parts = urlsplit(raw or "")
    except ValueError:
        return None
    return parts if parts.scheme in ("http", "https") and parts.netloc else None
