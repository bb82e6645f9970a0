# The two commands: `make run` and `make test`. Everything else is a helper.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint fuzz bench-api bench-pipeline bench-sweep bench-campaign bench-scale stop clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: venv + deps + embedded PostgreSQL/Redis + migrations + demo workspace, key and line;
## then web + worker + beat + relay simulator under honcho. Ctrl-C stops them.
run: install
	$(PY) -m tuco.run

## make test: the whole suite on real PostgreSQL and Redis (started if they are down).
test: install
	$(PY) -m tests.browser_setup
	$(VENV)/bin/pytest

## make fuzz: schemathesis over every operation of /api/schema and the /hooks/ callbacks, >= 20,000 cases,
## against the app served in a thread on the test database (not part of `make test`: ~10 minutes).
## See docs/hardening.md; TUCO_FUZZ_SEED, TUCO_FUZZ_MAX_EXAMPLES, TUCO_FUZZ_MIN_CASES tune it.
fuzz: install
	TUCO_LOG_LEVEL=ERROR $(VENV)/bin/pytest -n 0 -s tests/hardening/fuzz_run.py

lint: install
	$(VENV)/bin/ruff check .

bench-api: install
	$(PY) bench/api_throughput.py

bench-pipeline: install
	$(PY) bench/pipeline.py

bench-sweep: install
	$(PY) bench/sweep.py

## make bench-scale: 2 web, 3 workers (own disks, S3 on moto), beat, 3 relays / 12 lines; kill -9 + Redis restart.
bench-scale: install
	$(PY) bench/scale_out.py

bench-campaign: install
	$(PY) bench/campaign.py

## Stop the embedded PostgreSQL and Redis that `make run` left running.
stop:
	$(PY) -m tuco.embedded down

clean: stop
	rm -rf var
