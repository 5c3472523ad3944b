"""Real apps: the plugin's app calls answered by a real Dify instead of a demo app.

Two ways to reach one: its public Service API (`service_api.py`, any Dify, Dify Cloud
included; the bridge makes its answers those of the inner API) or a self-hosted Dify's
inner API (`inner_api.py`, exactly what the plugin daemon calls). `RealApps` holds the
apps of both kinds that a devkit configuration declares and sends each call to its kind.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

from .inner_api import InnerApiApp, InnerApiApps, describe_inner_apps
from .service_api import FileFinder, ServiceApiApp, ServiceApiApps, describe_apps

RealApp = ServiceApiApp | InnerApiApp
Event = dict[str, Any]


class RealApps:
    """The real apps of one devkit run, by id."""

    def __init__(self, apps: Iterable[RealApp]) -> None:
        apps = list(apps)
        self.service = ServiceApiApps(app for app in apps if isinstance(app, ServiceApiApp))
        self.inner = InnerApiApps(app for app in apps if isinstance(app, InnerApiApp))

    def get(self, app_id: object) -> RealApp | None:
        return self.inner.get(app_id) or self.service.get(app_id)

    @property
    def apps(self) -> list[RealApp]:
        return [*self.service.apps, *self.inner.apps]

    async def invoke(
        self, app: RealApp, request: Mapping[str, Any], files: FileFinder | None = None
    ) -> AsyncGenerator[Event, None]:
        if isinstance(app, InnerApiApp):
            answer = self.inner.invoke(app, request)
        else:
            answer = self.service.invoke(app, request, files)
        try:
            async for event in answer:
                yield event
        finally:
            await answer.aclose()

    async def parameters(self, app: RealApp) -> dict[str, Any]:
        if isinstance(app, InnerApiApp):
            return await self.inner.parameters(app)
        return await self.service.parameters(app)

    @property
    def upload_target(self) -> InnerApiApp | None:
        """The Dify that `session.file.upload` goes to (inner-API apps only), else None:
        the devkit keeps the file (and uploads it to a Service API app when it is used)."""
        return self.inner.upload_target

    async def upload_file(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The `upload_file` reverse call answered by the upload target's Dify."""
        target = self.inner.upload_target
        if target is None:
            raise RuntimeError("no inner-API app to upload files to")
        return await self.inner.upload_file(target, request)


def describe_real_apps(apps: Iterable[RealApp]) -> list[str]:
    """Console lines for `dify-devkit run`: each real app, never its key."""
    apps = list(apps)
    lines = describe_apps(app for app in apps if isinstance(app, ServiceApiApp))
    lines += describe_inner_apps(app for app in apps if isinstance(app, InnerApiApp))
    inner = [app for app in apps if isinstance(app, InnerApiApp)]
    if inner:
        lines.append(f"  session.file.upload goes to {inner[0].base_url} (tenant {inner[0].tenant_id})")
    return lines
