"""Warm spares in `make bench` (Asyncbook only): a start and a restart with a spare ready,
against a cold start (spares off) in the same run.

Each round: a cold kernel (ASYNCBOOK_SPARES=0); then, in a private spares folder, a kernel
started once a spare is ready, and its `restart_kernel` once the next spare is ready. Each
figure is from the launch (or the restart call) to the answers of the first `.await` cell
and of the tokio-typed `let` sent with it ("time to warm"). The spares are stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from bench import ASYNCBOOK, AWAIT_CELL, OUT_DIR, WARM_LET, BenchError, Kernel, percentile

SCENARIOS = [
    ("cold", "cold start (spares off)"),
    ("spare", "start with a spare ready"),
    ("restart", "restart_kernel with a spare ready"),
]


def listed(env: dict) -> list[tuple[int, str]]:
    out = subprocess.run([str(ASYNCBOOK), "spares"], env=env, capture_output=True, text=True, check=True)
    return [(int(f[1]), f[3]) for f in (line.split() for line in out.stdout.splitlines()[1:])]


def wait_ready(env: dict, timeout: float = 300) -> None:
    deadline = time.perf_counter() + timeout
    while not any(state == "ready" for _, state in listed(env)):
        if time.perf_counter() > deadline:
            raise BenchError(f"no spare ready within {timeout:.0f} s: {listed(env)}")
        time.sleep(0.2)


def first_answers(kernel: Kernel, since: float, args) -> tuple[float, float]:
    """The first await's and the tokio let's answers, in seconds since `since`, excluding
    the client's own wait for its iopub subscription."""
    sent = time.perf_counter()
    (awaited, _), (warm, _) = kernel.execute_together([AWAIT_CELL, WARM_LET], args.first_timeout)
    return sent - since + awaited, sent - since + warm


def restart(kernel: Kernel, args) -> float:
    """Restarts as JupyterLab does and returns when the new kernel answered kernel_info."""
    started = time.perf_counter()
    kernel.km.restart_kernel(now=False)
    kernel.pid = kernel.km.provisioner.process.pid
    info_id = kernel.kc.kernel_info()
    kernel._wait(lambda m: m["msg_type"] == "kernel_info_reply" and kernel._is_reply(m, info_id),
                 args.start_timeout, "kernel_info_reply after restart", shell=True)
    return started


def run_spares(args) -> dict:
    folder = tempfile.mkdtemp(prefix="asyncbook-bench-spares-")  # mode 0700
    env = {"ASYNCBOOK_SPARES": "1", "ASYNCBOOK_SPARES_DIR": folder}
    full_env = {**os.environ, **env}
    results: dict[str, list[dict]] = {name: [] for name, _ in SCENARIOS}
    logs = OUT_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for number in range(1, args.rounds + 1):
            launched = time.perf_counter()
            cold = Kernel("asyncbook", logs / f"spares-cold{number}.log", args.start_timeout)
            try:
                awaited, warm = first_answers(cold, launched, args)
                results["cold"].append({"first_await_s": awaited, "warm_s": warm})
            finally:
                cold.close()
            if number == 1:  # the first spare, from a kernel of its own
                Kernel("asyncbook", logs / "spares-first.log", args.start_timeout, env).close()
            wait_ready(full_env)
            launched = time.perf_counter()
            kernel = Kernel("asyncbook", logs / f"spares-spare{number}.log", args.start_timeout, env)
            try:
                awaited, warm = first_answers(kernel, launched, args)
                results["spare"].append({"first_await_s": awaited, "warm_s": warm})
                wait_ready(full_env)
                since = restart(kernel, args)
                awaited, warm = first_answers(kernel, since, args)
                results["restart"].append({"first_await_s": awaited, "warm_s": warm})
            finally:
                kernel.close()
            print(f"spares round {number}: " + ", ".join(
                f"{name} {results[name][-1]['warm_s']:.2f} s" for name, _ in SCENARIOS), flush=True)
    finally:
        subprocess.run([str(ASYNCBOOK), "spares", "stop"], env=full_env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    return results


def render_spares(results: dict) -> str:
    lines = ["", "Warm spares (seconds from launch or restart to the answer; p50 of "
                 f"{len(results['cold'])} rounds):",
             f"  {'':40} {'first .await':>12} {'time to warm':>12}"]
    for name, label in SCENARIOS:
        row = results.get(name, [])
        awaited = percentile([r["first_await_s"] for r in row], 0.5)
        warm = percentile([r["warm_s"] for r in row], 0.5)
        cells = [f"{v:.2f} s" if v is not None else "-" for v in (awaited, warm)]
        lines.append(f"  {label:40} {cells[0]:>12} {cells[1]:>12}")
    return "\n".join(lines)
