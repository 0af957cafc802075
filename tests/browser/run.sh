#!/usr/bin/env bash
# End-to-end test in a real browser: JupyterLab on a free local port with the
# installed Asyncbook kernelspec, driven by Playwright with Debian's Chromium.
# Screenshots and the server log go to target/browser/. Needs `make install`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv"
OUT="$ROOT/target/browser"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
NOTEBOOK=browser-check.ipynb

if [[ ! -x "$VENV/bin/jupyter" ]]; then
    echo "no $VENV/bin/jupyter: run 'make install' first" >&2
    exit 2
fi

# Playwright cannot download a browser here; it drives the distribution's.
if [[ ! -x "$CHROMIUM" ]]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

cd "$HERE"
if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.png
WORK="$(mktemp -d -t asyncbook-browser.XXXXXX)"
SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        # SIGTERM lets JupyterLab shut its kernels down; force it after 20 s.
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 40); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# The server works on a copy, so saving from the browser leaves the fixture as it is.
mkdir -p "$WORK/notebooks" "$WORK/config" "$WORK/runtime" "$WORK/lab-settings" "$WORK/lab-workspaces"
cp "$HERE/$NOTEBOOK" "$WORK/notebooks/"
# Never fetch news: the page would otherwise ask, over the notebook, whether to.
mkdir -p "$WORK/lab-settings/@jupyterlab/apputils-extension"
echo '{"fetchNews": "false", "checkForUpdates": false}' \
    >"$WORK/lab-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"

PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
URL="http://127.0.0.1:$PORT"

# A private config, runtime, settings and workspace dir: the user's own
# JupyterLab setup neither leaks into the test nor gets changed by it. News
# and update checks and the PyPI extension manager are off, so the server
# only talks to this machine. The app is exposed as window.jupyterapp, so the
# test can reach the notebook's sanitizer. --allow-root: CI and containers run as root.
JUPYTER_CONFIG_DIR="$WORK/config" \
JUPYTER_RUNTIME_DIR="$WORK/runtime" \
JUPYTERLAB_SETTINGS_DIR="$WORK/lab-settings" \
JUPYTERLAB_WORKSPACES_DIR="$WORK/lab-workspaces" \
    "$VENV/bin/jupyter" lab --no-browser --ip=127.0.0.1 --port="$PORT" --port-retries=0 \
    --IdentityProvider.token="$TOKEN" --ServerApp.root_dir="$WORK/notebooks" --allow-root \
    --LabApp.news_url=None --LabApp.extension_manager=readonly --LabApp.expose_app_in_browser=True \
    --LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate \
    >"$OUT/jupyter.log" 2>&1 &
SERVER_PID=$!

echo "browser: JupyterLab on $URL (log: target/browser/jupyter.log)"
for _ in $(seq 240); do
    if curl -fsS -o /dev/null "$URL/api/status?token=$TOKEN" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "browser: JupyterLab exited before answering:" >&2
        tail -n 30 "$OUT/jupyter.log" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fsS -o /dev/null "$URL/api/status?token=$TOKEN" || {
    echo "browser: JupyterLab did not answer within 120 s" >&2
    exit 1
}

JUPYTER_URL="$URL" JUPYTER_TOKEN="$TOKEN" NOTEBOOK="$NOTEBOOK" OUT_DIR="$OUT" CHROMIUM="$CHROMIUM" \
    node "$HERE/e2e.mjs"
