# Asyncbook: `make lab` to use it, `make test` to check everything.
# Each target installs what it needs (Rust build, Python venv, cell library).

SHELL := /bin/bash
CARGO ?= cargo
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := target/release/asyncbook
CELLS_DIR := target/cells/release
# Sessions hard-link the library's files (and refresh their mtimes), so the
# manifest written last by this build is what marks it up to date.
CELLS := $(CELLS_DIR)/asyncbook-artifacts.jsonl
# The cell library is a Rust dylib linked dynamically by every cell: one copy
# of tokio per session. It needs its own target dir and flags: `tokio_unstable`
# gives it tokio's task hooks, behind `:tasks` and `:timeline` (only the
# library: the kernel binary uses stable tokio).
CELLS_ENV := CARGO_TARGET_DIR=target/cells RUSTFLAGS="-C prefer-dynamic --cfg tokio_unstable"

.PHONY: all build install lab test test-rust test-notebooks test-clients test-browser bench clean

all: build

# rust-src lets the engine infer the types of variables (rust-analyzer reads
# the standard library's source); the build works without it.
target/.rust-src:
	@mkdir -p target
	rustup component add rust-src || echo "warning: rust-src unavailable: variables may need explicit types"
	@touch $@

# The kernel embeds the cell library's sources (for `asyncbook install` outside a clone).
$(KERNEL): target/.rust-src Cargo.toml Cargo.lock $(shell find kernel/src kernel/build.rs kernel/Cargo.toml kernel/kernelspec kernel/cells -type f)
	$(CARGO) build --release --locked -p asyncbook
	@touch $@

$(CELLS): Cargo.lock $(shell find kernel/cells -type f)
	$(CELLS_ENV) $(CARGO) build --release --locked -p asyncbook-cells --message-format=json-render-diagnostics > target/cells-artifacts.tmp
	cp Cargo.lock $(CELLS_DIR)/Cargo.lock
	mv target/cells-artifacts.tmp $@

build: $(KERNEL) $(CELLS)

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r tests/requirements.txt
	@touch $@

# The kernelspec goes into the venv's Jupyter data dir, or $JUPYTER_DATA_DIR when set;
# papermill's Rust parameter translator (kernel/papermill) into the venv beside it.
install: build $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(KERNEL) install $(if $(JUPYTER_DATA_DIR),--user,--sys-prefix)
	$(VENV)/bin/pip install --quiet --no-build-isolation ./kernel/papermill
	$(VENV)/bin/jupyter kernelspec list

# Opens the first chapter; the table of contents is notebooks/README.md.
lab: install
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
		--ServerApp.root_dir="$(CURDIR)/notebooks" \
		--LabApp.default_url=/lab/tree/01-welcome.ipynb

test: test-rust test-notebooks test-clients test-browser

# Every test target but `notebooks`, which test-notebooks runs.
RUST_TESTS := $(patsubst kernel/tests/%.rs,--test %,$(filter-out kernel/tests/notebooks.rs,$(wildcard kernel/tests/*.rs)))

# The cell library is linted and tested with its own flags (the workspace's
# default member is the kernel alone).
test-rust: build
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	$(CELLS_ENV) $(CARGO) clippy --release --locked -p asyncbook-cells --all-targets -- -D warnings
	$(CARGO) test --release --locked --lib --bins $(RUST_TESTS)
	$(CARGO) test --release --locked -p asyncbook --doc
	$(CELLS_ENV) $(CARGO) test --release --locked -p asyncbook-cells

# Every chapter, and the test notebooks in tests/notebooks, executed headless
# in a fresh kernel each and compared with their stored outputs
# (`asyncbook test --update` re-records them): one test per notebook, two at
# once, the long test notebook first so that the chapters share the other slot.
test-notebooks: build
	$(CARGO) test --release --locked --test notebooks

# jupyter_kernel_test, an install check and nbclient, against the installed kernelspec.
# Kernels of test-clients and test-browser start no warm spare: `make test`
# leaves no process behind (kernel/tests/spares.rs tests the spares).
test-clients: install
	cd tests/clients && ASYNCBOOK_SPARES=0 ../../$(PY) -m pytest -q -p no:cacheprovider

# End to end in a real browser: JupyterLab driven by Playwright (playwright-core
# from npm) in Debian's chromium, installed by the script if missing.
# Screenshots go to target/browser/.
test-browser: install
	ASYNCBOOK_SPARES=0 bash tests/browser/run.sh

EVCXR := target/bench/evcxr/bin/evcxr_jupyter

# evcxr_jupyter, the kernel the bench compares against (built once, ~7-10 min).
$(EVCXR):
	$(CARGO) install --locked evcxr_jupyter --root target/bench/evcxr

# Timings against evcxr_jupyter, not part of `make test`: a table on stdout,
# JSON in target/bench/. More samples: make bench BENCH_ARGS="--rounds 5 --samples 30"
bench: build $(VENV)/.installed $(EVCXR)
	$(PY) tests/bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf target $(VENV)
