# The two commands: `make preview` (offline plan + policy gate) and `make test` (everything CI runs).
# Each creates the virtualenv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACKS ?= production staging

.PHONY: preview test lint typecheck secrets pytest gate bench helm promtool controlplane crds edge-tools toolchain clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

helm:
	bash scripts/install-helm.sh

# The real Pulumi CLI, its Python language host and the resource plugins, built from Go modules into a cache
# outside the repository (toolchain/build.py); writes .tools/pulumi.env for `source`.
toolchain: $(STAMP)
	$(PY) toolchain/build.py

promtool:
	bash scripts/install-promtool.sh

# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok for tests/engine, built from
# Go modules into a cache outside the repo (a second run only checks and links .tools/kube/bin).
controlplane:
	bash toolchain/kube/build.sh

# The Prometheus Operator's CRDs, from its Go module, so the test control plane knows the Monitoring kinds.
crds:
	bash toolchain/prometheus-operator/crds.sh >/dev/null

# The edge tests run real oauth2-proxy (built from Go modules into a cache outside the repo) and real nginx.
edge-tools:
	bash toolchain/oauth2-proxy/build.sh >/dev/null
	bash scripts/install-nginx.sh >/dev/null

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

test: lint typecheck secrets gate pytest

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache

# --- The policy pack on its own -----------------------------------------------------------------------------
# A self-contained copy of the sophia-guardrails pack (the pack plus the domain/ modules its rules import) in
# build/policy-pack, for `pulumi policy publish` (docs/policies.md, "Running the pack").
.PHONY: policy-pack
policy-pack:
	$(PYTHON) scripts/stage_policy_pack.py build/policy-pack
