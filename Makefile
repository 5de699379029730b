# make demo: set up .venv if missing and run the main job on the default preset (wu2023).
# make test: set up .venv if missing, lint, and run the test suite (which checks every recorded output of the docs).
# make docs: rerun every recorded command of README.md and docs/*.md and write its output into the page, and
#            regenerate docs/isa.md, docs/config.md and the generated tables (docs/recorded-output.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint docs clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/socsim run programs/mlp_infer.s --config wu2023 --dump pred
	$(BIN)/socsim train programs/lenet_wu2023.toml --config wu2023 --dataset mnist5k --epochs 2 --out runs/demo --force

lint: $(STAMP)
	$(BIN)/ruff check socsim isa tests benchmarks docs/studies

test: $(STAMP) lint
	$(BIN)/python -m pytest

docs: $(STAMP)
	$(BIN)/python -m pytest -q tests/docs --update-docs

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
