# Two commands do all the set-up on a fresh machine with Python >= 3.10:
#   make lab    run the course (JupyterLab on your own copies in learner/)
#   make test   run every test: ruff, course_lib unit tests, every lesson (run once), decks
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# What is installed comes from the lock in requirements/ (exact versions with hashes; `make lock`
# writes it from pyproject.toml): the learner's set for `make lab`, plus the developers' tools
# for `make test`. See course_tools/lock.py.
LAB_STAMP := $(VENV)/.installed-lab
STAMP  := $(VENV)/.installed
INSTALL := $(BIN)/python -m course_tools.lock install
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=600
JUPYTER_ARGS ?=
# Jupyter refuses to start as root (containers often are) unless told it is deliberate.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lock grade test-nbgrader lab progress test unit notebooks nbval lint course check-release doctor benchmarks clean-notebooks clean slides site

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(LAB_STAMP): pyproject.toml requirements/lab.txt requirements/torch-cuda.txt | $(BIN)/python
	$(INSTALL) lab
	touch $(LAB_STAMP)

$(STAMP): $(LAB_STAMP) requirements/dev.txt
	$(INSTALL) dev
	touch $(STAMP)

lock: | $(BIN)/python  ## resolve pyproject.toml anew (uv) and rewrite the lock in requirements/
	$(BIN)/python -m pip install --quiet "uv>=0.9"
	$(BIN)/python -m course_tools.lock update

# The edition: `make lab LANG=zh` is the Chinese one (copies in learner/zh/). Only a LANG given
# on the command line chooses it (the shell's locale, also called LANG, does not), and the
# programs started then get a UTF-8 locale instead of the bare "zh".
COURSE_LANG := $(if $(filter command line,$(origin LANG)),$(LANG),en)
LANG_ENV := $(if $(filter command line,$(origin LANG)),LANG=C.UTF-8,)

lab: $(LAB_STAMP)  ## run the course: your own copies in learner/ (made on first use), then JupyterLab
	$(LANG_ENV) $(BIN)/python -m course_tools lab --lang $(COURSE_LANG) $(AS_ROOT) $(JUPYTER_ARGS)

# `make progress LESSON=03` (or `make progress 03`) checks one lesson: the numbers after
# `progress` are lessons, not targets.
ifeq (progress,$(firstword $(MAKECMDGOALS)))
PROGRESS_LESSONS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq (,$(PROGRESS_LESSONS))
$(eval $(PROGRESS_LESSONS):;@:)
endif
endif
progress: $(LAB_STAMP)  ## which exercises of your copies in learner/ pass their checks (LESSON=03: one)
	$(LANG_ENV) $(BIN)/python -m course_tools progress --lang $(COURSE_LANG) $(LESSON) $(PROGRESS_LESSONS)

# Each lesson is executed once per run (tests/test_lessons.py, into build/executed/); the deck
# tests and other tests that need executed lessons reuse those copies.
test: $(STAMP)  ## run every test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests --durations=30

unit: $(STAMP)  ## unit tests only: no lesson executed, no deck built
	$(BIN)/python -m pytest tests -m "not lessons"

notebooks: $(STAMP)  ## every lesson runs top to bottom (errors fail; GPU cells skipped without CUDA)
	$(BIN)/python -m pytest tests/test_lessons.py

nbval: $(STAMP)  ## the same with nbval, straight from notebooks/
	$(BIN)/python -m pytest notebooks $(NBVAL)

lint: $(STAMP)
	$(BIN)/ruff check .

course: $(STAMP)  ## execute every notebook headless: build/executed, build/html, wall times
	$(BIN)/python -m course_tools build

slides: $(STAMP)  ## offline reveal.js decks in build/slides (reuses `make course`'s executed copies)
	$(BIN)/python -m course_tools slides

site: $(STAMP)  ## the course as an offline website in build/site (reuses `make course`'s executed copies)
	$(BIN)/python -m course_tools site

check-release: $(STAMP)  ## student versions (blank answers) still run outside the exercises
	$(BIN)/python -m course_tools.check_release

doctor: $(STAMP)  ## environment report
	$(BIN)/python -m course_tools doctor

benchmarks: $(STAMP)  ## ratios against PyTorch references (slow; not tests)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean-notebooks: $(STAMP)  ## strip outputs and execution counts from stored notebooks
	$(BIN)/python -m course_tools clean notebooks/*.ipynb

clean:
	rm -rf build .pytest_cache .ruff_cache

SUBMISSIONS ?= submissions
RESULTS ?= build/grades
grade: $(STAMP)  ## grade a class: make grade SUBMISSIONS=folder/of/<student>/<lesson>.ipynb
	$(BIN)/python -m course_tools grade $(SUBMISSIONS) --out $(RESULTS)

test-nbgrader: $(STAMP)  ## nbgrader generate_assignment + autograde on lessons 00 and 03
	$(INSTALL) instructor
	REQUIRE_NBGRADER=1 $(BIN)/python -m pytest tests/test_nbgrader.py
