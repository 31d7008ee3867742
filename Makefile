# Two entry points: `make run` (set up, launch the app) and `make test` (set up, run every test headless).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup system-deps bench package clean

run: setup
	$(PY) -m bpstudio resources/examples/single_neuron.bpg

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

setup: system-deps $(STAMP)

system-deps:
	@sh packaging/install-system-deps.sh

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

bench: setup
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/training.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/canvas.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/loading.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/live_rerun.py
	$(PY) benchmarks/csv_reading.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/redraw_cost.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/gui_training.py --still
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/gui_training.py --busy

# A one-folder bundle in dist/bpstudio (slow: not part of `make test`), then its own self-test.
package: setup
	$(PY) -m pip install --quiet pyinstaller
	$(PY) -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
		packaging/bpstudio.spec
	dist/bpstudio/bpstudio --self-test
	@du -sh dist/bpstudio

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
