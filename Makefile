# Two commands on a fresh machine: `make run` (local stack with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test test-fast bench lint synth clean

# uv installs the same pins in about a minute where pip takes three to four on a fresh
# machine (parallel downloads); pip stays the fallback if uv cannot be had.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -m pip install --quiet --disable-pip-version-check uv 2>/dev/null; then \
		VIRTUAL_ENV=$(VENV) $(VENV)/bin/uv pip install --quiet -r requirements-dev.txt; \
	else \
		$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt; \
	fi
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m infra.local up

test: $(STAMP)
	$(PY) -m pytest

# Unit tests only: seconds, no moto.
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -q

bench: $(STAMP)
	$(PY) bench/run_all.py

synth: $(STAMP)
	cd infra/cdk && ../../$(PY) app.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis cdk.out
