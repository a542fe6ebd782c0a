# storeops — the two commands first:
#   make demo   bring up the two-store lab and run playbooks/upgrade-dms.yml against it
#   make test   lint, unit tests, lab integration tests and role tests (what CI runs)
# Everything a fresh Debian 12 machine needs is installed by these targets (as root).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR ?= false
# pytest's exit status 5 ("no tests collected") is a failure here, never a pass.
PYTEST := $(BIN)/pytest
STAMP := $(VENV)/.installed
ROLES_WITH_MOLECULE_ALL := $(patsubst roles/%/molecule/default/molecule.yml,%,$(wildcard roles/*/molecule/default/molecule.yml))
# The longest scenarios start first (hardening about 10 min, dms 5), so the others fill the
# remaining slots beside them instead of leaving one long scenario running alone at the end.
MOLECULE_SLOW_FIRST := hardening dms
ROLES_WITH_MOLECULE := $(filter $(MOLECULE_SLOW_FIRST),$(ROLES_WITH_MOLECULE_ALL)) \
  $(filter-out $(MOLECULE_SLOW_FIRST),$(ROLES_WITH_MOLECULE_ALL))

.PHONY: help
help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ set-up (idempotent)

.PHONY: host
host: ## install host packages (podman, debootstrap, ...) and podman's containers.conf
	bash lab/host-setup.sh

$(STAMP): requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	# storeops' declared ranges (pyproject.toml) hold the pins, and nothing is broken
	$(VENV)/bin/pip check
	touch $@

.PHONY: venv
venv: $(STAMP) ## the Python venv from the pinned requirements.txt (+ storeops, editable)

.PHONY: setup
setup: host venv ## host packages + venv

# ------------------------------------------------------------------ the lab

.PHONY: image
image: setup ## build the lab base image (cached by content hash)
	storeops lab image

.PHONY: lab-up
lab-up: setup ## bring up the lab from inventory/lab (idempotent; repairs a half-built lab)
	storeops lab up

.PHONY: lab-down
lab-down: venv ## remove the lab's containers and networks (keeps the image)
	storeops lab down

.PHONY: lab-status
lab-status: venv ## one line per lab host: container, SSH, systemd state
	storeops lab status

.PHONY: validate
validate: venv ## validate the lab and the example production inventories (offline)
	storeops validate -i inventory/lab
	storeops validate -i inventory/example-production \
	  --vault-password-file inventory/example-production/EXAMPLE-vault-password.txt

.PHONY: demo
demo: lab-up validate ## make demo: the lab up on DMS 3.1.0, hardened (MLPS 2.0), behind its firewalls, then the rollout to 3.2.0
	ansible-playbook playbooks/lab-baseline.yml
	ansible-playbook playbooks/harden.yml
	ansible-playbook playbooks/firewall.yml
	ansible-playbook playbooks/upgrade-dms.yml

# ------------------------------------------------------------------ tests

.PHONY: lint
lint: venv ## yamllint, ansible-lint (production profile), ruff, mypy, shellcheck
	yamllint --strict .
	shellcheck .ci/run .ci/molecule-all lab/host-setup.sh lab/image/build.sh
	ansible-lint
	ruff check .
	ruff format --check .
	mypy
	mypy --strict --disable-error-code import-untyped module_utils  # shipped as ansible.module_utils.*
	# Ansible's plugins and modules: one run per folder (library/dms_artifact.py and
	# action_plugins/dms_artifact.py share a name, as Ansible wants); Ansible ships no types,
	# so its base classes are Any and subclassing them is allowed.
	mypy --strict --disable-error-code import-untyped tests
	for dir in library action_plugins filter_plugins callback_plugins roles/hardening/filter_plugins doc_fragments deploys bench; do \
	  mypy --strict --allow-subclassing-any --disable-error-code import-untyped \
	    --follow-imports=silent $$dir || exit 1; \
	done
	# The thin entry points the backup role installs on hosts (their code, module_utils/, is on
	# mypy_path as it is on the hosts' sys.path).
	for script in roles/backup/files/usr/local/sbin/*; do \
	  mypy --strict --disable-error-code import-untyped --scripts-are-modules $$script || exit 1; \
	done
	# The lab apt repository's builder (stdlib only, run by `lab up`)
	mypy --strict --python-version 3.11 lab/aptrepo/build.py
	$(MAKE) --no-print-directory mypy-dms

# The reference DMS runs on lab hosts (stdlib + pymysql); each release adds its own
# storedms/release.py, so the package is type-checked once per release, as shipped
# (pymysql is untyped there: Debian ships no stubs, and the PyPI stubs type rows as tuples).
DMS_STAGE := .cache/mypy-storedms
.PHONY: mypy-dms
mypy-dms: venv
	for release in lab/dms/releases/*/; do \
	  rm -rf $(DMS_STAGE) && mkdir -p $(DMS_STAGE) && cp -r lab/dms/src/storedms $(DMS_STAGE)/ && \
	  cp $$release/release.py $(DMS_STAGE)/storedms/ && \
	  mypy --strict --python-version 3.11 --disable-error-code import-untyped $(DMS_STAGE)/storedms lab/dms/build.py lab/dms/verify.py || exit 1; \
	done

.PHONY: unit
unit: venv ## unit tests: pure (no network, no SSH, no ansible-playbook run)
	$(PYTEST) tests/unit -p no:cacheprovider -n 2

# In 4 pytest-xdist workers: most of the time is spent waiting on the device emulators (netmiko's
# huawei driver, the devices' timers), so 4 workers pay on 2 cores. Tests handed out one at a
# time (--maxschedchunk 1) and the slow ones first (tests/conftest.py) keep the workers busy.
.PHONY: emulated
emulated: venv ## the device emulators over SSH and the modules through ansible-playbook (no lab)
	$(PYTEST) tests/emulated -p no:cacheprovider -n 4 --dist load --maxschedchunk 1

# The report in Debian's headless chromium, its PDF through poppler (lab/host-setup.sh).
.PHONY: component
component: venv ## one program at a time: the monthly report in a real headless browser and as PDF
	$(PYTEST) tests/component -p no:cacheprovider

.PHONY: test-fast
test-fast: lint unit component emulated ## the inner loop: lint, unit and emulator tests, no lab

.PHONY: test-lab
test-lab: setup ## integration and testinfra suites against the lab, in phases of parallel lanes (tests/lab_lanes.py)
	$(BIN)/python tests/lab_lanes.py --durations=10

.PHONY: test-molecule
test-molecule: image ## each role's molecule scenario (syntax, create, check, converge, idempotence, verify)
	.ci/molecule-all $(ROLES_WITH_MOLECULE)

# The role scenarios run beside the other suites, not after them: they use their own
# containers (on an internal network of their own, reached over SSH), and the lab suites
# mostly wait on SSH and systemd, so the two share the 2 cores well (CI: 57 min one after
# the other). MOLECULE_JOBS=2 keeps the scenarios from crowding the lab suites; their
# output is printed when each one ends.
# The lint, unit, emulator and component suites (no lab: their own devices and servers on
# free 127.0.0.1 ports) run one after the other in a lane beside the lab suites, from the
# start: the lab suites are the longest part and need nothing of theirs (CI: lint and the
# unit tests first cost the lab suites 5 min of waiting). --keep-going: a failure in one
# does not skip the others; any failure fails the run. Printed when the lab suites end.
MOLECULE_LOG := .cache/molecule/all.log
SIDE_LOG := .cache/lint-unit-emulated-component.log
.PHONY: test
test: setup image ## make test: everything CI runs (pytest closes the run)
	mkdir -p $(dir $(MOLECULE_LOG))
	MOLECULE_JOBS=$${MOLECULE_JOBS:-2} .ci/molecule-all $(ROLES_WITH_MOLECULE) >$(MOLECULE_LOG) 2>&1 & \
	  molecule=$$!; status=0; \
	  $(MAKE) --no-print-directory --keep-going lint unit emulated component >$(SIDE_LOG) 2>&1 & side=$$!; \
	  $(MAKE) --no-print-directory test-lab || status=$$?; \
	  wait $$side || status=$$?; \
	  cat $(SIDE_LOG); \
	  echo "waiting for the molecule scenarios (pid $$molecule)"; \
	  wait $$molecule || status=$$?; \
	  cat $(MOLECULE_LOG); \
	  exit $$status

.PHONY: bench
bench: setup ## measurements into bench/results (see README, Performance)
	$(BIN)/python bench/run.py
