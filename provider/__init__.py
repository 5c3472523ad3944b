"""Shared code of this plugin's endpoints, written to be copied into any endpoint plugin as is.

Endpoints stay thin: parse the request (`parsing`) → read the settings once and pick
the app (`settings.EndpointSettings`) → call it (`apps.AppCall`) → answer
(`streaming`, `http`). `errors` names every failure a client can see; `auth` checks
the optional API key; `sse` frames Server-Sent Events; `pacing` adds keep-alives;
`log` writes to the plugin's log in Dify; `duck_page` is the Duck chat page (HTML
streamed as a chat app answers, everything escaped).

Endpoints import these modules (never classes deriving from `Endpoint`: the SDK
takes the one Endpoint subclass in an endpoint module's namespace).
"""
