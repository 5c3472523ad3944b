"""Calling the workspace's apps through reverse invocation, and what a failure means.

The SDK raises a bare `Exception` whose text is the daemon's wording for every
failed app call. `AppCall` catches it in exactly one place (`_translated`) and turns
it into an `AppFailed` whose status says whose fault it was (the caller's inputs:
400; the endpoint's configuration: 503; the app: 502/504), with a message safe to
show. The original text goes to the plugin log, never to the client: it can name
internal hosts, ids and Dify's own exception texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from provider.errors import AppFailed
from provider.log import plugin_logger

if TYPE_CHECKING:
    # Importing the SDK at runtime would load all of it (and gevent's monkey-patching)
    # into every unit test of this module; endpoints hand us the session they got.
    from dify_plugin.core.runtime import Session

logger = plugin_logger(__name__)

#: The SDK interface to call: `session.app.chat`, `.workflow` or `.completion`.
AppKind = Literal["chat", "workflow", "completion"]
#: Server-Sent Events as they come, or one result once the app has finished.
ResponseMode = Literal["streaming", "blocking"]

# Dify's API refused the call before the app ran; group 2 is Dify's error JSON.
_REJECTED = re.compile(r"^invoke app failed: request failed with status code: (\d+) and respond with: (.*)$", re.DOTALL)


@dataclass(frozen=True)
class AppCall:
    """One call to the app chosen in the endpoint's `setting`.

    `kind` picks the SDK interface and must match the app's type (a chat, agent or
    chatflow app is `chat`); `query` and `conversation_id` are for chat apps only.
    `setting` names the app-selector the app came from, so that failure messages
    can tell the workspace owner which setting to fix. `user` is passed on to Dify,
    which currently replaces it with the session's user.
    """

    session: Session
    kind: AppKind
    setting: str
    app_id: str
    inputs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    user: str | None = None
    query: str | None = None
    conversation_id: str | None = None

    def stream(self) -> Generator[dict[str, Any], None, None]:
        """Each app event (a Dify SSE event as a dict) as it arrives; AppFailed on failure,
        whether the call is refused at once or the app fails mid-stream."""
        with self._translated():
            yield from self._invoke("streaming")

    def parameters(self) -> Mapping[str, Any]:
        """The app's parameters (`fetch_app`: Dify's `/parameters`, with `user_input_form`);
        AppFailed on failure (an app that is gone is `app_not_found`)."""
        with self._translated("read"):
            parameters: Mapping[str, Any] = self.session.app.fetch_app(self.app_id)
            return parameters

    def blocking(self) -> dict[str, Any]:
        """Dify's blocking result; AppFailed on failure. Agent apps cannot answer this way."""
        with self._translated():
            result: dict[str, Any] = self._invoke("blocking")
            return result

    @contextmanager
    def _translated(self, action: Literal["call", "read"] = "call") -> Iterator[None]:
        """The one place that catches what the SDK raises (see the module doc); `action`
        says whether the app was being called or only read (`fetch_app`)."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - the SDK raises bare Exception; see module doc
            raise self.failure(error, action) from None

    def _invoke(self, mode: ResponseMode) -> Any:
        app = self.session.app
        if self.kind == "chat":
            return app.chat.invoke(
                app_id=self.app_id,
                query=self.query or "",
                inputs=dict(self.inputs),
                response_mode=mode,
                conversation_id=self.conversation_id,
                user=self.user,
            )
        interface = app.workflow if self.kind == "workflow" else app.completion
        return interface.invoke(app_id=self.app_id, inputs=dict(self.inputs), response_mode=mode, user=self.user)

    def failure(self, error: Exception, action: Literal["call", "read"] = "call") -> AppFailed:
        """Translate the daemon's error text into what the client may see (and log the text):
        the one translation of the SDK's errors, for calling an app and for reading its form."""
        text = str(error)
        if action == "read":
            logger.warning("fetch_app failed (%s via %s): %s", self.app_id, self.setting, text)
        else:
            logger.warning("app call failed (%s %s via %s): %s", self.kind, self.app_id, self.setting, text)
        rejected = _REJECTED.match(text)
        if rejected:
            return self._rejected(int(rejected.group(1)), rejected.group(2))
        if text.startswith("permission denied"):
            return AppFailed(
                f"The plugin is not allowed to {action} apps (its manifest lacks the app permission).",
                code="app_permission_denied",
                status=503,
            )
        if text.startswith("invocation exited without response"):
            return AppFailed("The app did not answer in time.", code="app_timeout", status=504)
        if text.startswith("fetch app failed"):
            # the daemon's whole text when Dify answers fetch_app with an error (e.g. the app is gone)
            return AppFailed(
                f"The app set in `{self.setting}` was not found in this workspace; choose another app "
                "in the endpoint's settings.",
                code="app_not_found",
                status=503,
            )
        if text.startswith("read app failed"):
            return AppFailed("The app failed while answering.", code="app_stream_failed")
        return AppFailed("The app could not be run.", code="app_failed")

    def _unknown_conversation(self, status: int, payload: object, message: str) -> bool:
        """Dify rejects a `conversation_id` it does not know with 400 `invalid_param` and an
        EMPTY message on chat and agent apps (a "conversation not found" 404 on some
        versions); the caller can fix that by starting a new conversation."""
        if self.conversation_id is None:
            return False
        code = payload.get("code") if isinstance(payload, dict) else None
        return (status == 400 and code == "invalid_param" and not message) or (
            status == 404 and "conversation" in message.lower()
        )

    def _rejected(self, status: int, body: str) -> AppFailed:
        """Dify's API refused the call before running the app (its error JSON in `body`)."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
        if message == "app not found":
            return AppFailed(
                f"The app set in `{self.setting}` was not found in this workspace; choose another app "
                "in the endpoint's settings.",
                code="app_not_found",
                status=503,
            )
        if message == "missing query":
            return AppFailed(
                f"The app set in `{self.setting}` is a chat app and needs a question; choose a "
                f"{self.kind} app in the endpoint's settings.",
                code="app_wrong_type",
                status=503,
            )
        if self._unknown_conversation(status, payload, message):
            return AppFailed(
                "This conversation does not exist (or belongs to another app): leave conversation_id "
                "empty to start a new one.",
                code="conversation_not_found",
                status=404,
            )
        if 400 <= status < 500 and _is_input_refusal(message):
            # The app refused the inputs (e.g. "topic is required in input form"): the caller can fix it.
            return AppFailed(f"The app rejected the request: {message}", code="invalid_inputs", status=400)
        if self.kind == "completion" and status == 500:
            return completion_unsupported(self.setting)
        return AppFailed("The app could not be run.", code="app_failed")


#: Dify's words when it refuses the inputs a call sent: every check of the input form says "in
#: input form" (api/core/app/apps/base_app_generator.py, `_validate_inputs`: "topic is required
#: in input form", "style in input form must be one of the following: [...]", "... must be less
#: than N characters", "... must be a valid number", "... must be a file"); a file value it cannot
#: build or does not take (api/factories/file_factory.py, api/core/file/models.py): "transfer_method
#: is required in file mapping", "No matching enum found for value ...", "ToolFile <id> not found",
#: "Invalid upload file id", "'x' is not a valid FileType", "Detected file type does not match the
#: specified type...", "File validation failed for file: ...", "Invalid input type".
_INPUT_REFUSALS = re.compile(
    r" in input form\b| in file mapping\b|^No matching enum found for value |^ToolFile \S* ?not found"
    r"|^Invalid upload file id|is not a valid FileType|^Detected file type does not match"
    r"|^File validation failed|^Invalid input type"
)


def _is_input_refusal(message: str) -> bool:
    """Whether Dify's 4xx `message` refuses the inputs the caller sent. Other 4xx answers are
    not the caller's to fix, and their text is not theirs to see: Dify 1.13.2 answers a chat
    app whose model cannot be reached with 400 `invalid_param` "Failed to request plugin
    daemon, url: plugin/<tenant id>/management/models" (real-dify-1.13.2/inner-api/
    inner_basic_stream), which must not reach a visitor as "you sent something wrong"."""
    return bool(_INPUT_REFUSALS.search(message))


def completion_unsupported(setting: str) -> AppFailed:
    """A completion app's call answered 500. Dify 1.13.2 answers EVERY plugin call of a
    completion app that way: its reverse invocation hands the completion generator
    `{"inputs", "files"}` without `query`, and the generator reads `args["query"]`
    (KeyError; api/core/plugin/backwards_invocation/app.py,
    api/core/app/apps/completion/app_generator.py; recorded in
    shared/real-dify-1.13.2/inner-api/inner_completion_stream.*). Dify's 500 body is its
    generic one, the same as any other failure of the app's run, so the message names the
    defect and its workaround first and the other cause second, instead of a bare
    "could not be run". No request can fix it: 502, as other failures of the app."""
    return AppFailed(
        f"Dify could not run the completion app set in `{setting}`. Dify 1.13.2 cannot run completion apps "
        f"from a plugin at all (a defect: its plugin invocation drops the `query` a completion app needs); on "
        f"such a Dify, rebuild the app as a workflow app (a Start node with the same inputs, an LLM node, an End "
        f"node) and choose it instead. On a Dify without this defect, the app itself failed: its logs in Dify "
        f"say why.",
        code="completion_unsupported",
        status=502,
    )


#: How a workflow run ends when its outputs can be used: Dify's WorkflowExecutionStatus
#: (and WorkflowRunStatus, api/models/workflow.py) has "partial-succeeded" for a run whose
#: failed nodes were handled by their error strategy; "failed", "stopped" (and "paused"
#: in versions with human input) leave no outputs to use.
_USABLE_RUN_STATUSES = frozenset({"succeeded", "partial-succeeded"})


@dataclass(frozen=True)
class RunEnd:
    """How a workflow run ended (a workflow app's, or the run behind a chatflow's answer):
    the `data` of a streamed `workflow_finished` event, or of a blocking run's envelope.

    Dify says a run failed in its status, not with an HTTP error: a blocking run answers
    200 with status "failed" (real-dify-1.13.2 inner_wf_fail_blocking), a streamed one ends
    with `workflow_finished` status "failed". The inner API then sends an `error` event
    for a chatflow (inner_chat_fail_stream), the Service API does not (chat_fail_stream),
    so a route that streams a chat answer must read the status to tell a half answer from
    a whole one. `error` is Dify's text: it can name internal hosts, so it goes to logs
    and to the app's owner, not to an anonymous caller."""

    status: str
    error: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Whether the run's outputs (a chatflow: its answer) can be used."""
        return self.status in _USABLE_RUN_STATUSES

    @classmethod
    def of(cls, data: object) -> RunEnd:
        """The run end in `data` (a `workflow_finished` event's or a blocking run's);
        a status that is missing or not text is not usable."""
        if not isinstance(data, Mapping):
            return cls(status="")
        status, error, outputs = data.get("status"), data.get("error"), data.get("outputs")
        return cls(
            status=status if isinstance(status, str) else "",
            error=error if isinstance(error, str) and error else None,
            outputs=dict(outputs) if isinstance(outputs, Mapping) else {},
        )


def run_outputs(result: Mapping[str, Any], setting: str = "the endpoint's settings") -> dict[str, Any]:
    """The `outputs` of a blocking workflow run, from Dify's envelope.

    Dify answers a blocking workflow call with HTTP 200 whether the run succeeded or
    not: `{"task_id", "workflow_run_id", "data": {"status", "outputs", "error", ...}}`
    (recorded from Dify 1.13.2: shared/real-dify-1.13.2/inner-api/inner_wf_blocking_good.*
    and inner_wf_fail_blocking.*, where a failed run has status "failed", empty
    outputs and its error text). A run that did not succeed raises AppFailed
    `workflow_failed` (502) instead of passing on outputs that are not there; its
    error text goes to the plugin log only (it can name internal hosts). An answer
    of another shape is AppFailed `app_failed`.
    """
    data = result.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("status"), str):
        logger.warning("unexpected blocking workflow answer (via %s): keys %s", setting, sorted(result))
        raise AppFailed("The app did not answer like a workflow app.", code="app_failed")
    end = RunEnd.of(data)
    if not end.usable:
        run_id = result.get("workflow_run_id") or data.get("id") or "?"
        logger.warning("workflow run %s (via %s) ended %s: %s", run_id, setting, end.status, end.error)
        raise AppFailed(
            f"The workflow run {run_id} of the app set in `{setting}` ended with status {end.status!r}; "
            "its error is in the app's run history in Dify.",
            code="workflow_failed",
        )
    return dict(end.outputs)


def workflow_outputs(call: AppCall) -> dict[str, Any]:
    """Run the workflow app of `call` in blocking mode and return its outputs (see
    `run_outputs`); AppFailed when the call or the run fails.

        call = apps.AppCall(self.session, kind="workflow", setting="workflow_app",
                            app_id=app_setting(settings, "workflow_app"), inputs=order)
        outputs = apps.workflow_outputs(call)   # {"text": "..."}: the End node's variables
    """
    if call.kind != "workflow":
        raise ValueError(f"workflow_outputs needs a workflow AppCall, not {call.kind!r}")
    return run_outputs(call.blocking(), call.setting)
