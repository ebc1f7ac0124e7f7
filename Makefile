# The two commands of the README: `make demo` and `make test`.
# Everything else here is a building block they use.
ODOO_SRC ?= /opt/odoo18
export ODOO_SRC

.PHONY: demo test lint venv services format readme pot

demo:
	@scripts/demo.sh

test:
	@scripts/test.sh $(ARGS)

lint: venv
	@scripts/lib.sh lint

format: venv
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

venv:
	@scripts/lib.sh ensure_venv

services:
	@scripts/lib.sh ensure_services

readme: venv
	@.venv/bin/python scripts/gen_readme.py

pot: venv
	@scripts/lib.sh pot
