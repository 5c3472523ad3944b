"""The endpoint's apps as OpenAI models: `/v1/models` and `/v1/chat/completions`.

Any client with a "base URL" field (the `openai` SDKs, Open WebUI, LangChain, ...)
talks to `<endpoint URL>/v1`. This module is the translation, free of HTTP routing:

- `configured_models`: one model per app-selector that holds an app (`chat`,
  `workflow`, `completion`, or the names the owner chose in `openai_model_names`).
- `parse_chat_request`: the OpenAI request body, checked (pydantic), with errors that
  name the offending field (`param`) and say how to fix it.
- `plan_prompt` + `ConversationIndex`: what the app is asked. A client re-sends the
  whole growing message list each turn; the index remembers, in the plugin's storage,
  which Dify conversation a history belongs to (key: a hash of the app and the
  history), so Dify sees ONE conversation of N turns. A first message never continues
  anything; a history the index does not know starts a conversation whose query
  carries the earlier turns as context.
- `app_pieces`: Dify's app events (chat, agent, chatflow, workflow, completion) as
  text deltas and usage; a failed run raises `AppFailed`.
- `stream_response` / `completion_body`: OpenAI's `chat.completion.chunk` stream
  (`data:` lines, `[DONE]`) or one `chat.completion` object.
- `error_response`: every failure in OpenAI's error shape
  (`{"error": {"message", "type", "code", "param"}}`), which the SDKs map to their
  exception classes by status (400 BadRequestError, 401 AuthenticationError, 404
  NotFoundError, 413, 5xx InternalServerError). A failure after a stream began is a
  last `data: {"error": ...}` line: openai-python's `Stream.__stream__` raises
  `APIError` for any data line whose JSON has an `error` key.

Dify facts followed (recordings in real-dify-1.13.2): chat events carry
`conversation_id`; `message_end.metadata.usage` has `prompt_tokens`,
`completion_tokens`, `total_tokens`; a workflow streams its answer as `text_chunk`
events and ends with `workflow_finished` (`status`, `outputs`, `total_tokens`), a
failing workflow sends no `error` event (status `failed`); agent apps cannot answer in
blocking mode, so every call here streams from Dify and a non-streaming answer is
collected; Dify 1.13.2 cannot run completion apps from a plugin (its reverse
invocation omits `query`: the kit's `apps.completion_unsupported` says so).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug import Request, Response

from provider import app_form, files, http, parsing
from provider.apps import AppCall, AppKind, RunEnd
from provider.errors import AppFailed, AppNotConfigured, BadRequest, EndpointError, Unauthorized
from provider.log import plugin_logger
from provider.pacing import KeepAlive, keepalive_batches
from provider.parsing import FilePart
from provider.settings import text_setting
from provider.sse import ServerSentEvent

if TYPE_CHECKING:
    from dify_plugin.core.runtime import Session

    from gallery.conversations import Storage
    from provider.settings import EndpointSettings

logger = plugin_logger(__name__)

#: Settings this module reads (declared at the end of group/gallery.yaml).
MODEL_NAMES: Final = "openai_model_names"
TEXT_INPUT: Final = "openai_text_input"

#: The app-selector settings that can become models, with the SDK interface each needs
#: and the model id used when the owner chose none.
APP_SETTINGS: Final[tuple[tuple[str, AppKind], ...]] = (
    ("chat_app", "chat"),
    ("workflow_app", "workflow"),
    ("completion_app", "completion"),
)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")

#: Bounds of one request (Dify's daemon passes at most 10 MiB of a body anyway).
MAX_MESSAGES: Final = 1000
MAX_TEXT_CHARS: Final = 1_000_000
#: The earlier turns given as context to a new conversation: the most recent ones that fit.
MAX_CONTEXT_CHARS: Final = 32_000


# --- errors -----------------------------------------------------------------------
class ModelNotFound(EndpointError):
    """The request names a model this endpoint does not serve (OpenAI: 404 `model_not_found`)."""

    status = 404
    code = "model_not_found"
    param = "model"  # OpenAI names the field at fault


class RequestTooLarge(EndpointError):
    """Too many messages or too much text in one request."""

    status = 413
    code = "request_too_large"


class InvalidChatRequest(BadRequest):
    """A request body OpenAI's API would refuse too; `param` names the field (OpenAI's `param`)."""

    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.param = param


def error_type(error: EndpointError) -> str:
    """OpenAI's `type` for a status: what its SDKs and its docs use."""
    if isinstance(error, Unauthorized):
        return "authentication_error"
    if error.status < 500:
        return "invalid_request_error"
    return "server_error"


def error_body(error: EndpointError) -> dict[str, Any]:
    """`{"error": {"message", "type", "code", "param"}}`, OpenAI's error object."""
    return {
        "error": {
            "message": error.message,
            "type": error_type(error),
            "code": error.code,
            "param": getattr(error, "param", None),
        }
    }


def error_response(error: EndpointError) -> Response:
    """`error` as OpenAI's JSON error with its status (a 401 says it wants a Bearer key)."""
    headers = http.error_headers(error)  # the kit's: no-store, nosniff, a 401's challenge
    return Response(
        json.dumps(error_body(error), ensure_ascii=False),
        status=error.status,
        content_type="application/json; charset=utf-8",
        headers=headers,
    )


# --- models -----------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """One app of the endpoint as an OpenAI model: `id` is what clients send as `model`."""

    id: str
    kind: AppKind
    setting: str
    app_id: str


def model_names(raw: str | None) -> dict[str, str]:
    """The `openai_model_names` setting: `chat=my-bot, workflow=summariser` (kind=name,
    comma-separated; kinds not named keep their default id). AppNotConfigured naming the
    setting and the entry's position when an entry is not like that."""
    names: dict[str, str] = {}
    if raw is None or str(raw).strip() == "":
        return names
    kinds = {kind for _, kind in APP_SETTINGS}
    for position, entry in enumerate(str(raw).split(","), start=1):
        kind, equals, name = (part.strip() for part in entry.partition("="))
        if not equals or kind not in kinds or not _MODEL_NAME.fullmatch(name) or name in names.values():
            raise AppNotConfigured(
                f"The endpoint's `{MODEL_NAMES}` setting must be like `chat=my-bot, workflow=summariser` "
                f"(kinds: chat, workflow, completion; names of letters, digits and . _ : / -, each used "
                f"once); entry {position} is not."
            )
        names[kind] = name
    return names


def configured_models(settings: Mapping[str, Any], config: EndpointSettings) -> list[Model]:
    """One model per app-selector that holds an app, in the group file's order."""
    names = model_names(text_setting(settings, MODEL_NAMES, required=False))
    return [
        Model(id=names.get(kind, kind), kind=kind, setting=setting, app_id=config.apps[setting])
        for setting, kind in APP_SETTINGS
        if setting in config.apps
    ]


def find_model(models: Sequence[Model], model_id: str) -> Model:
    """The model named `model_id`; ModelNotFound listing the ones there are."""
    for model in models:
        if model.id == model_id:
            return model
    offered = ", ".join(f"`{m.id}`" for m in models) or "none (the owner has chosen no app)"
    shown = model_id if len(model_id) <= 64 else model_id[:64] + "…"
    raise ModelNotFound(f"The model `{shown}` does not exist on this endpoint; its models are: {offered}.")


def model_object(model: Model) -> dict[str, Any]:
    """OpenAI's model object (`created` 0: Dify does not tell when an app was made)."""
    return {"id": model.id, "object": "model", "created": 0, "owned_by": "dify"}


def model_list(models: Sequence[Model]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(m) for m in models]}


# --- the request ------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageUrl(_Strict):
    url: str


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(_Strict):
    # tool/function messages are refused with their own message below, not here
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Part] | None = None


class StreamOptions(_Strict):
    include_usage: bool = False


class ChatRequest(_Strict):
    """The fields this exhibit uses; others (temperature, tools, ...) are ignored: the
    app's own model settings and tools apply."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1
    user: str | None = Field(default=None, max_length=256)
    # not OpenAI's: a workflow's or completion app's other inputs (`extra_body={"inputs": {...}}`)
    inputs: dict[str, Any] = Field(default_factory=dict)

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


def _param(location: Sequence[int | str]) -> str:
    """pydantic's error location as OpenAI writes `param`: `messages[2].content`."""
    text = ""
    previous: int | str | None = None
    for part in location:
        tag = isinstance(previous, int) and part in ("text", "image_url") and "content" in location
        previous = part
        if isinstance(part, int):
            text += f"[{part}]"
        elif tag or part in ("str", "list[tagged-union[TextPart,ImagePart]]"):
            continue  # the branch of a union pydantic tried (or a part's tag): not a field of the request
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_chat_request(r: Request) -> ChatRequest:
    """The body of `POST /v1/chat/completions`, checked; InvalidChatRequest (400) naming
    the field, RequestTooLarge (413) over the bounds."""
    body = parsing.json_body(r, example='{"model": "chat", "messages": [{"role": "user", "content": "Hello"}]}')
    messages = body.get("messages")
    if isinstance(messages, list) and len(messages) > MAX_MESSAGES:
        raise RequestTooLarge(
            f"The request has {len(messages)} messages; at most {MAX_MESSAGES} are accepted: send the recent ones."
        )
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False)
        # a content union fails in both branches; the string branch's "should be a valid
        # string" says nothing useful when the client sent a list
        first = next((e for e in errors if "str" not in e["loc"]), errors[0])
        param = _param(first["loc"])
        reason = first["msg"]
        if first["loc"][-1:] == ("content",) or (
            first["type"] in ("list_type", "string_type") and "content" in first["loc"]
        ):
            reason = 'Input should be a string or a list of content parts like {"type": "text", "text": "..."}'
        raise InvalidChatRequest(f"`{param or 'body'}`: {reason}.", param=param or None) from None
    if request.n != 1:
        raise InvalidChatRequest("Only `n: 1` is supported: a Dify app gives one answer per call.", param="n")
    if sum(len(text_of(m)) for m in request.messages) > MAX_TEXT_CHARS:
        raise RequestTooLarge(f"The messages hold more than {MAX_TEXT_CHARS:,} characters of text: send less.")
    for index, message in enumerate(request.messages):
        if message.role in ("tool", "function"):
            raise InvalidChatRequest(
                "Tool and function messages are not supported: a Dify app calls its own tools.",
                param=f"messages[{index}].role",
            )
    if request.messages[-1].role != "user":
        raise InvalidChatRequest(
            "The last message must be the user's: it is what the app is asked.",
            param=f"messages[{len(request.messages) - 1}].role",
        )
    images_of(request.messages[-1], len(request.messages) - 1)  # refuses what is not a data: URL image
    if not text_of(request.messages[-1]).strip():
        raise InvalidChatRequest(
            "The last user message has no text: say something.", param=f"messages[{len(request.messages) - 1}].content"
        )
    return request


def text_of(message: Message) -> str:
    """A message's text: its string content, or its text parts joined by newlines."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(part.text for part in message.content if isinstance(part, TextPart))


#: `data:<image type>;base64,<data>`: the only image URLs taken (the plugin fetches no URL
#: a client names: that would let any caller make it reach hosts inside the network).
_DATA_URL = re.compile(r"data:(image/[A-Za-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]*)", re.DOTALL)


def images_of(message: Message, index: int) -> list[FilePart]:
    """The images of a message's `image_url` parts, decoded (not yet checked against the
    app's form, not uploaded); InvalidChatRequest for one that is not a base64 data: URL."""
    found: list[FilePart] = []
    parts = message.content if isinstance(message.content, list) else []
    for position, part in enumerate(parts):
        if not isinstance(part, ImagePart):
            continue
        match = _DATA_URL.fullmatch(part.image_url.url)
        content = None
        if match is not None:
            try:
                content = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)
            except ValueError:
                content = None
        if match is None or content is None:
            raise InvalidChatRequest(
                "Send each image as a base64 data: URL (`data:image/png;base64,...`): the plugin does not fetch "
                "image links.",
                param=f"messages[{index}].content[{position}].image_url.url",
                code="invalid_image_url",
            )
        mimetype = match.group(1).lower()
        extension = (mimetypes.guess_extension(mimetype) or ".bin").lstrip(".")
        found.append(
            FilePart(variable="", filename=f"image-{len(found) + 1}.{extension}", mimetype=mimetype, content=content)
        )
    return found


# --- conversations ----------------------------------------------------------------
#: Roles as kept in the history hash and the context (OpenAI's `developer` is the new `system`).
_ROLE = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
type Turn = tuple[str, str]  # (role, text)


def turns_of(messages: Sequence[Message]) -> list[Turn]:
    return [(_ROLE.get(m.role, m.role), text_of(m).strip()) for m in messages]


def history_hash(app_id: str, turns: Sequence[Turn]) -> str:
    """What identifies a history: the app and every (role, text), unambiguously encoded.

    Texts are compared stripped: some clients trim the answers they send back."""
    encoded = json.dumps([app_id, [list(t) for t in turns]], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Prompt:
    """What the app is asked: `query` (with the earlier turns as context when the
    history is unknown), and the key of the history before the last message (None for a
    first message, which never continues a conversation)."""

    query: str
    history_before: str | None
    turns: tuple[Turn, ...]


def render_context(turns: Sequence[Turn], query: str) -> str:
    """A new conversation's query carrying the earlier turns (most recent that fit)."""
    lines: list[str] = []
    size = 0
    for role, text in reversed(turns):
        line = f"{role}: {text}"
        if size + len(line) > MAX_CONTEXT_CHARS:
            break
        lines.insert(0, line)
        size += len(line) + 1
    if not lines:
        return query
    return "The conversation so far:\n" + "\n".join(lines) + f"\n\nThe user's new message:\n{query}"


def plan_prompt(app_id: str, messages: Sequence[Message]) -> Prompt:
    turns = tuple(turns_of(messages))
    earlier, query = turns[:-1], turns[-1][1]
    continues = any(role == "assistant" for role, _ in earlier)  # a first message never continues
    return Prompt(query=query, history_before=history_hash(app_id, earlier) if continues else None, turns=turns)


@dataclass
class ConversationIndex:
    """History hash -> Dify conversation id, in the plugin's storage.

    Bounded without any listing: a hash lands in one of SLOTS slots
    (`openai/conversations/<slot>`), which holds the full hash beside the id; a newer
    history in the same slot replaces the older one (that conversation then continues
    with its turns as context). Works across plugin processes (serverless), since it
    lives in the daemon's storage, and never raises: a storage failure is logged and
    the turn starts a new conversation. The id comes only from here, never from the
    client, and a slot that holds another hash is no match.
    """

    storage: Storage
    SLOTS: ClassVar[int] = 4096  # x ~100 bytes: well inside the manifest's storage quota
    PREFIX: ClassVar[str] = "openai/conversations/"

    def _key(self, digest: str) -> str:
        return f"{self.PREFIX}{int(digest[:8], 16) % self.SLOTS}"

    def lookup(self, digest: str) -> str | None:
        key = self._key(digest)
        try:
            if not self.storage.exist(key):
                return None
            stored = json.loads(self.storage.get(key).decode("utf-8"))
        except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception; logged, never shown
            logger.warning("could not read %s: %s", key, error)
            return None
        if not isinstance(stored, dict) or stored.get("hash") != digest:
            return None
        conversation = stored.get("conversation_id")
        try:
            return str(uuid.UUID(conversation)) if isinstance(conversation, str) else None
        except ValueError:
            return None

    def remember(self, digest: str, conversation_id: str) -> None:
        key = self._key(digest)
        value = json.dumps({"hash": digest, "conversation_id": conversation_id}).encode("utf-8")
        try:
            self.storage.set(key, value)
        except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception; logged, never shown
            logger.warning("could not keep %s: %s", key, error)


# --- the app's events as text -------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def _tokens(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_of(metadata: object) -> Usage | None:
    """`message_end.metadata.usage` (chat, completion) as OpenAI's usage."""
    usage = metadata.get("usage") if isinstance(metadata, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    prompt, completion = _tokens(usage.get("prompt_tokens")), _tokens(usage.get("completion_tokens"))
    return Usage(prompt, completion, _tokens(usage.get("total_tokens")) or prompt + completion)


def output_text(outputs: object) -> str:
    """A finished workflow's answer: its `text` output, else its only string output,
    else all outputs as JSON."""
    if not isinstance(outputs, Mapping) or not outputs:
        return ""
    if isinstance(outputs.get("text"), str):
        return str(outputs["text"])
    strings = [v for v in outputs.values() if isinstance(v, str)]
    if len(strings) == 1 and len(outputs) == 1:
        return strings[0]
    return json.dumps(outputs, ensure_ascii=False, default=str)


@dataclass
class Outcome:
    """What a run left besides its text: the Dify conversation it used, its usage."""

    conversation_id: str | None = None
    usage: Usage | None = None
    #: `message_replace` (output moderation replaced the answer): the whole answer now.
    #: A non-streamed reply gives it instead; a stream cannot take back what it sent.
    replaced: str | None = None


def app_failed_event(event: Mapping[str, Any]) -> AppFailed:
    """Dify's in-stream `error` event: its wording stays in the plugin log (it can carry
    a model provider's text); the client gets Dify's status class and a stable code."""
    logger.warning("app error event: %s", {k: event.get(k) for k in ("status", "code", "message")})
    return AppFailed("The app failed while answering.", code="app_stream_failed")


def app_pieces(events: Iterator[dict[str, Any]], kind: AppKind, outcome: Outcome) -> Iterator[str]:
    """The answer's text deltas; `outcome` is filled as the events pass. AppFailed when
    the run fails (an `error` event; a workflow or chatflow run that ends `failed` or `stopped`)."""
    streamed = False
    for event in events:
        name = event.get("event")
        if outcome.conversation_id is None and isinstance(event.get("conversation_id"), str):
            outcome.conversation_id = event["conversation_id"]
        if name in ("message", "agent_message"):
            answer = event.get("answer")
            if isinstance(answer, str) and answer:
                streamed = True
                yield answer
        elif name == "text_chunk" and kind == "workflow":
            text = (event.get("data") or {}).get("text")
            if isinstance(text, str) and text:
                streamed = True
                yield text
        elif name == "message_replace" and isinstance(event.get("answer"), str):
            outcome.replaced = event["answer"]
        elif name == "message_end":
            outcome.usage = usage_of(event.get("metadata")) or outcome.usage
        elif name == "workflow_finished":
            end = RunEnd.of(event.get("data"))
            if not end.usable:
                logger.warning("workflow ended %s: %s", end.status, end.error)
                if kind != "workflow":
                    # a chatflow's run: what its `error` event, next in the inner API, would
                    # say; the Service API never sends that event (real-dify-1.13.2:
                    # chat_fail_stream vs inner_chat_fail_stream)
                    raise AppFailed("The app failed while answering.", code="app_stream_failed")
                raise AppFailed("The workflow run failed.", code="workflow_failed")
            if kind != "workflow":
                continue
            total = _tokens(event["data"].get("total_tokens"))
            outcome.usage = Usage(0, total, total)
            if not streamed:
                text = output_text(end.outputs)
                if text:
                    yield text
        elif name == "error":
            raise app_failed_event(event)


# --- OpenAI's answers ---------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """The identity every chunk of one answer shares."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: Usage | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": (usage or Usage()).as_dict(),
        }

    def completion(self, text: str, usage: Usage | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": (usage or Usage()).as_dict(),
        }


def _data(payload: Any) -> ServerSentEvent:
    """A bare `data:` line, as OpenAI sends (no `event:` or `id:`)."""
    return ServerSentEvent(data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


DONE: Final = ServerSentEvent(data="[DONE]")


def stream_response(
    pieces: Iterator[str],
    reply: Reply,
    outcome: Outcome,
    keepalive_seconds: float,
    *,
    include_usage: bool,
    on_complete: Callable[[str], None],
) -> Response:
    """`pieces` as a `chat.completion.chunk` stream. Waits for the first piece (at most
    `keepalive_seconds`) before answering, so that a call Dify refuses at once is a
    proper HTTP error (raised here as AppFailed); deltas already waiting go out as one
    chunk; a failure later ends the stream with an error line. `on_complete(text)` runs
    once the whole answer is in, before the final chunk goes out."""
    batches = keepalive_batches(pieces, keepalive_seconds)
    first = next(batches, None)  # AppFailed propagates: nothing was sent yet
    return http.sse_batch_response(_frames(first, batches, reply, outcome, include_usage, on_complete))


def _frames(
    first: list[str] | KeepAlive | None,
    batches: Iterator[list[str] | KeepAlive],
    reply: Reply,
    outcome: Outcome,
    include_usage: bool,
    on_complete: Callable[[str], None],
) -> Iterator[list[ServerSentEvent]]:
    sent: list[str] = []
    yield [_data(reply.chunk({"role": "assistant", "content": ""}))]
    try:
        for batch in _chain(first, batches):
            if isinstance(batch, KeepAlive):
                yield [ServerSentEvent.keep_alive()]
                continue
            text = "".join(batch)
            sent.append(text)
            yield [_data(reply.chunk({"content": text}))]
    except AppFailed as failure:
        yield [_data(error_body(failure))]
        return
    # before the end goes out: a client may send its next turn the moment it has it,
    # and a serverless plugin's response may be over once the last chunk is written
    on_complete("".join(sent))
    ending = [_data(reply.chunk({}, "stop"))]
    if include_usage:
        ending.append(_data(reply.usage_chunk(outcome.usage)))
    ending.append(DONE)
    yield ending


def _chain(
    first: list[str] | KeepAlive | None, batches: Iterator[list[str] | KeepAlive]
) -> Iterator[list[str] | KeepAlive]:
    if first is not None:
        yield first
    yield from batches


def completion_response(pieces: Iterator[str], reply: Reply, outcome: Outcome) -> tuple[Response, str]:
    """The whole answer as one `chat.completion` (application/json), and its text;
    AppFailed if the run fails."""
    text = "".join(pieces)
    if outcome.replaced is not None:
        text = outcome.replaced
    return http.json_response(reply.completion(text, outcome.usage)), text


# --- one request, start to end ------------------------------------------------------
def text_input(session: Session, model: Model, settings: Mapping[str, Any]) -> str:
    """The input a workflow's (or completion app's) user message fills: the one named in
    `openai_text_input`, else the app's first required text/paragraph input, else its
    first one; AppNotConfigured naming the setting when the app has none."""
    named = text_setting(settings, TEXT_INPUT, required=False)
    if named is not None:
        return named.strip()
    texts = [
        f for f in app_form.fetch_form(session, model.app_id, model.setting) if f.kind in ("text-input", "paragraph")
    ]
    chosen = next((f for f in texts if f.required), texts[0] if texts else None)
    if chosen is None:
        raise AppNotConfigured(
            f"The app set in `{model.setting}` has no text input for the user's message: add one to the app, "
            f"or name the input to fill in the endpoint's `{TEXT_INPUT}` setting."
        )
    return chosen.variable


class ImageNotAccepted(BadRequest):
    """The request carries images but the app's input form has no input that takes one."""

    code = "image_not_accepted"


def with_images(call: AppCall, images: Sequence[FilePart], max_bytes: int, model: Model) -> AppCall:
    """`call` with the images in the first file input of the app that accepts images
    (checked against its form, then uploaded with `session.file.upload`); ImageNotAccepted
    when it has none. Chat and agent apps keep the inputs of a conversation's first turn
    (Dify's rule): an image sent later in a continued conversation reaches only chatflows."""
    form = files.InputForm.from_parameters(call.parameters())
    variable = next((v for v, rule in form.files.items() if rule.accepts("image", "png")), None)
    if variable is None:
        raise ImageNotAccepted(
            f"The model `{model.id}` takes no images: its app has no file input that accepts images. "
            "Send text only, or ask the workspace owner to add an image input to the app."
        )
    parts = {variable: [replace(image, variable=variable) for image in images]}
    files.check(parts, form, max_bytes)
    return replace(call, inputs={**call.inputs, **files.upload(call, parts, form)})


def _events(call: AppCall, retry: AppCall | None) -> Iterator[dict[str, Any]]:
    """`call`'s events; when Dify no longer knows the remembered conversation (deleted,
    expired), `retry` (a new conversation with the turns as context) instead."""
    events = call.stream()
    try:
        first = next(events)
    except StopIteration:
        return
    except AppFailed as failure:
        if retry is None or failure.code != "conversation_not_found":
            raise
        yield from retry.stream()
        return
    yield first
    yield from events


def answer(
    session: Session,
    model: Model,
    request: ChatRequest,
    settings: Mapping[str, Any],
    keepalive_seconds: float,
    max_file_bytes: int,
) -> Response:
    """Run `model`'s app for `request` and answer in OpenAI's shape (streamed or not);
    AppFailed / AppNotConfigured / a 4xx when it fails before anything was sent. Images
    of the last message go to the app's image input (`with_images`)."""
    reply, outcome = Reply(model.id), Outcome()
    images = images_of(request.messages[-1], len(request.messages) - 1)
    if model.kind == "chat":
        events, on_complete = _chat_run(session, model, request, images, max_file_bytes, outcome)
    else:
        events, on_complete = _app_run(session, model, request, settings, images, max_file_bytes), _nothing
    pieces = app_pieces(events, model.kind, outcome)  # a completion app in Dify 1.13.2: apps.completion_unsupported
    if request.stream:
        return stream_response(
            pieces, reply, outcome, keepalive_seconds, include_usage=request.include_usage, on_complete=on_complete
        )
    response, text = completion_response(pieces, reply, outcome)
    on_complete(text)
    return response


def _nothing(text: str) -> None:
    """What is kept of a workflow's or completion app's answer: nothing (no conversation)."""


def _chat_run(
    session: Session,
    model: Model,
    request: ChatRequest,
    images: Sequence[FilePart],
    max_file_bytes: int,
    outcome: Outcome,
) -> tuple[Iterator[dict[str, Any]], Callable[[str], None]]:
    """A chat-type app's events for the last message, in the Dify conversation the
    history belongs to (a new one, with the earlier turns as context, when the history
    is unknown or Dify forgot it), and what to do with the finished answer: remember
    that the history, answer included, belongs to the conversation the app used."""
    prompt = plan_prompt(model.app_id, request.messages)
    index = ConversationIndex(session.storage)
    known = index.lookup(prompt.history_before) if prompt.history_before else None
    fresh = AppCall(
        session,
        kind="chat",
        setting=model.setting,
        app_id=model.app_id,
        inputs=request.inputs,
        query=render_context(prompt.turns[:-1], prompt.query),
        user=request.user,
    )
    if images:
        fresh = with_images(fresh, images, max_file_bytes, model)
    continued = None if known is None else replace(fresh, query=prompt.query, conversation_id=known)

    def remember(text: str) -> None:
        if outcome.conversation_id is not None:
            turns = [*prompt.turns, ("assistant", text.strip())]
            index.remember(history_hash(model.app_id, turns), outcome.conversation_id)

    return _events(continued or fresh, fresh if continued else None), remember


def _app_run(
    session: Session,
    model: Model,
    request: ChatRequest,
    settings: Mapping[str, Any],
    images: Sequence[FilePart],
    max_file_bytes: int,
) -> Iterator[dict[str, Any]]:
    """A workflow's or completion app's events: the last message fills its text input
    (`text_input`), the request's `inputs` the others."""
    variable = text_input(session, model, settings)
    call = AppCall(
        session,
        kind=model.kind,
        setting=model.setting,
        app_id=model.app_id,
        inputs={**request.inputs, variable: text_of(request.messages[-1])},
        user=request.user,
    )
    if images:
        call = with_images(call, images, max_file_bytes, model)
    return _events(call, None)
