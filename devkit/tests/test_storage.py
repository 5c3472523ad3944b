"""`session.storage` behind the devkit answers as the daemon does, in both install methods.

The probe's `POST /storage` runs a list of storage operations with the SDK and
reports each result or the exception the SDK raised. Its manifest grants storage
with the smallest quota the daemon accepts, 1024 bytes.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support import PROBE_PLUGIN

from dify_plugin_devkit import check_plugin
from dify_plugin_devkit.testing import MODES, RunningDevkit, start_devkit

CONFIG = {"endpoints": [{"hook_id": "probe", "settings": {"greeting": "hello"}}]}
QUOTA = 1024
LOAD_ERROR = "load data failed, please check if the key is correct or you have not set it"
QUOTA_ERROR = "save data failed: allocated size is greater than max storage size"
TRAVERSAL = "invalid key: path traversal attempt detected"
PERMISSION_ERROR = "permission denied, you need to enable storage access in plugin manifest"


@pytest.fixture(scope="module", params=MODES)
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevkit]:
    work = tmp_path_factory.mktemp(f"storage-{request.param}")
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, mode=request.param, workdir=work, state_dir=work / "state")
    yield devkit
    devkit.stop()


@pytest.fixture
def devkit(probe: RunningDevkit) -> RunningDevkit:
    """The module's devkit with its storage emptied."""
    assert httpx.delete(f"{probe.base_url}/devkit/storage").status_code == 200
    return probe


def run(devkit: RunningDevkit, *ops: dict[str, Any]) -> list[dict[str, Any]]:
    response = devkit.client("probe").post("/storage", json=list(ops))
    assert response.status_code == 200, response.text
    return response.json()


def error(message: str) -> dict[str, str]:
    """What the probe reports when the SDK raises the daemon's error."""
    return {"error": message, "type": "Exception"}


def state_folder(devkit: RunningDevkit) -> Path:
    return Path(devkit.storage()["path"])


# -- the operations ---------------------------------------------------------------
def test_set_get_exist_delete_round_trip(devkit: RunningDevkit) -> None:
    value = bytes(range(256))
    results = run(
        devkit,
        {"op": "set", "key": "k", "hex": value.hex()},
        {"op": "get", "key": "k"},
        {"op": "exist", "key": "k"},
        {"op": "delete", "key": "k"},
        {"op": "exist", "key": "k"},
    )
    assert results == [{"result": None}, {"result": value.hex()}, {"result": True}, {"result": None}, {"result": False}]


def test_missing_key_get_and_delete_fail_as_in_the_daemon(devkit: RunningDevkit) -> None:
    results = run(devkit, {"op": "get", "key": "never"}, {"op": "delete", "key": "never"})
    assert results[0] == error(LOAD_ERROR)  # get of a missing key raises; it is not None
    missing = state_folder(devkit) / "never"
    assert results[1] == error(f"delete data failed: stat {missing}: no such file or directory")


def test_keys_are_paths_cleaned_and_checked_like_the_daemons(devkit: RunningDevkit) -> None:
    longest = "abcdefg/" * 32  # 256 bytes, each path part short enough for the file system
    results = run(
        devkit,
        {"op": "set", "key": "../escape", "value": "x"},
        {"op": "get", "key": "../escape"},
        {"op": "exist", "key": "a/../../escape"},
        {"op": "delete", "key": "back\\slash"},
        {"op": "set", "key": longest, "value": "x"},
        {"op": "set", "key": longest + "h", "value": "x"},
        {"op": "set", "key": "", "value": "x"},
        {"op": "set", "key": "./dir//k", "value": "v"},
        {"op": "get", "key": "dir/k"},
    )
    assert results[:4] == [
        error(f"save data failed: {TRAVERSAL}"),
        error(LOAD_ERROR),
        error(f"exist data failed: {TRAVERSAL}"),
        error(f"delete data failed: {TRAVERSAL}"),
    ]
    assert results[4] == {"result": None}
    assert results[5] == error("save data failed: key length must be less than 256 characters")
    assert results[6] == error(
        "unmarshal backwards invoke request failed: error validating struct: "
        "Key: 'InvokeStorageRequest.Key' Error:Field validation for 'Key' failed on the 'required' tag"
    )
    assert results[7:] == [{"result": None}, {"result": b"v".hex()}]  # path.Clean: the same key
    assert (state_folder(devkit) / "dir" / "k").read_bytes() == b"v"


# -- the quota ----------------------------------------------------------------------
def test_quota_is_the_manifest_size_and_counts_what_was_stored(devkit: RunningDevkit) -> None:
    results = run(
        devkit,
        {"op": "set", "key": "a", "hex": "00" * 1000},
        {"op": "set", "key": "b", "hex": "00" * 100},
        {"op": "set", "key": "a", "hex": "00" * 900},  # a smaller value frees 100 bytes
        {"op": "set", "key": "c", "hex": "00" * (QUOTA - 900)},
        {"op": "set", "key": "d", "hex": "00"},
    )
    assert results == [{"result": None}, error(QUOTA_ERROR), {"result": None}, {"result": None}, error(QUOTA_ERROR)]
    listing = devkit.storage()
    assert listing["quota"] == QUOTA
    assert listing["used"] == QUOTA


def test_a_set_over_quota_fails_after_writing_as_the_daemon_does(devkit: RunningDevkit) -> None:
    """persistence.go saves the file before it checks the quota, and only then fails
    without invalidating its cache: the failed value is there, unless an older one is
    still cached (5 minutes after a get)."""
    results = run(
        devkit,
        {"op": "set", "key": "cached", "value": "old"},
        {"op": "get", "key": "cached"},
        {"op": "set", "key": "cached", "hex": "00" * (QUOTA + 1)},
        {"op": "get", "key": "cached"},
        {"op": "set", "key": "fresh", "hex": "11" * (QUOTA + 1)},
        {"op": "exist", "key": "fresh"},
        {"op": "get", "key": "fresh"},
    )
    assert results == [
        {"result": None},
        {"result": b"old".hex()},
        error(QUOTA_ERROR),
        {"result": b"old".hex()},
        error(QUOTA_ERROR),
        {"result": True},
        {"result": "11" * (QUOTA + 1)},
    ]
    assert devkit.storage()["used"] == 3  # only "old" was counted


# -- what survives, and where -----------------------------------------------------------
def test_values_and_files_survive_a_restart_with_the_same_state_dir(tmp_path: Path) -> None:
    """Stored in one install method, found after a restart in the other: the state is
    the devkit's (as it is the daemon's and Dify's), not the plugin process's."""
    state = tmp_path / "state"
    devkit = start_devkit(PROBE_PLUGIN, CONFIG, mode="local", workdir=tmp_path / "local", state_dir=state)
    try:
        assert run(devkit, {"op": "set", "key": "kept", "value": "across restarts"}) == [{"result": None}]
        upload = devkit.client("probe").post(
            "/upload", params={"filename": "kept.txt", "mimetype": "text/plain"}, content=b"a file"
        )
        record = upload.json()["file"]
    finally:
        devkit.stop()
    assert (state / "devkit-tests" / "probe" / "storage" / "kept").read_bytes() == b"across restarts"
    again = start_devkit(PROBE_PLUGIN, CONFIG, mode="serverless", workdir=tmp_path / "serverless", state_dir=state)
    try:
        assert run(again, {"op": "get", "key": "kept"}) == [{"result": b"across restarts".hex()}]
        assert again.storage()["used"] == len(b"across restarts")  # the quota counter is kept too
        assert [f["id"] for f in again.files()] == [record["id"]]
        # the signing key is kept: a preview URL signed before the restart still works
        old_url = record["preview_url"].replace(devkit.base_url, again.base_url)
        assert httpx.get(old_url).content == b"a file"
    finally:
        again.stop()


def test_devkit_storage_lists_deletes_and_clears(devkit: RunningDevkit) -> None:
    run(devkit, {"op": "set", "key": "one", "value": "1"}, {"op": "set", "key": "dir/two", "value": "22"})
    listing = devkit.storage()
    assert listing["plugin_id"] == "devkit-tests/probe"
    assert listing["keys"] == [
        {"key": "dir/two", "size": 2, "value": b"22".hex()},
        {"key": "one", "size": 1, "value": b"1".hex()},
    ]
    assert listing["used"] == 3
    encoded = devkit.storage("base64")["keys"]
    assert [k["value"] for k in encoded] == [base64.b64encode(b"22").decode(), base64.b64encode(b"1").decode()]

    base = f"{devkit.base_url}/devkit/storage"
    assert httpx.delete(f"{base}/dir/two").json() == {"deleted": "dir/two"}
    assert httpx.delete(f"{base}/dir/two").status_code == 404
    assert devkit.storage()["used"] == 1
    assert run(devkit, {"op": "exist", "key": "dir/two"}) == [{"result": False}]
    assert httpx.delete(base).json() == {"deleted": 1}
    assert devkit.storage()["keys"] == []
    assert devkit.storage()["used"] == 0
    assert run(devkit, {"op": "get", "key": "one"}) == [error(LOAD_ERROR)]


def test_stats_count_storage_calls(devkit: RunningDevkit) -> None:
    before = devkit.stats()["storage_ops"]
    run(devkit, {"op": "set", "key": "s", "value": "1"}, {"op": "get", "key": "s"}, {"op": "get", "key": "s"})
    after = devkit.stats()["storage_ops"]
    assert after.get("set", 0) - before.get("set", 0) == 1
    assert after.get("get", 0) - before.get("get", 0) == 2


# -- the manifest ---------------------------------------------------------------------------
def copy_probe(tmp_path: Path, storage: dict[str, Any] | None) -> Path:
    plugin = tmp_path / "probe"
    shutil.copytree(PROBE_PLUGIN, plugin, ignore=shutil.ignore_patterns("__pycache__", ".devkit-state"))
    manifest = yaml.safe_load((plugin / "manifest.yaml").read_text())
    if storage is None:
        del manifest["resource"]["permission"]["storage"]
    else:
        manifest["resource"]["permission"]["storage"] = storage
    (plugin / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return plugin


@pytest.mark.parametrize("mode", MODES)
def test_without_the_permission_the_daemon_refuses_storage_but_not_uploads(tmp_path: Path, mode: str) -> None:
    plugin = copy_probe(tmp_path, storage=None)
    devkit = start_devkit(plugin, CONFIG, mode=mode, workdir=tmp_path / "work")
    try:
        results = run(devkit, {"op": "set", "key": "k", "value": "v"}, {"op": "get", "key": "k"})
        assert results == [error(PERMISSION_ERROR), error(PERMISSION_ERROR)]
        upload = devkit.client("probe").post(
            "/upload", params={"filename": "a.txt", "mimetype": "text/plain"}, content=b"hi"
        )
        assert upload.json()["file"]["size"] == 2  # upload_file needs no permission in the daemon
        assert not (plugin / ".devkit-state").exists()  # start_devkit keeps state out of the plugin
    finally:
        devkit.stop()


def test_check_refuses_a_storage_permission_without_a_size(tmp_path: Path) -> None:
    """The SDK defaults a missing size to 1 MiB; the daemon reads 0 and refuses the manifest."""
    plugin = copy_probe(tmp_path, storage={"enabled": True})
    problems = [p for p in check_plugin(plugin) if p.field == "resource.permission.storage.size"]
    assert len(problems) == 1
    assert "1024 to 1073741824" in problems[0].message
    assert not check_plugin(copy_probe(tmp_path / "sized", storage={"enabled": True, "size": 1024}))
