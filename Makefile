# Lakewarden: `make demo` runs the job end to end on a local emulator, `make test` runs
# every check CI runs. Both set up what they need (a Python virtualenv with the AWS
# emulator and DuckDB) on a machine with only Rust and Python 3.

SHELL := /bin/bash
VENV := .venv
REQUIREMENTS := tests/harness/requirements.txt
VENV_STAMP := $(VENV)/.installed-$(shell cksum < $(REQUIREMENTS) | cut -d' ' -f1)

# Nothing in tests or the demo may reach for instance metadata or a real account.
export AWS_EC2_METADATA_DISABLED := true
export LAKEWARDEN_TEST_PYTHON := $(CURDIR)/$(VENV)/bin/python
export LAKEWARDEN_TEST_DUCKDB := $(CURDIR)/$(VENV)/bin/duckdb

.PHONY: setup demo test lint unit docs clean registry-tools bench

## setup: create the git-ignored virtualenv with the pinned emulator and DuckDB
setup: $(VENV_STAMP)

$(VENV_STAMP): $(REQUIREMENTS)
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)
	touch $@

## demo: seed an emulated AWS account, run lakewarden into ./lake, query it with DuckDB
demo: setup
	cargo build --bin lakewarden
	bash scripts/demo.sh

## registry-tools: install what the OCI registry tests run (Debian/Ubuntu, as root)
registry-tools:
	@if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null \
		|| ! command -v umoci >/dev/null || ! command -v htpasswd >/dev/null; then \
		apt-get update && apt-get install -y docker-registry skopeo umoci apache2-utils; \
	fi

## test: formatting, lints, unit tests and end-to-end tests
test: lint setup registry-tools
	mkdir -p .run
	python3 -m unittest discover -s scripts/bench -p 'test_*.py'
	set -o pipefail; cargo test --workspace 2>&1 | tee .run/test.log
	@python3 scripts/test_summary.py .run/test.log

# Findings per scale (space separated for several, e.g. "50000 200000 1000000"), runs per figure.
BENCH_SCALE ?= 50000
BENCH_RUNS ?= 3
# Accounts of the synthetic organisation, two regions each.
BENCH_ACCOUNTS ?= 20
# Security Hub findings seeded into the emulator for the extraction benchmark (100 a page).
BENCH_EXTRACT ?= 20000

## bench: release build, then import and jobs benchmarks beside DuckDB, and extraction from the emulator, into docs/benchmarks.md
bench: setup
	cargo build --release --bin lakewarden
	python3 scripts/bench/run.py --binary target/release/lakewarden --duckdb $(VENV)/bin/duckdb \
		--python $(VENV)/bin/python --scales "$(BENCH_SCALE)" --runs $(BENCH_RUNS) --accounts $(BENCH_ACCOUNTS) \
		--extract-findings $(BENCH_EXTRACT) --work .run/bench --out docs/benchmarks.md

## lint: rustfmt and clippy, warnings denied
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## docs: regenerate the files generated from schemas/ (DuckDB views, Athena DDL, README tables)
docs:
	cargo build --bin lakewarden
	./target/debug/lakewarden ddl duckdb > sql/duckdb/views.sql
	mkdir -p sql/athena
	./target/debug/lakewarden ddl athena --location s3://YOUR-LAKE-BUCKET/lake \
		--accounts 012345678901,111111111111,222222222222 > sql/athena/lakewarden.sql
	python3 scripts/readme_tables.py ./target/debug/lakewarden README.md

clean:
	rm -rf $(VENV) lake .run
