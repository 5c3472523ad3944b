"""The endpoint kit: what any Dify endpoint plugin reuses unchanged (copy this folder as is).

Endpoints stay thin: parse the request (`parsing`) → read the settings once and pick
the app (`settings.EndpointSettings`) → call it (`apps.AppCall`) → answer
(`streaming`, `http`). `errors` names every failure a client can see; `auth` checks
the optional API key; `cors` answers browsers of other origins; `sse` frames
Server-Sent Events; `pacing` adds keep-alives and batches bursts; `files` checks and
uploads file inputs; `app_form` reads an app's input form; `signatures` checks
HMAC-signed requests (webhooks); `i18n` picks the visitor's language; `limits`
holds every platform and request limit; `log` writes to the plugin's log in Dify.
Each of these is shown with a short example in docs/template.md.

Nothing here belongs to one plugin, nor imports anything outside this folder: a
plugin's own pages live in their own package next to it. Endpoints import these modules (never
classes deriving from `Endpoint`: the SDK takes the one Endpoint subclass in an
endpoint module's namespace).
"""
