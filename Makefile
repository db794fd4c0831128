# The two commands of the README: `make run` (dvc repro) and `make test` (pytest).
# Both create .venv and install the pinned dependencies first if needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint params clean-outputs notebooks notebook

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Stage commands call `python`: the venv's bin goes first on PATH.
run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check src tests scripts research perf notebooks

# Regenerate params.yaml from conf/ (dvc exp run does this itself).
params: install
	$(BIN)/python -m zeroshot_news compose -o params.yaml

# Execute notebooks/*.py on the pipeline's outputs into reports/*.ipynb (figures inline)
# and one offline page, reports/index.html.
notebooks: install
	$(BIN)/python -m zeroshot_news report --output-dir reports --html reports/index.html

# Open the notebooks in Jupyter (optional extra: pip install -e .[notebooks]).
notebook: install
	$(BIN)/pip install --quiet -e '.[notebooks]'
	$(BIN)/jupyter lab notebooks/
