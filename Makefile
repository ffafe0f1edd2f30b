# nnbook: the two commands a reader needs are `make book` and `make test`.
# Both create .venv and install everything on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TQDM_DISABLE := 1

.PHONY: help install book pdf test lint unit notebooks seeds browser-deps lab execute bench clean

help:
	@echo "make book     build the HTML book into _build/html (sets up .venv first)"
	@echo "make pdf      print the whole book to _build/pdf/nnbook.pdf (after make book)"
	@echo "make test     run the whole test suite: lint, unit, notebooks, book, browser"
	@echo "make lab      open the chapters in JupyterLab"
	@echo "make execute  re-execute notebooks in place (NB=path to limit, default chapters)"
	@echo "make notebooks PROFILE=avx2   compare the notebooks as another CPU would run them"
	@echo "make seeds    re-check every notebook's claims at NNBOOK_SEED=1, 2 and 3 (slow)"
	@echo "make bench    time nnbook's kernels against torch"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# The whole book as one PDF: a single-page build, printed by Chromium (tools/book_pdf.py).
# It is also copied into _build/html, where the title page links to it.
pdf: book browser-deps
	$(BIN)/python tools/book_pdf.py --build

# Chromium from the distribution, for the real-browser test (needs root or sudo).
browser-deps:
	@bash tools/install_chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check nnbook tests tools benchmarks conftest.py chapters

# Two passes over the notebooks, compared strictly: under this CPU's kernels, with the
# unit tests; then under the baseline profile (no vector units), so that the stored
# digits cannot depend on the CPU. The book build with its browser test and the reader's
# install run in the second pass, first, so that the two workers finish together.
SLOW_TESTS := tests/test_book.py tests/test_reader.py
test: $(STAMP) browser-deps lint
	$(BIN)/python -m pytest --nbval -n 2 --dist loadfile -m "not book and not reader"
	NNBOOK_PROFILE=baseline $(BIN)/python -m pytest --nbval -n 2 --dist loadfile \
		$(SLOW_TESTS) chapters

# Numeric profiles (tools/execute_notebooks.py): native, avx2, baseline.
PROFILE ?= native
notebooks: $(STAMP)
	NNBOOK_PROFILE=$(PROFILE) $(BIN)/python -m pytest --nbval -n 2 --dist loadfile chapters

# Every asserted claim at three more seeds; outputs are not compared (--nbval-lax).
SEEDS ?= 1 2 3
seeds: $(STAMP)
	@for s in $(SEEDS); do \
		echo "== NNBOOK_SEED=$$s"; \
		NNBOOK_SEED=$$s $(BIN)/python -m pytest --nbval-lax -n 2 --dist loadfile chapters \
			|| exit 1; \
	done

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab
	$(BIN)/jupyter lab chapters

NB ?= chapters
execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --jobs 2 --profile $(PROFILE) $(NB)

bench: $(STAMP)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.invertible

clean:
	rm -rf _build
