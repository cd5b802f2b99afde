.PHONY: run test check lint services

CODE = app handlers workflows tests bench scripts

# Install and run Trellis (the local sandbox when no Slack tokens are set).
run:
	python3 -m pip install -q -e .
	python3 -m app run

# Install the test dependencies, check the code (lint, format, types), run every test
# (SQLite, PostgreSQL, the browser).
test: services
	python3 -m pip install -q -e '.[test]'
	$(MAKE) --no-print-directory check
	python3 -m pytest

# Lint, formatting and the type checker (configured in pyproject.toml).
check:
	ruff check $(CODE)
	ruff format --check $(CODE)
	mypy

services:
	bash scripts/test-services

lint: check
