"""Starts and restarts in `make bench`: Asyncbook with a spare ready, against cold starts of
Asyncbook and evcxr_jupyter in the same run.

Each round, per kernel: a cold start; a cold start left alone for 10 s before its first cell
(a user reading), timed from the moment the cells are sent; for Asyncbook, in a private spares
folder, a kernel started once a spare is ready and its `restart_kernel` once the next spare is
ready; for evcxr_jupyter, `restart_kernel` of a warmed kernel. Each figure is from the launch
(or the restart call, or the end of the pause) to the answers of the first `.await` cell and of
the tokio-typed `let` sent with it ("time to warm"); evcxr's `:dep tokio` cell is sent first
and counted in. The spares are stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from bench import ASYNCBOOK, AWAIT_CELL, EVCXR_TOKIO, OUT_DIR, WARM_LET, BenchError, Kernel, percentile

SCENARIOS = [
    ("cold", "cold start (spares off)"),
    ("paused", "cold start, first cell after 10 s"),
    ("spare", "start with a spare ready"),
    ("restart", "restart_kernel (Asyncbook: spare ready)"),
]
PAUSE_S = 10.0


def listed(env: dict) -> list[tuple[int, str]]:
    out = subprocess.run([str(ASYNCBOOK), "spares"], env=env, capture_output=True, text=True, check=True)
    return [(int(f[1]), f[3]) for f in (line.split() for line in out.stdout.splitlines()[1:])]


def wait_ready(env: dict, timeout: float = 300) -> None:
    deadline = time.perf_counter() + timeout
    while not any(state == "ready" for _, state in listed(env)):
        if time.perf_counter() > deadline:
            raise BenchError(f"no spare ready within {timeout:.0f} s: {listed(env)}")
        time.sleep(0.2)


def first_answers(kernel: Kernel, since: float, args) -> dict:
    """The first await's and the tokio let's answers, in seconds since `since`, excluding
    the client's own wait for its iopub subscription."""
    first = [EVCXR_TOKIO, AWAIT_CELL] if kernel.kind == "evcxr" else [AWAIT_CELL]
    sent = time.perf_counter()
    answered = [t for t, _ in kernel.execute_together(first + [WARM_LET], args.first_timeout)]
    return {"first_await_s": sent - since + answered[-2], "warm_s": sent - since + answered[-1]}


def cold_rounds(kind: str, number: int, results: dict, logs, args) -> None:
    """A cold start; a cold start paused before its first cell; for evcxr, a restart."""
    launched = time.perf_counter()
    cold = Kernel(kind, logs / f"spares-{kind}-cold{number}.log", args.start_timeout)
    try:
        results["cold"].append(first_answers(cold, launched, args))
        if kind == "evcxr":
            results["restart"].append(first_answers(cold, restart(cold, args), args))
    finally:
        cold.close()
    paused = Kernel(kind, logs / f"spares-{kind}-paused{number}.log", args.start_timeout)
    try:
        time.sleep(PAUSE_S)
        results["paused"].append(first_answers(paused, time.perf_counter(), args))
    finally:
        paused.close()


def restart(kernel: Kernel, args) -> float:
    """Restarts as JupyterLab does and returns when the new kernel answered kernel_info."""
    started = time.perf_counter()
    kernel.km.restart_kernel(now=False)
    kernel.pid = kernel.km.provisioner.process.pid
    info_id = kernel.kc.kernel_info()
    kernel._wait(lambda m: m["msg_type"] == "kernel_info_reply" and kernel._is_reply(m, info_id),
                 args.start_timeout, "kernel_info_reply after restart", shell=True)
    return started


def run_spares(args, kinds: list[str]) -> dict:
    """{kind: {scenario: [round figures]}}."""
    folder = tempfile.mkdtemp(prefix="asyncbook-bench-spares-")  # mode 0700
    env = {"ASYNCBOOK_SPARES": "1", "ASYNCBOOK_SPARES_DIR": folder}
    full_env = {**os.environ, **env}
    every: dict[str, dict[str, list[dict]]] = {k: {name: [] for name, _ in SCENARIOS} for k in kinds}
    logs = OUT_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for number in range(1, args.rounds + 1):
            for kind in kinds:
                cold_rounds(kind, number, every[kind], logs, args)
            if "asyncbook" not in kinds:
                continue
            results = every["asyncbook"]
            if number == 1:  # the first spare, from a kernel of its own
                Kernel("asyncbook", logs / "spares-first.log", args.start_timeout, env).close()
            wait_ready(full_env)
            launched = time.perf_counter()
            kernel = Kernel("asyncbook", logs / f"spares-spare{number}.log", args.start_timeout, env)
            try:
                results["spare"].append(first_answers(kernel, launched, args))
                wait_ready(full_env)
                results["restart"].append(first_answers(kernel, restart(kernel, args), args))
            finally:
                kernel.close()
            print(f"starts round {number}: " + "; ".join(
                f"{kind} " + ", ".join(f"{name} {rows[-1]['warm_s']:.2f} s" for name, rows in every[kind].items() if rows)
                for kind in kinds), flush=True)
    finally:
        subprocess.run([str(ASYNCBOOK), "spares", "stop"], env=full_env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    return every


def render_spares(every: dict) -> str:
    kinds = list(every)
    rounds = max(len(rows["cold"]) for rows in every.values())
    lines = ["", "Starts and restarts (seconds from launch, restart or the end of the pause to the "
                 f"answer; p50 of {rounds} rounds; first .await / time to warm):",
             f"  {'':42}" + "".join(f" {kind:>22}" for kind in kinds)]
    for name, label in SCENARIOS:
        cells = []
        for kind in kinds:
            row = every[kind].get(name, [])
            awaited = percentile([r["first_await_s"] for r in row], 0.5)
            warm = percentile([r["warm_s"] for r in row], 0.5)
            cells.append(f"{awaited:.2f} / {warm:.2f} s" if awaited is not None else "-")
        lines.append(f"  {label:42}" + "".join(f" {c:>22}" for c in cells))
    return "\n".join(lines)
