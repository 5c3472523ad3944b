"""Parse and validate what clients send; every rejection is a BadRequest saying what to fix."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug import Request

from provider.errors import BadRequest
from provider.limits import MAX_INPUTS_BYTES, MAX_QUERY_CHARS, MAX_USER_CHARS

RESPONSE_MODES = ("streaming", "blocking")
_RUN_FIELDS = ("inputs", "response_mode", "user")


@dataclass(frozen=True)
class RunRequest:
    """A request to run a workflow or completion app."""

    inputs: dict[str, Any]
    response_mode: str = "streaming"
    user: str | None = None


@dataclass(frozen=True)
class Question:
    """A question for the Duck page's chat app."""

    query: str
    conversation_id: str | None = None
    user: str | None = None


def _loads(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise BadRequest(
            f"{what} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}).",
            code="invalid_json",
        ) from None


def json_body(r: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as `{}`."""
    raw = r.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text; send JSON encoded as UTF-8.", code="invalid_json") from None
    body = _loads(text, "The request body")
    if not isinstance(body, dict):
        raise BadRequest(
            f"The request body must be a JSON object like {{\"inputs\": {{...}}}}, not a JSON {type(body).__name__}.",
            code="invalid_body",
        )
    return body


def _optional_str(fields: Mapping[str, Any], name: str, max_chars: int) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"`{name}` must be a string.", code="invalid_field")
    if len(value) > max_chars:
        raise BadRequest(f"`{name}` is too long ({len(value)} characters; at most {max_chars}).", code="field_too_large")
    return value


def _reject_unknown(fields: Mapping[str, Any], allowed: tuple[str, ...], hint: str = "") -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise BadRequest(
            f"Unknown field `{unknown[0]}`; allowed fields are {', '.join(allowed)}.{hint}",
            code="unknown_field",
        )


def run_request(r: Request) -> RunRequest:
    """POST: a JSON body. GET (EventSource): the same fields in the query string,
    with `inputs` as JSON text."""
    if r.method == "GET":
        fields: dict[str, Any] = dict(r.args.items())
        hint = " The API key goes in the Authorization header (`Authorization: Bearer <key>`)." if "key" in fields else ""
        _reject_unknown(fields, _RUN_FIELDS, hint)
        if "inputs" in fields:
            fields["inputs"] = _loads(fields["inputs"], "The `inputs` query parameter")
    else:
        fields = json_body(r)
        _reject_unknown(fields, _RUN_FIELDS)

    inputs = fields.get("inputs", {})
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise BadRequest(
            f"`inputs` must be a JSON object mapping variable names to values, not a JSON {type(inputs).__name__}.",
            code="invalid_field",
        )
    size = len(json.dumps(inputs, ensure_ascii=False).encode())
    if size > MAX_INPUTS_BYTES:
        raise BadRequest(f"`inputs` is too large ({size} bytes; at most {MAX_INPUTS_BYTES}).", code="field_too_large")

    mode = fields.get("response_mode") or "streaming"
    if mode not in RESPONSE_MODES:
        raise BadRequest(
            f"`response_mode` must be \"streaming\" or \"blocking\", not {json.dumps(mode)}.",
            code="invalid_response_mode",
        )
    return RunRequest(inputs=inputs, response_mode=mode, user=_optional_str(fields, "user", MAX_USER_CHARS))


def duck_fields(r: Request) -> dict[str, Any]:
    """Duck's fields: the query string on GET; a form or a JSON object on POST."""
    if r.method == "GET":
        return dict(r.args.items())
    if r.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(r.form.items())
    return json_body(r)


def question(fields: Mapping[str, Any]) -> Question:
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
