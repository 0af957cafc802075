"""The standard Jupyter tools drive the installed kernel: the kernelspec that
`make install` wrote is listed, a client started from it runs a cell, and
nbclient (the engine under nbmake and papermill) executes a tutorial chapter."""

import json
import pathlib
import subprocess
import sys

import nbclient
import nbformat
from jupyter_client.manager import KernelManager, start_new_kernel

ROOT = pathlib.Path(__file__).resolve().parents[2]
JUPYTER = pathlib.Path(sys.executable).with_name("jupyter")


def test_kernelspec_is_listed_with_its_metadata():
    listing = json.loads(subprocess.check_output([JUPYTER, "kernelspec", "list", "--json"]))
    spec = listing["kernelspecs"]["asyncbook"]
    assert spec["spec"]["display_name"] == "Rust (async)"
    assert spec["spec"]["language"] == "rust"
    assert spec["spec"]["interrupt_mode"] == "message"
    binary = pathlib.Path(spec["spec"]["argv"][0])
    assert binary.is_file(), binary
    resources = pathlib.Path(spec["resource_dir"])
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        assert (resources / logo).is_file(), logo


def test_client_started_from_kernelspec_runs_a_cell():
    km, kc = start_new_kernel(kernel_name="asyncbook", startup_timeout=120)
    try:
        results = []
        reply = kc.execute_interactive(
            "let answer = 6 * 7;\nanswer",
            timeout=120,
            output_hook=lambda msg: results.append(msg),
        )
        assert reply["content"]["status"] == "ok"
        values = [m["content"]["data"]["text/plain"] for m in results if m["msg_type"] == "execute_result"]
        assert values == ["42"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_client_on_the_ipc_transport_runs_a_cell_and_restarts(tmp_path):
    km = KernelManager(kernel_name="asyncbook", transport="ipc")
    km.connection_file = str(tmp_path / "kernel.json")
    km.start_kernel()
    try:
        assert km.transport == "ipc"
        for attempt in ("first", "restarted"):
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=120)
            results = []
            reply = kc.execute_interactive(
                f'let run = "{attempt}";\nrun',
                timeout=120,
                output_hook=lambda msg: results.append(msg),
            )
            kc.stop_channels()
            assert reply["content"]["status"] == "ok"
            values = [m["content"]["data"]["text/plain"] for m in results if m["msg_type"] == "execute_result"]
            assert values == [f'"{attempt}"']
            sockets = sorted(p.name for p in tmp_path.iterdir() if p.is_socket())
            assert sockets == [f"kernel-ipc-{n}" for n in sorted(str(p) for p in km.ports)], sockets
            if attempt == "first":
                # A killed kernel leaves its sockets; the next one binds over them.
                km.restart_kernel(now=True)
    finally:
        km.shutdown_kernel(now=False)


def test_nbclient_executes_a_chapter():
    path = ROOT / "notebooks" / "01-welcome.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="asyncbook", timeout=120, allow_errors=False)
    client.execute()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells, "the chapter has code cells"
    assert any(c.outputs for c in code_cells), "executing produced outputs"
    for cell in code_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        assert tagged or not errors, (cell.source, errors)
