.PHONY: run test lint services

# Install and run Trellis (the local sandbox when no Slack tokens are set).
run:
	python3 -m pip install -q -e .
	python3 -m app run

# Install the test dependencies and run every test (SQLite, PostgreSQL, the browser).
test: services
	python3 -m pip install -q -e '.[test]'
	python3 -m pytest

services:
	bash scripts/test-services

lint:
	ruff check app handlers workflows tests bench
