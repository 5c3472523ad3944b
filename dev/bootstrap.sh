#!/usr/bin/env bash
# Set up .venv from uv.lock (the plugin, the devkit workspace member, the dev tools) on a fresh machine: find a Python >= 3.12 and uv by
# ourselves, because neither is guaranteed to be the default `python3` or on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

is_ok_python() {  # $1: interpreter path or name; true when it runs and is >= 3.12
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local c
  if [ -n "${PYTHON:-}" ]; then
    is_ok_python "$PYTHON" && { command -v "$PYTHON" || echo "$PYTHON"; return; }
    echo "bootstrap: \$PYTHON=$PYTHON is not a Python >= 3.12" >&2; return 1
  fi
  for c in python3.12 python3.13 python3.14 python3 python; do
    if command -v "$c" >/dev/null 2>&1 && is_ok_python "$c"; then
      # resolve pyenv shims and aliases to the real interpreter
      "$c" -c 'import sys; print(sys.executable)'; return
    fi
  done
  # interpreters installed but not on PATH: pyenv, uv-managed, common prefixes
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)/versions")
  roots+=("$HOME/.pyenv/versions" "$HOME/.local/share/uv/python")
  local r candidates=()
  for r in "${roots[@]}"; do candidates+=("$r"/*/bin/python3); done
  candidates+=(/usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9] /opt/homebrew/bin/python3.1[2-9])
  # Dify runs plugins on 3.12: prefer it, then the newest other version
  for c in $(printf '%s\n' "${candidates[@]}" | grep -F '3.12' | sort -rV) \
           $(printf '%s\n' "${candidates[@]}" | grep -vF '3.12' | sort -rV); do
    [ -x "$c" ] && is_ok_python "$c" && { echo "$c"; return; }
  done
  if command -v uv >/dev/null 2>&1; then
    c=$(uv python find '>=3.12' 2>/dev/null) && is_ok_python "$c" && { echo "$c"; return; }
  fi
  echo "bootstrap: no Python >= 3.12 found. Install python3.12 (or uv) or set PYTHON=/path/to/python3.12" >&2
  return 1
}

find_uv() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  # uv is a PyPI package: install it into a private tools venv, never system-wide
  local tools=.cache/uv-tool
  if [ ! -x "$tools/bin/uv" ]; then
    echo "bootstrap: installing uv into $tools" >&2
    "$PY" -m venv "$tools" >&2
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5" >&2
  fi
  echo "$PWD/$tools/bin/uv"
}

PY=$(find_python)
UV=$(find_uv)
echo "bootstrap: python $("$PY" -c 'import platform; print(platform.python_version())') at $PY; $("$UV" --version)" >&2
export UV_PYTHON_DOWNLOADS=never
# A copy of the template that renamed its project (or changed a dependency) has a stale
# lock: bring it up to date once, visibly, rather than fail on --frozen below.
if ! "$UV" lock --check --python "$PY" >/dev/null 2>&1; then
  echo "bootstrap: pyproject.toml changed since uv.lock was written: running uv lock" >&2
  "$UV" lock --python "$PY" >&2
fi
# --all-packages: the devkit is a workspace member that no dependency list names.
# --compile-bytecode: every Python process of the suite (the devkit, each plugin process)
# would otherwise compile its ~700 modules from source on every start where
# PYTHONDONTWRITEBYTECODE is set (half of a devkit's start-up); the devkit's own source,
# an editable install, is compiled the same way.
"$UV" sync --frozen --all-packages --compile-bytecode --python "$PY" >&2
if [ -d devkit/src ]; then .venv/bin/python -m compileall -q devkit/src >&2; fi
# A copy of the template without devkit/ (docs/template.md) names the devkit in
# dev/devkit.txt, a requirements file of one line: a wheel built from the template
# repository, a folder or a VCS URL. It is dev-only, so it is not in pyproject.toml:
# Dify's `uv sync --no-dev` without --frozen would still resolve it, and fail on a
# path that the package does not carry. `uv sync` above removes what the lock does not
# name, so it is installed again after every sync.
if [ ! -d devkit ] && [ -f dev/devkit.txt ]; then
  "$UV" pip install --python .venv/bin/python --compile-bytecode -r dev/devkit.txt >&2
fi
# tests/clients/node: the `openai` npm package for the Node client tests, from its lock
# (npm's cache first, so a machine that has it needs no network). Without Node >= 20
# those tests are skipped, never failed; a copy of the template without them skips this.
if [ -f tests/clients/node/package-lock.json ] && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  (cd tests/clients/node && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2) \
    || echo "bootstrap: npm ci in tests/clients/node failed: the Node client tests will be skipped" >&2
fi
