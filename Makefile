# The two commands: `make preview` (offline plan + policy gate) and `make test` (everything CI runs).
# Each creates the virtualenv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACKS ?= production staging

.PHONY: preview test unit lint typecheck secrets pytest gate bench helm promtool controlplane crds edge-tools toolchain policy-pack clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))' | xargs -I{} sh -c 'echo "$(CURDIR)/testkit" > {}/sophia-testkit.pth'
	touch $(STAMP)

helm:
	bash scripts/install-helm.sh

# The real Pulumi CLI, its Python language host and the resource plugins, built from Go modules into a cache
# outside the repository (testkit/toolchain/build.py); writes .tools/pulumi.env for `source`.
toolchain: $(STAMP)
	$(PY) testkit/toolchain/build.py

promtool:
	bash testkit/install/install-promtool.sh

# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok for tests/engine, built from
# Go modules into a cache outside the repo (a second run only checks and links .tools/kube/bin).
controlplane:
	bash testkit/toolchain/kube/build.sh

# The Prometheus Operator's CRDs, from its Go module, so the test control plane knows the Monitoring kinds.
crds:
	bash testkit/toolchain/prometheus-operator/crds.sh >/dev/null

# The edge tests run real oauth2-proxy (built from Go modules into a cache outside the repo) and real nginx.
edge-tools:
	bash testkit/toolchain/oauth2-proxy/build.sh >/dev/null
	bash testkit/install/install-nginx.sh >/dev/null
	npm ci --prefix testkit/clients/mcp-typescript --no-audit --no-fund >/dev/null

preview: $(STAMP)
	@for stack in $(STACKS); do \
		echo "=== $$stack"; $(PY) -m offline preview --stack $$stack --policy-pack policies || exit $$?; \
	done

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# Every tracked file against the audited baseline: a new finding fails the build until it is audited.
secrets: $(STAMP)
	$(PY) scripts/check_secrets.py

gate: $(STAMP)
	@for stack in $(STACKS); do \
		$(PY) -m offline preview --stack $$stack --policy-pack policies --quiet || exit $$?; \
	done

pytest: $(STAMP) helm promtool controlplane crds edge-tools toolchain
	$(PY) -m pytest

# The fast loop while changing a component: every test that needs no Go build and no server (markers by cost
# in tests/conftest.py), after lint and the type checker, spread over the machine's cores (pytest-xdist).
# `make test` stays the full run, in one process: its servers and the real engine share ports and caches.
unit: lint typecheck helm
	$(PY) -m pytest -m "not engine and not edge" -n auto

test: lint typecheck secrets gate pytest

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache

# --- The policy pack on its own -----------------------------------------------------------------------------
# A self-contained copy of the sophia-guardrails pack (the pack plus the domain/ modules its rules import) in
# build/policy-pack, for `pulumi policy publish` (docs/policies.md, "Running the pack").
policy-pack:
	$(PYTHON) scripts/stage_policy_pack.py build/policy-pack
