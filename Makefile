# Two commands do all the set-up on a fresh machine (Python 3.11 and make needed):
#   make serve   install what the build needs into .venv, then serve the site at
#                http://127.0.0.1:8000 with live reload
#   make test    install everything into .venv, then run the whole suite (snippets twice,
#                the second time on another CPU path; checks; strict build; browser)
# While writing:
#   make check   lint, rules, claim tests, drift, the strict build (cached notebooks) and
#                the snippets you changed, on both CPU paths
#   make outputs rewrite the expected output of the snippets you changed (or SNIPPETS=...)
#   make format  apply ruff's formatting to the project's Python and every snippet block

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# torch comes from PyTorch's CPU wheel index (a CUDA build from PyPI is several GB and
# not needed by any page); where that index cannot be reached, pip uses its other sources.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
export NO_MKDOCS_2_WARNING := 1

# Snippets changed since the merge base with the upstream branch, new ones included;
# `all` where no base is known (tests/support/changed.py), never silently none.
SNIPPETS ?= $(shell $(PYTHON) -m tests.support.changed)
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: serve test check outputs format build lock clean python-version

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || { \
	  echo "error: this project needs Python 3.11 (found $$($(PYTHON) --version 2>&1) at $(PYTHON))."; \
	  echo "Install Python 3.11, or point make at it: make PYTHON=/path/to/python3.11 ..."; exit 1; }

# Two steps: what the site's build needs (make serve, make build), then the libraries
# only the suite runs (make test, make check).
$(VENV)/.site-installed: requirements-site.txt constraints.txt
	@$(MAKE) --no-print-directory python-version
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --retries 1 \
	  --extra-index-url $(TORCH_INDEX) -c constraints.txt torch
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-site.txt
	touch $@

$(VENV)/.installed: requirements.txt $(VENV)/.site-installed
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

# Not strict while serving: a warning is printed in the terminal and the site keeps
# reloading (strict mode would stop rebuilding at the first warning). `make build`
# and the suite are strict.
serve: $(VENV)/.site-installed
	MKDOCS_STRICT=false $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

# Another CPU's numeric path: one thread, ATen's portable kernels instead of the
# AVX2/AVX-512 ones, MKL's reproducible mode. An output that changes under it changes
# on some reader's machine (Intel or AMD, any core count).
OTHER_CPU_PATH := OMP_NUM_THREADS=1 ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE

# The whole suite, then every snippet again on another CPU's numeric path, so a
# printed output that depends on the kernels or the thread count fails here, on any
# machine. Both passes run one pytest-xdist worker per core; the first keeps every
# test of the built site in one worker (tests/conftest.py), which builds it once.
test: $(VENV)/.installed
	$(PYTEST) -n auto --dist loadgroup
	$(OTHER_CPU_PATH) $(PYTEST) -q -n auto snippets

# The quick loop: lint, the rules, the claim tests, the strict build (notebooks from
# the cache `make serve` keeps, a changed one runs) with its links and anchors, and
# the changed snippets on this machine's path and then on another CPU's.
CHECK_SNIPPETS = $(filter-out all,$(SNIPPETS)) $(if $(filter all,$(SNIPPETS)),snippets)
check: $(VENV)/.installed
	@SUITE_NOTEBOOK_CACHE=1 $(PYTEST) -q tests/test_lint.py tests/test_snippet_rules.py \
	  tests/test_rule_checker.py tests/test_build_report.py tests/test_workflows.py \
	  tests/test_drift.py tests/claims tests/test_site.py $(CHECK_SNIPPETS); first=$$?; \
	$(if $(strip $(CHECK_SNIPPETS)),echo "== the changed snippets on another CPU path =="; \
	  $(OTHER_CPU_PATH) $(PYTEST) -q $(CHECK_SNIPPETS),true); exit $$(( first | $$? ))

outputs: $(VENV)/.installed
	@test -n "$(strip $(SNIPPETS))" || { echo "No snippet changed since the merge base; name some: make outputs SNIPPETS=snippets/<page>/<idea>.md (or SNIPPETS=all)"; exit 1; }
	$(PYTEST) -q --update-outputs $(CHECK_SNIPPETS)

format: $(VENV)/.installed
	$(BIN)/ruff format tests scripts benchmarks docs/overrides
	$(BIN)/ruff check --fix tests scripts benchmarks docs/overrides docs/experiments
	$(BIN)/ruff format --config tools/ruff-snippets.toml snippets

build: $(VENV)/.site-installed
	$(BIN)/mkdocs build --strict

# Re-pin everything after changing requirements.txt: a fresh environment installs
# requirements.txt without the old pins, so upgrades resolve anew and packages no
# longer needed drop out. The local version label (+cpu) is dropped so the same file
# works with any torch wheel of that version.
lock:
	@$(MAKE) --no-print-directory python-version
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	for f in requirements.txt requirements-site.txt; do grep -v '^-c ' $$f > .lock-venv/$$f; done
	.lock-venv/bin/python -m pip install --disable-pip-version-check --retries 1 \
	  --extra-index-url $(TORCH_INDEX) -r .lock-venv/requirements.txt
	( echo "# Generated by \`make lock\` from requirements.txt: exact versions of everything installed. Do not edit by hand."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' ) > constraints.txt
	rm -rf .lock-venv
	@echo "constraints.txt re-pinned; review \`git diff constraints.txt\`, then run make test."

clean:
	rm -rf $(VENV) site .cache .pytest_cache .ruff_cache .lock-venv
