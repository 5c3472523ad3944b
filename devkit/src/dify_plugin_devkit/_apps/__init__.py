"""The devkit's demo app backend: what answers a plugin's `self.session.app.*` calls.

Apps are declared in YAML fixtures (`DEFAULT_APPS_FILE` holds the embedded demo apps);
`AppBackend.invoke` turns one SDK app request into the events Dify would send back.
File inputs are resolved through a `FileLookup` (tool file id -> `StoredFileInfo`).
"""

from pathlib import Path

from .backend import AppBackend
from .errors import AppCallError, AppUnreachableError
from .inputs import FileLookup, StoredFileInfo
from .service_api import DEVKIT_USER, SecretInConfigError, ServiceApiApp
from .spec import AppSpec, load_apps, parse_apps

#: The embedded demo apps (demo_apps.yaml beside this module).
DEFAULT_APPS_FILE: Path = Path(__file__).resolve().parent / "demo_apps.yaml"

__all__ = [
    "DEFAULT_APPS_FILE",
    "DEVKIT_USER",
    "AppBackend",
    "AppCallError",
    "AppSpec",
    "AppUnreachableError",
    "FileLookup",
    "SecretInConfigError",
    "ServiceApiApp",
    "StoredFileInfo",
    "load_apps",
    "parse_apps",
]
