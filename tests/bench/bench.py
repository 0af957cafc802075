"""`make bench`: the Asyncbook kernel against evcxr_jupyter, driven by the same client code.

Both kernels are launched without a kernelspec (the argv is built here) and get the same
cell sequence. Per kernel type there are several rounds, each on a fresh kernel:

    start -> kernel_info answered
    first `.await` cell and a `let` of a tokio value, sent together at once: "first .await"
    is the await cell's answer (evcxr: its `:dep tokio` cell sent first, counted in), "time to
    warm" the let's, when cells answer at full speed
    N cycles of: trivial, let, fn item, call, await              (timed samples)
    RSS of the kernel process tree after 10 cells; the first round goes on with the same
    cycle up to 300 cells and measures RSS again
    N spawn cells                                                (timed samples)

Then the tutorial notebooks are run once (Asyncbook only), two at a time as `make test` runs
them (`--notebook-jobs`). The table goes to stdout and
everything, raw samples included, to target/bench/<timestamp>.json and latest.json.
`--task-cost` instead measures the task hooks behind `:tasks` and `:timeline` (Asyncbook only):
cells spawning and awaiting 100,000 tiny tasks and polling 1,000,000 `yield_now`s, each timed
inside the cell, on kernels whose runtime has no hooks (ASYNCBOOK_TASK_HOOKS=off), has the hooks
without the tracing subscriber that reads names (ASYNCBOOK_TASK_HOOKS=no-names), has both with
nothing recording, and records under `:timeline`; modes interleave round by round.
Exit status: 0 when the bench ran (targets missed or not), 1 when a kernel failed or hung.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import zmq
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec

# spares.py imports this module by name: run as a script, it is that module too.
sys.modules.setdefault("bench", sys.modules[__name__])

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "target" / "bench"
ASYNCBOOK = ROOT / "target" / "release" / "asyncbook"
EVCXR = OUT_DIR / "evcxr" / "bin" / "evcxr_jupyter"

AWAIT_CELL = "tokio::time::sleep(std::time::Duration::from_millis(1)).await"
# The first tokio-typed variable: its type is inferred through tokio's source.
WARM_LET = "let (tx, rx) = tokio::sync::mpsc::channel::<u32>(8);"
EVCXR_TOKIO = ':dep tokio = { version = "1", features = ["full"] }'

# One cycle of timed cells; `{i}` makes each sample's source differ.
CYCLE = [
    ("trivial", "1 + 1"),
    ("let", "let v = {i} + 1;"),
    ("fn", "fn add_n(x: i32) -> i32 {{ x + {i} }}"),
    ("call", "add_n(v)"),
    ("await", AWAIT_CELL),
]
# Spawn cells run as a block at the end of a round: evcxr_jupyter links a private copy
# of tokio into every cell, so a task spawned after the cell that built its runtime
# never completes (evcxr issue #245). There a hang is recorded, not fatal, and the
# block is not retried in later rounds; anywhere else a hang fails the bench.
SPAWN_CELL = "tokio::spawn(async move {{ add_n(v) * 2 }}).await.unwrap()"
SPAWN_MAY_HANG = {"evcxr"}
CELL_KINDS = [kind for kind, _ in CYCLE] + ["spawn"]


class BenchError(Exception):
    """A kernel failed, answered with an error, or did not answer in time."""


class NoAnswer(BenchError):
    """A request got no answer within its timeout."""


# ---------------------------------------------------------------- process tree


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def process_tree(root: int) -> dict[int, int]:
    """The root pid and all its descendants, each with its start time."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat:
                children.setdefault(stat[0], []).append(int(entry))
                starts[int(entry)] = stat[1]
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in starts:
            tree[pid] = starts[pid]
            todo.extend(children.get(pid, []))
    return tree


def tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over the tree (shared pages count once per process)."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def end_leftovers(tree: dict[int, int]) -> None:
    """Stop processes of a kernel tree that outlived its shutdown (same pid and start time)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid, start in tree.items() if (_proc_stat(pid) or (0, None))[1] == start]
        for pid in alive:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        if not alive:
            return
        time.sleep(0.5)


# ---------------------------------------------------------------- kernels


def kernel_argv(kind: str) -> list[str]:
    if kind == "asyncbook":
        return [str(ASYNCBOOK), "kernel", "-f", "{connection_file}"]
    return [str(EVCXR), "--control_file", "{connection_file}"]


def kernel_spec(kind: str) -> KernelSpec:
    return KernelSpec(argv=kernel_argv(kind), display_name=kind, language="rust")


class Kernel:
    """One fresh kernel, driven over the plain protocol: execute, reply, iopub idle."""

    def __init__(self, kind: str, log_path: pathlib.Path, start_timeout: float, extra_env: dict | None = None):
        self.kind = kind
        self.cells = 0
        self.log_path = log_path
        self.km = KernelManager(kernel_name=kind)  # a name that is not python3: no ipykernel options
        self.km._kernel_spec = kernel_spec(kind)
        self.km.shutdown_wait_time = 3.0
        self._log = open(log_path, "w")
        started = time.perf_counter()
        # Asyncbook's debug log carries the engine's warm-up phases (see `warm_up_phases`).
        env = dict(os.environ)
        if kind == "asyncbook":
            env["ASYNCBOOK_LOG"] = "asyncbook=debug"
            # Every kernel starts cold unless a scenario asks for spares (`spares.py`).
            env["ASYNCBOOK_SPARES"] = "0"
        env.update(extra_env or {})
        self.km.start_kernel(stdout=self._log, stderr=self._log, cwd=str(ROOT), env=env)
        self.pid = self.km.provisioner.process.pid
        self.kc = self.km.client()
        self.kc.start_channels()
        info_id = self.kc.kernel_info()
        self._wait(lambda m: m["msg_type"] == "kernel_info_reply" and self._is_reply(m, info_id),
                   start_timeout, "kernel_info_reply", shell=True)
        self.start_s = time.perf_counter() - started
        self._wait_iopub_connected(start_timeout)

    @staticmethod
    def _is_reply(msg: dict, msg_id: str) -> bool:
        return msg.get("parent_header", {}).get("msg_id") == msg_id

    def _fail(self, what: str) -> BenchError:
        return BenchError(f"{self.kind}: {what} (kernel log: {self.log_path})")

    def _wait(self, accept, timeout: float, what: str, shell: bool) -> dict:
        channel = self.kc.shell_channel if shell else self.kc.iopub_channel
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise self._fail(f"no {what} within {timeout:.0f} s")
            if not self.km.is_alive():
                raise self._fail(f"kernel died while waiting for {what}")
            try:
                msg = channel.get_msg(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if accept(msg):
                return msg

    def _wait_iopub_connected(self, timeout: float) -> None:
        """PUB drops messages until the subscription lands: ask until iopub answers."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.kc.kernel_info()
            try:
                self.kc.iopub_channel.get_msg(timeout=0.5)
            except queue.Empty:
                continue
            while True:  # drop the rest of the status traffic
                try:
                    self.kc.iopub_channel.get_msg(timeout=0.2)
                except queue.Empty:
                    return
        raise self._fail(f"iopub silent for {timeout:.0f} s")

    def execute(self, code: str, timeout: float) -> tuple[float, list[dict]]:
        """Seconds until both the execute_reply and the iopub idle arrived, and the outputs."""
        [(elapsed, outputs)] = self.execute_together([code], timeout)
        return elapsed, outputs

    def execute_together(self, codes: list[str], timeout: float) -> list[tuple[float, list[dict]]]:
        """Sends every cell at once; for each, seconds from the sending until both its
        execute_reply and its iopub idle arrived, and its outputs."""
        self.cells += len(codes)
        started = time.perf_counter()
        ids = [self.kc.execute(code) for code in codes]
        poller = zmq.Poller()
        shell, iopub = self.kc.shell_channel, self.kc.iopub_channel
        poller.register(shell.socket, zmq.POLLIN)
        poller.register(iopub.socket, zmq.POLLIN)
        replies: dict[str, dict] = {}
        idle: set[str] = set()
        outputs: dict[str, list[dict]] = {msg_id: [] for msg_id in ids}
        done: dict[str, float] = {}
        deadline = started + timeout
        while len(done) < len(ids):
            left = deadline - time.perf_counter()
            if left <= 0:
                code = codes[next(i for i, msg_id in enumerate(ids) if msg_id not in done)]
                raise NoAnswer(f"{self.kind}: cell {code!r}: no answer within {timeout:.0f} s "
                               f"(kernel log: {self.log_path})")
            ready = dict(poller.poll(min(left, 1.0) * 1000))
            if not ready and not self.km.is_alive():
                raise self._fail(f"kernel died while running {codes!r}")
            if shell.socket in ready:
                msg = shell.get_msg(timeout=0)
                parent = msg.get("parent_header", {}).get("msg_id")
                if parent in outputs:
                    replies[parent] = msg
            if iopub.socket in ready:
                msg = iopub.get_msg(timeout=0)
                parent = msg.get("parent_header", {}).get("msg_id")
                if parent in outputs:
                    if msg["msg_type"] == "status":
                        if msg["content"]["execution_state"] == "idle":
                            idle.add(parent)
                    elif msg["msg_type"] != "execute_input":
                        outputs[parent].append(msg)
            # A reply and an idle can come in either order, each with another cell's message
            # in the same poll: every cell is looked at, not only the last message's.
            for msg_id in ids:
                if msg_id in replies and msg_id in idle and msg_id not in done:
                    done[msg_id] = time.perf_counter() - started
        for code, msg_id in zip(codes, ids):
            errors = [m["content"] for m in outputs[msg_id] if m["msg_type"] == "error"]
            if replies[msg_id]["content"]["status"] != "ok" or errors:
                detail = errors[0] if errors else replies[msg_id]["content"]
                text = "\n".join(detail.get("traceback") or [detail.get("evalue", "")])
                raise self._fail(f"cell {code!r} failed: {detail.get('ename', '')}: {text[:2000]}")
        return [(done[msg_id], outputs[msg_id]) for msg_id in ids]

    def rss_kib(self) -> int:
        return tree_rss_kib(self.pid)

    def close(self) -> None:
        tree = process_tree(self.pid)
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=False)
        except Exception as exc:  # noqa: BLE001 - a dead kernel must not stop the bench
            print(f"  ({self.kind}: shutdown: {exc})", file=sys.stderr)
        end_leftovers(tree)
        self._log.close()


def shown_text(outputs: list[dict]) -> str:
    parts = []
    for msg in outputs:
        content = msg["content"]
        parts.append(content.get("text", ""))
        parts.append(content.get("data", {}).get("text/plain", ""))
    return "".join(parts)


# `warm-up: evcxr ready after 1.8s (engine thread computing 1.1s)`: phase names as the engine
# logs them, in order; the engine thread's CPU time is evcxr's own work (rust-analyzer's
# analysis), the rest of the wall time it waits for cargo, rustc and the cell process.
DURATION = r"([0-9.]+)(s|ms|µs)"
WARM_UP_LINE = re.compile(rf"warm-up: (.+?) (?:after|in) {DURATION}(?: \(engine thread computing {DURATION}\))?")
WARM_UP_PHASES = {
    "evcxr ready": "evcxr started (rust-analyzer has analysed std)",
    "dependencies declared": "tokio, futures and the cell library declared (and analysed)",
    "first async cell ran": "first async cell ran: the engine is ready",
    "rust-analyzer ready": "later, once idle: rust-analyzer's first inference through tokio (own duration)",
}


def warm_up_phases(log: pathlib.Path) -> dict[str, float]:
    """Seconds since the engine thread started, per phase, from the kernel's debug log;
    `<phase> (computing)` holds the engine thread's CPU seconds up to then."""
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}
    phases = {}
    for match in WARM_UP_LINE.finditer(log.read_text(errors="replace")):
        phase, value, unit, cpu, cpu_unit = match.groups()
        if phase in WARM_UP_PHASES:
            phases[phase] = float(value) * scale[unit]
            if cpu is not None:
                phases[f"{phase} (computing)"] = float(cpu) * scale[cpu_unit]
    return phases


def run_round(kind: str, number: int, cycles: int, rss_cells: int | None, spawn: bool, args) -> dict:
    """One fresh kernel: start, first await, `cycles` timed cycles, RSS checkpoints, spawn block."""
    log = OUT_DIR / "logs" / f"{kind}-round{number}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if kind == "asyncbook" and args.without_saved_builds:
        for saved in pathlib.Path(tempfile.gettempdir()).glob("asyncbook.deps-*"):
            shutil.rmtree(saved, ignore_errors=True)
    kernel = Kernel(kind, log, args.start_timeout)
    result: dict = {"start_s": kernel.start_s, "cells": {k: [] for k in CELL_KINDS}, "rss_kib": {}, "sequence": []}
    try:
        first = [EVCXR_TOKIO, AWAIT_CELL] if kind == "evcxr" else [AWAIT_CELL]
        answered = [elapsed for elapsed, _ in kernel.execute_together(first + [WARM_LET], args.first_timeout)]
        result["first_await_s"] = answered[len(first) - 1]
        result["warm_s"] = answered[-1]

        def checkpoint() -> None:
            if kernel.cells in (10, rss_cells):
                result["rss_kib"][str(kernel.cells)] = kernel.rss_kib()

        checkpoint()
        late: dict[str, list[float]] = {k: [] for k in CELL_KINDS}
        i = 0
        while i < cycles or (rss_cells and kernel.cells < rss_cells):
            for name, template in CYCLE:
                if i >= cycles and kernel.cells >= (rss_cells or 0):
                    break
                code = template.format(i=i)
                elapsed, outputs = kernel.execute(code, args.cell_timeout)
                if name == "trivial" and "2" not in shown_text(outputs):
                    raise kernel._fail(f"`1 + 1` showed {shown_text(outputs)!r}, not 2")
                (result["cells"] if i < cycles else late)[name].append(elapsed)
                result["sequence"].append(elapsed)
                checkpoint()
            i += 1
        if rss_cells:
            result["late_cells"] = late
        for i in range(cycles if spawn else 0):
            try:
                result["cells"]["spawn"].append(kernel.execute(SPAWN_CELL.format(i=i), args.spawn_timeout)[0])
            except NoAnswer as exc:
                if kind not in SPAWN_MAY_HANG:
                    raise
                result["spawn_hung"] = str(exc)
                break
        result["cells_run"] = kernel.cells
    finally:
        kernel.close()
    if kind == "asyncbook":
        result["warm_up_s"] = warm_up_phases(log)
    return result


# ---------------------------------------------------------------- :dep builds

# The crates of a small service, each `:dep` in a fresh kernel: once in a first kernel (the
# crates are downloaded then), once in a later kernel (each session builds its `:dep` crates
# in its own folder). The same lines as `tests/notebooks/small-service.ipynb`.
DEP_CELLS = {
    "axum (ws)": ':dep axum = { version = "=0.8.9", features = ["ws"] }',
    "reqwest (rustls)": ':dep reqwest = { version = "=0.12.28", default-features = false, '
                        'features = ["json", "rustls-tls"] }',
    "hyper + hyper-util": ':dep hyper = { version = "1", features = ["client", "http1"] }\n'
                          ':dep hyper-util = { version = "0.1", features = ["tokio"] }',
    "tower + tower-http": ':dep tower = { version = "=0.5.3", features = ["limit"] }\n'
                          ':dep tower-http = { version = "=0.6.11", features = ["trace"] }',
    "tokio-tungstenite": ':dep tokio-tungstenite = "=0.29.0"',
    "rusqlite (bundled)": ':dep rusqlite = { version = "=0.37.0", features = ["bundled"] }',
    "tracing-subscriber": ':dep tracing-subscriber = { version = "=0.3.23", default-features = false, '
                          'features = ["fmt"] }',
    "tonic": ':dep tonic = "=0.14.9"',
}


def run_dep_builds(args) -> dict[str, list[float]]:
    """Seconds each `:dep` cell took, in a first and a later fresh kernel."""
    times: dict[str, list[float]] = {name: [] for name in DEP_CELLS}
    for turn in ("first", "later"):
        for name, cell in DEP_CELLS.items():
            log = OUT_DIR / "logs" / f"dep-{turn}-{re.sub(r'[^a-z]+', '-', name)}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            kernel = Kernel("asyncbook", log, args.start_timeout)
            try:
                kernel.execute(AWAIT_CELL, args.first_timeout)
                elapsed, outputs = kernel.execute(cell, args.first_timeout)
                if any(o.get("output_type") == "error" for o in outputs):
                    raise kernel._fail(f"{name}: {shown_text(outputs)[-2000:]}")
                times[name].append(elapsed)
            finally:
                kernel.close()
            print(f":dep {name} ({turn} kernel): {elapsed:.1f} s", flush=True)
    return times


def render_dep_builds(times: dict[str, list[float]]) -> str:
    lines = ["", "`:dep` builds of a small service's crates, seconds (a fresh kernel each):",
             f"  {'crates':<22}{'first kernel':>13}{'later kernel':>14}"]
    for name, (first, later) in times.items():
        lines.append(f"  {name:<22}{first:>13.1f}{later:>14.1f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- task hooks

# The cost of the task hooks behind `:tasks` and `:timeline`, timed inside the cell (compile
# time left out); each cell prints its own microseconds. Both work in tasks: the cell's own
# body is no task, so its polls pass no hook.
TASK_COST_CELLS = {
    "spawn 100k": "let t0 = std::time::Instant::now();\n"
                  "let handles: Vec<_> = (0..100_000u32).map(|i| tokio::spawn(async move { i })).collect();\n"
                  "for handle in handles { handle.await.unwrap(); }\n"
                  "println!(\"us={}\", t0.elapsed().as_micros());",
    "yield 1M": "let t0 = std::time::Instant::now();\n"
                "tokio::spawn(async { for _ in 0..1_000_000 { tokio::task::yield_now().await; } }).await.unwrap();\n"
                "println!(\"us={}\", t0.elapsed().as_micros());",
}
# `off`: the same library with no hooks installed (ASYNCBOOK_TASK_HOOKS=off), the baseline;
# `no-names`: the runtime's hooks alone, without the tracing subscriber behind names, blocking
# and `LocalSet` tasks; `hooks`: both, nothing recording (every session); `recording`: under
# `:timeline`.
TASK_COST_MODES = {"off": {"ASYNCBOOK_TASK_HOOKS": "off"}, "no-names": {"ASYNCBOOK_TASK_HOOKS": "no-names"},
                   "hooks": {}, "recording": {}}


def run_task_cost(args) -> int:
    """Fresh kernel per mode and round, modes interleaved; the median of each cell per mode."""
    samples: dict[str, dict[str, list[float]]] = {m: {c: [] for c in TASK_COST_CELLS} for m in TASK_COST_MODES}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for number in range(1, args.rounds + 1):
        for mode, env in TASK_COST_MODES.items():
            log = OUT_DIR / "logs" / f"task-cost-{mode}-round{number}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            kernel = Kernel("asyncbook", log, args.start_timeout, env)
            try:
                kernel.execute(AWAIT_CELL, args.first_timeout)
                for _ in range(args.task_cost_repeats):
                    for name, code in TASK_COST_CELLS.items():
                        if mode == "recording":
                            code = ":timeline\n" + code
                        _, outputs = kernel.execute(code, args.cell_timeout)
                        found = re.search(r"us=(\d+)", shown_text(outputs))
                        if not found:
                            raise kernel._fail(f"{name}: no timing in {shown_text(outputs)!r}")
                        samples[mode][name].append(int(found.group(1)) / 1000)
            finally:
                kernel.close()
            print(f"task cost round {number} {mode}: done", flush=True)
    ratios = ("no-names", "hooks")
    print(f"\n{'cell':<12}" + "".join(f"{m + ' ms':>16}" for m in TASK_COST_MODES)
          + "".join(f"{m + '/off':>16}" for m in ratios))
    for name in TASK_COST_CELLS:
        medians = {m: percentile(samples[m][name], 0.5) for m in TASK_COST_MODES}
        print(f"{name:<12}" + "".join(f"{medians[m]:>16.1f}" for m in TASK_COST_MODES)
              + "".join(f"{medians[m] / medians['off']:>16.3f}" for m in ratios))
    path = OUT_DIR / "task-cost-latest.json"
    path.write_text(json.dumps({"machine": machine(), "samples_ms": samples}, indent=1))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0


# ---------------------------------------------------------------- notebooks


def run_notebooks_cli(args) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run([str(ASYNCBOOK), "test", "-j", str(args.notebook_jobs), "notebooks/"], cwd=ROOT,
                              capture_output=True, text=True, timeout=args.notebooks_timeout)
        ok, tail = done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    except subprocess.TimeoutExpired:
        ok, tail = False, f"timed out after {args.notebooks_timeout} s"
    return {"method": f"asyncbook test -j {args.notebook_jobs} notebooks/", "wall_s": time.perf_counter() - started,
            "ok": ok, "output_tail": tail}


# ---------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def machine() -> dict:
    cpu = "unknown"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(int(line.split()[1]) for line in pathlib.Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"nproc": int(nproc or os.cpu_count() or 0), "cpu": cpu, "mem_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "loadavg_start": os.getloadavg()[0]}


def versions() -> dict:
    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    evcxr = "unknown"
    crates = OUT_DIR / "evcxr" / ".crates.toml"
    if crates.exists():
        evcxr = next((line.split('"')[1].split()[1] for line in crates.read_text().splitlines()
                      if line.startswith('"evcxr_jupyter ')), "unknown")
    return {"asyncbook": first_line([str(ASYNCBOOK), "--version"]), "evcxr_jupyter": evcxr,
            "rustc": first_line(["rustc", "--version"])}


# (metric key, label, unit, absolute target or None, needs >= 2x over evcxr)
ROWS = [
    ("start", "start -> kernel ready", "s", 0.5, False),
    ("first_await", "first .await, fresh kernel", "s", 1.0, False),
    ("warm", "time to warm (+ tokio let)", "s", 5.0, False),
    ("trivial", "trivial cell `1 + 1`", "s", 0.12, True),
    ("let", "let cell", "s", 0.2, True),
    ("fn", "item cell (fn)", "s", None, False),
    ("call", "call cell", "s", 0.2, True),
    ("await", "await cell (sleep 1 ms)", "s", 0.2, True),
    ("spawn", "spawn cell", "s", None, False),
    ("rss10", "RSS after 10 cells", "MiB", None, False),
    ("rss_n", "RSS after {n} cells", "MiB", None, False),
]


# Cells at each end of a session compared for the latency trend.
TREND_CELLS = 50


def samples(rounds: list[dict], key: str, rss_cells: int) -> list[float]:
    if key == "start":
        return [r["start_s"] for r in rounds]
    if key == "first_await":
        return [r["first_await_s"] for r in rounds]
    if key == "warm":
        return [r["warm_s"] for r in rounds if "warm_s" in r]
    if key.startswith("rss"):
        cells = "10" if key == "rss10" else str(rss_cells)
        return [r["rss_kib"][cells] / 1024 for r in rounds if cells in r["rss_kib"]]
    return [s for r in rounds for s in r["cells"][key]]


def summarise(results: dict, rss_cells: int) -> dict:
    summary = {}
    for key, label, unit, target, twice in ROWS:
        row: dict = {"label": label.format(n=rss_cells), "unit": unit}
        for kind, rounds in results.items():
            values = samples(rounds, key, rss_cells)
            row[kind] = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "n": len(values)}
            if key == "spawn" and any("spawn_hung" in r for r in rounds):
                row[kind]["hung"] = next(r["spawn_hung"] for r in rounds if "spawn_hung" in r)
        ab, ev = row.get("asyncbook", {}).get("p50"), row.get("evcxr", {}).get("p50")
        row["ratio"] = ev / ab if ab and ev else None
        checks = []
        if target is not None:
            checks.append(ab is not None and ab <= target)
        if twice:
            checks.append(row["ratio"] is not None and row["ratio"] >= 2.0)
        row["target"] = " ".join(filter(None, [f"p50 <= {target:g} {unit}" if target is not None else "",
                                               ">= 2x evcxr" if twice else ""]))
        row["pass"] = all(checks) if checks else None
        summary[key] = row
    for kind in results:
        r10, rn = summary["rss10"][kind]["p50"], summary["rss_n"][kind]["p50"]
        summary.setdefault("rss_growth", {"label": f"RSS {rss_cells} / RSS 10", "unit": "x"})[kind] = {
            "p50": rn / r10 if r10 and rn else None, "p95": None, "n": 1 if r10 and rn else 0}
    # Latency trend over one session: the median of its last 50 cells over that of its first 50
    # (a trend within one run, not a speed target; `kernel/tests/soak.rs` checks the answers).
    for kind, rounds in results.items():
        trends = [percentile(r["sequence"][-TREND_CELLS:], 0.5) / percentile(r["sequence"][:TREND_CELLS], 0.5)
                  for r in rounds if len(r.get("sequence", [])) >= 2 * TREND_CELLS]
        summary.setdefault("trend", {"label": f"last {TREND_CELLS} / first {TREND_CELLS} cells", "unit": "x"})[kind] = {
            "p50": percentile(trends, 0.5), "p95": None, "n": len(trends)}
    trend = summary["trend"]
    ab, ev = trend.get("asyncbook", {}).get("p50"), trend.get("evcxr", {}).get("p50")
    trend.update({"ratio": ev / ab if ab and ev else None, "target": "<= 1.5x",
                  "pass": None if ab is None else ab <= 1.5})
    growth = summary["rss_growth"]
    ab = growth.get("asyncbook", {}).get("p50")
    ev = growth.get("evcxr", {}).get("p50")
    growth.update({"ratio": ev / ab if ab and ev else None, "target": "<= 2x", "pass": None if ab is None else ab <= 2.0})
    return summary


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:.0f}"
    return f"{value:.2f}" if unit == "x" or value >= 1 else f"{value:.3f}"


def mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: ""}[passed]


def render(report: dict) -> str:
    m, cfg, ver = report["machine"], report["config"], report["versions"]
    lines = [
        f"Asyncbook ({ver['asyncbook']}) vs evcxr_jupyter {ver['evcxr_jupyter']}, {report['timestamp']}, {ver['rustc']}",
        f"Machine: nproc {m['nproc']}, {m['cpu']}, {m['mem_gib']} GiB RAM; "
        f"load average {m['loadavg_start']:.1f} at start, {m['loadavg_end']:.1f} at end",
        f"{cfg['rounds']} fresh kernels per kernel type; {cfg['samples']} samples per cell kind per kernel "
        f"type ({cfg['cycles_per_round']} per round); RSS = sum of VmRSS over the kernel process tree, "
        f"RSS after {cfg['rss_cells']} cells from the first round",
        "",
    ]
    head = f"{'metric':<29}{'unit':>5} {'Asyncbook p50':>14}{'p95':>8} {'evcxr p50':>10}{'p95':>8} {'evcxr/AB':>9}  {'target':<27}"
    lines += [head, "-" * len(head)]
    for key, row in report["summary"].items():
        ab, ev = row.get("asyncbook", {}), row.get("evcxr", {})
        unit = row["unit"]
        ratio = f"{row['ratio']:.1f}x" if row.get("ratio") else "-"
        ev_p50 = "hangs" if ev.get("hung") and not ev.get("n") else fmt(ev.get("p50"), unit)
        lines.append(f"{row['label']:<29}{unit:>5} {fmt(ab.get('p50'), unit):>14}{fmt(ab.get('p95'), unit):>8} "
                     f"{ev_p50:>10}{fmt(ev.get('p95'), unit):>8} {ratio:>9}  "
                     f"{row['target']:<27}{mark(row['pass'])}")
    nb = report.get("notebooks")
    if nb:
        passed = nb["ok"] and nb["wall_s"] <= 90
        state = "" if nb["ok"] else " (some notebooks failed)"
        lines.append(f"{'notebooks/ wall time':<29}{'s':>5} {fmt(nb['wall_s'], 's'):>14}{'':>8} {'':>10}{'':>8} "
                     f"{'':>9}  {'<= 90 s, all pass':<27}{mark(passed)}{state}")
        lines.append(f"  notebooks measured with: {nb['method']}")
    lines.append("Ratios are of p50s; 'first .await' and 'time to warm' for evcxr include its `:dep tokio` cell.")
    if any(row.get("evcxr", {}).get("hung") for row in report["summary"].values()):
        lines.append("evcxr spawn cell: `tokio::spawn(..).await` after the runtime's cell never answered "
                     f"(cell timeout {cfg['spawn_timeout']:.0f} s; one tokio copy per cell, evcxr issue #245).")
    warm = [r.get("warm_up_s", {}) for r in report["rounds"].get("asyncbook", [])]
    if any(warm):
        lines += ["", f"Asyncbook engine warm-up, seconds since the engine thread started, and of that the "
                      f"engine thread's own computing (p50 of {len(warm)} kernels):"]
        for phase, label in WARM_UP_PHASES.items():
            values = [w[phase] for w in warm if phase in w]
            computing = [w[f"{phase} (computing)"] for w in warm if f"{phase} (computing)" in w]
            lines.append(f"  {fmt(percentile(values, 0.5), 's'):>7}  {fmt(percentile(computing, 0.5), 's'):>7}  {label}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="fresh kernels per kernel type (default 3)")
    p.add_argument("--samples", type=int, default=20,
                   help="samples per cell kind per kernel type, spread over the rounds (default 20)")
    p.add_argument("--rss-cells", type=int, default=300, help="cells before the second RSS reading (default 300)")
    p.add_argument("--kernels", default="asyncbook,evcxr", help="comma-separated: asyncbook,evcxr")
    p.add_argument("--no-notebooks", action="store_true", help="skip the notebooks/ run")
    p.add_argument("--no-dep-builds", action="store_true",
                   help="skip timing the `:dep` builds of a small service's crates")
    p.add_argument("--only-dep-builds", action="store_true",
                   help="only time the `:dep` builds of a small service's crates")
    p.add_argument("--without-saved-builds", action="store_true",
                   help="remove the dependency builds Asyncbook kernels save ($TMPDIR/asyncbook.deps-*) "
                        "before each one starts, as for the first kernel after a build")
    p.add_argument("--start-timeout", type=float, default=60, help="seconds for kernel_info (default 60)")
    p.add_argument("--first-timeout", type=float, default=600,
                   help="seconds for each first-await cell, evcxr's tokio build included (default 600)")
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds for any other cell (default 120)")
    p.add_argument("--spawn-timeout", type=float, default=30,
                   help="seconds for a spawn cell; evcxr's spawn cells hang (default 30)")
    p.add_argument("--notebook-jobs", type=int, default=2,
                   help="notebooks run at once, as `make test` runs them (default 2)")
    p.add_argument("--no-spares", action="store_true", help="skip the starts scenario: paused, spare, restart (spares.py)")
    p.add_argument("--only-spares", action="store_true",
                   help="only the starts scenario (spares.py): cold, after a 10 s pause, with a spare ready, restart")
    p.add_argument("--task-cost", action="store_true",
                   help="only the cost of the task hooks: spawn 100k and yield 1M, hooks off / on / recording")
    p.add_argument("--task-cost-repeats", type=int, default=3, help="runs of each task-cost cell per kernel (default 3)")
    p.add_argument("--notebooks-timeout", type=float, default=900, help="seconds for one notebooks run (default 900)")
    return p.parse_args()


def kernel_kinds(args) -> list[str]:
    """The kernels asked for, each built."""
    kinds = [k.strip() for k in args.kernels.split(",") if k.strip()]
    for kind in kinds:
        binary = {"asyncbook": ASYNCBOOK, "evcxr": EVCXR}.get(kind)
        if binary is None:
            sys.exit(f"unknown kernel {kind!r}")
        if not binary.exists():
            sys.exit(f"{binary} missing: run `make bench` (it builds and installs both kernels)")
    return kinds


def main() -> int:
    args = parse_args()
    if args.task_cost:
        return run_task_cost(args)
    if args.only_spares:
        from spares import render_spares, run_spares
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        try:
            results = run_spares(args, kernel_kinds(args))
        except BenchError as exc:
            print(f"\nbench failed: {exc}", file=sys.stderr)
            return 1
        table = render_spares(results)
        path = OUT_DIR / f"spares-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps({"machine": machine(), "spares": results, "table": table}, indent=1))
        print(table)
        print(f"\nwritten: {path.relative_to(ROOT)}")
        return 0
    if args.only_dep_builds:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        try:
            times = run_dep_builds(args)
        except BenchError as exc:
            print(f"\nbench failed: {exc}", file=sys.stderr)
            return 1
        table = render_dep_builds(times)
        path = OUT_DIR / f"dep-builds-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
        path.write_text(json.dumps({"machine": machine(), "versions": versions(), "dep_builds": times,
                                    "table": table}, indent=1))
        print(table)
        print(f"\nwritten: {path.relative_to(ROOT)}")
        return 0
    kinds = kernel_kinds(args)
    cycles = max(1, -(-args.samples // args.rounds))
    stamp = datetime.datetime.now()
    report: dict = {
        "timestamp": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "config": {"rounds": args.rounds, "samples": cycles * args.rounds, "cycles_per_round": cycles,
                   "rss_cells": args.rss_cells, "cycle": CYCLE, "spawn_cell": SPAWN_CELL,
                   "spawn_timeout": args.spawn_timeout, "await_cell": AWAIT_CELL,
                   "without_saved_builds": args.without_saved_builds,
                   "evcxr_first_cell": EVCXR_TOKIO, "kernels": {k: kernel_argv(k) for k in kinds}},
    }
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        for number in range(1, args.rounds + 1):  # interleaved, so load swings hit both alike
            for kind in kinds:
                t0 = time.perf_counter()
                rss_cells = args.rss_cells if number == 1 else None
                spawn = not any("spawn_hung" in r for r in results[kind])
                results[kind].append(run_round(kind, number, cycles, rss_cells, spawn, args))
                r = results[kind][-1]
                hung = " (spawn cell hung)" if "spawn_hung" in r else ""
                print(f"{kind} round {number}: start {r['start_s']:.2f} s, first await "
                      f"{r['first_await_s']:.2f} s, {r['cells_run']} cells in {time.perf_counter() - t0:.0f} s"
                      f"{hung}", flush=True)
        if "asyncbook" in kinds and not args.no_notebooks:
            print("notebooks/ ...", flush=True)
            report["notebooks"] = run_notebooks_cli(args)
        if "asyncbook" in kinds and not args.no_dep_builds:
            report["dep_builds"] = run_dep_builds(args)
        if not args.no_spares:
            from spares import run_spares
            report["spares"] = run_spares(args, kinds)
    except BenchError as exc:
        print(f"\nbench failed: {exc}", file=sys.stderr)
        return 1
    report["machine"]["loadavg_end"] = os.getloadavg()[0]
    report["bench_wall_s"] = time.perf_counter() - started
    report["rounds"] = results
    report["summary"] = summarise(results, args.rss_cells)
    table = render(report)
    if "dep_builds" in report:
        table += "\n" + render_dep_builds(report["dep_builds"])
    if "spares" in report:
        from spares import render_spares
        table += "\n" + render_spares(report["spares"])
    report["table"] = table
    path = OUT_DIR / f"bench-{stamp:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=1))
    shutil.copyfile(path, OUT_DIR / "latest.json")
    print()
    print(table)
    print(f"\nwritten: {path.relative_to(ROOT)} and target/bench/latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
