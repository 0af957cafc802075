"""jupyter_client's `restart_kernel` with warm spares on: the restarted
kernel is the spare that warmed while the first one ran, it starts with
nothing of the first session, and its interrupts keep its state. The test
keeps its spares in a folder of its own and stops them at its end."""

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest
from jupyter_client.manager import KernelManager

JUPYTER = pathlib.Path(sys.executable).with_name("jupyter")


def asyncbook():
    listing = json.loads(subprocess.check_output([JUPYTER, "kernelspec", "list", "--json"]))
    return listing["kernelspecs"]["asyncbook"]["spec"]["argv"][0]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is an ended process its parent has not yet collected.
    stat = pathlib.Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def spares(tmp_path):
    folder = tmp_path / "spares"
    folder.mkdir(mode=0o700)
    env = {**os.environ, "ASYNCBOOK_SPARES_DIR": str(folder)}

    def listed():
        out = subprocess.check_output([asyncbook(), "spares"], env=env, text=True)
        return [(int(f[1]), f[3]) for f in (line.split() for line in out.splitlines()[1:])]

    yield folder, listed
    subprocess.run([asyncbook(), "spares", "stop"], env=env, check=False, capture_output=True)


def run(kc, code):
    """Runs a cell; its reply and the text of its stdout and results."""
    shown = []

    def hook(msg):
        content = msg["content"]
        if msg["msg_type"] == "stream":
            shown.append(content["text"])
        elif msg["msg_type"] == "execute_result":
            shown.append(content["data"]["text/plain"])

    reply = kc.execute_interactive(code, timeout=240, output_hook=hook)
    return reply["content"], "".join(shown)


PARENT = "println!(\"{}\", std::os::unix::process::parent_id());"


def test_restart_kernel_takes_the_warm_spare(spares, tmp_path):
    folder, listed = spares
    env = {
        **os.environ,
        "ASYNCBOOK_SPARES": "1",
        "ASYNCBOOK_SPARES_DIR": str(folder),
        "ASYNCBOOK_SPARE_DELAY": "0",
    }
    km = KernelManager(kernel_name="asyncbook")
    km.start_kernel(env=env, cwd=str(tmp_path))
    kc = km.client()
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=240)
        reply, _ = run(kc, "let kept = 5;")
        assert reply["status"] == "ok"

        deadline = time.monotonic() + 240
        while not any(state == "ready" for _, state in listed()):
            assert time.monotonic() < deadline, f"no spare got ready: {listed()}"
            time.sleep(0.2)
        spare = next(pid for pid, state in listed() if state == "ready")

        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=240)
        reply, shown = run(kc, PARENT)
        assert reply["status"] == "ok", reply
        assert int(shown.strip()) == spare, "the restarted kernel's cells run under the spare"

        reply, _ = run(kc, "kept")
        assert reply["status"] == "error", "nothing of the first session is left"

        reply, _ = run(kc, "let again = 7;")
        assert reply["status"] == "ok"
        msg_id = kc.execute("tokio::time::sleep(std::time::Duration::from_secs(3600)).await;")
        time.sleep(1)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        reply, shown = run(kc, "again * 2")
        assert shown.strip() == "14", f"an interrupt keeps the session: {reply} {shown!r}"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    deadline = time.monotonic() + 20
    while alive(spare):
        assert time.monotonic() < deadline, "the spare outlives its kernel's shutdown"
        time.sleep(0.05)
