# 平安一张图 — the two commands a newcomer needs: `make run` and `make test`.
PY        ?= python3
VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
DATA_DIR  ?= data
DB        ?= $(DATA_DIR)/ankang.sqlite
SCALE     ?= 1.0
SEED      ?= 20201101
HOST      ?= 127.0.0.1
PORT      ?= 8050
ACCOUNTS  := $(DATA_DIR)/.accounts-created
# DB may also be a SQLAlchemy URL, e.g. DB=postgresql+psycopg://pingan@localhost/pingan (docs/postgresql.md).
# Make cannot name a target after a URL, so that database's world and accounts are tracked by stamp files.
ifneq (,$(findstring ://,$(DB)))
DB_ID     := $(shell printf '%s' '$(DB)' | sha1sum | cut -c1-12)
WORLD     := $(DATA_DIR)/.world-$(DB_ID)
ACCOUNTS  := $(DATA_DIR)/.accounts-created-$(DB_ID)
else
WORLD     := $(DB)
endif
# The data key that encrypts identity numbers and special-population details (docs/security.md §4):
# one file per user, outside the data folder, mode 0600, created once. Every command below reads it.
PINGAN_DATA_KEY_FILE ?= $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/pingan/data.key
export PINGAN_DATA_KEY_FILE

SYSDEPS   := scripts/system-deps.sh

.PHONY: system-deps lint-imports setup key run serve world upgrade demo test test-fast bench bench-console bench-disputes bench-alerts bench-authz bench-planner clean

# Debian packages (browser, Xvfb, Qt's X libraries, CJK fonts, PostgreSQL): installed only when missing, so a
# second run costs a few dpkg look-ups (scripts/system-deps.sh; docs/setup.md).
system-deps:
	@$(SYSDEPS)

setup: system-deps $(STAMP)

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

$(PINGAN_DATA_KEY_FILE): | setup
	$(VPY) -m console.store.keys keygen --out $@ --data-dir $(DATA_DIR)

key: $(PINGAN_DATA_KEY_FILE)

$(WORLD): | setup $(PINGAN_DATA_KEY_FILE)
	mkdir -p $(DATA_DIR)
	$(VPY) -m world --db '$(DB)' --scale $(SCALE) --seed $(SEED) --if-missing
	$(if $(DB_ID),touch $@)

world: setup $(WORLD)

# Bring an existing database to the current schema (no-op when it already is).
upgrade: setup $(WORLD) | $(PINGAN_DATA_KEY_FILE)
	$(VPY) -m console.store.upgrade --db '$(DB)'

# First run on a new world: the system administrator and the demo business accounts, each with a
# one-time password printed once (no account with a known password exists). Later runs skip this.
$(ACCOUNTS): $(WORLD) | upgrade
	$(VPY) -m console.security.bootstrap --db '$(DB)' || true
	$(VPY) -m console.security.demo_accounts --db '$(DB)'
	touch $@

run: upgrade $(ACCOUNTS)
	$(VPY) launcher.py --db '$(DB)'

# Loopback unless HOST is given (HOST=0.0.0.0 for the intranet: docs/console.md, "Serving").
serve: upgrade $(ACCOUNTS)
	$(VPY) launcher.py --db '$(DB)' --serve --host $(HOST) --port $(PORT)

# The import layering (pyproject.toml [tool.importlinter]) first: a new back-arrow fails the build in seconds.
# Two workers, one test file per worker at a time (`loadfile`): a module's tests share its module-scoped world and
# some read what an earlier test of the module wrote. (`loadgroup` does not group under pytest 9 + xdist 3.8:
# the worker's group suffix on the node id is ignored, so its groups were silently split.)
test: setup
	$(VENV)/bin/lint-imports
	$(VPY) -m pytest -q -n 2 --dist loadfile

test-fast: setup
	$(VENV)/bin/lint-imports
	$(VPY) -m pytest -q -m "not browser and not slow"

bench: setup
	$(VPY) benchmarks/assign.py

bench-console: upgrade
	$(VPY) benchmarks/console.py --db '$(DB)'

bench-disputes: upgrade
	$(VPY) benchmarks/disputes.py --db '$(DB)'

# A living map for newcomers: the console with the duty routes plus the event simulator.
demo: upgrade
	KEY=$$($(VPY) -m console.duty.sources --db '$(DB)' rotate demo-sim "演示模拟器"); \
	$(VPY) -m console.server --db '$(DB)' --port 8050 & SRV=$$!; sleep 8; \
	$(VPY) -m console.simulate --url http://127.0.0.1:8050 --key $$KEY --db '$(DB)' --rate 3 --seconds 3600; kill $$SRV

bench-alerts: upgrade
	$(VPY) benchmarks/alerts.py --db '$(DB)'

bench-planner: upgrade
	$(VPY) benchmarks/planner.py --db '$(DB)'

bench-authz: setup
	$(VPY) benchmarks/authz_matrix.py

lint-imports: setup
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache
