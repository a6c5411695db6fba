# 平安一张图 — the two commands a newcomer needs: `make run` and `make test`.
PY        ?= python3
VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
DATA_DIR  ?= data
DB        ?= $(DATA_DIR)/ankang.sqlite
SCALE     ?= 1.0
SEED      ?= 20201101

.PHONY: setup run serve world test test-fast bench clean

setup: $(STAMP)

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

$(DB): | setup
	mkdir -p $(DATA_DIR)
	$(VPY) -m geodata.demo --db $(DB) --scale $(SCALE) --seed $(SEED)

world: setup $(DB)

run: setup $(DB)
	$(VPY) launcher.py --db $(DB)

serve: setup $(DB)
	$(VPY) launcher.py --db $(DB) --serve

test: setup
	$(VPY) -m pytest -q -n 2 --dist loadgroup

test-fast: setup
	$(VPY) -m pytest -q -m "not browser and not slow"

bench: setup $(DB)
	$(VPY) benchmarks/assign.py

clean:
	rm -rf $(VENV) .pytest_cache
