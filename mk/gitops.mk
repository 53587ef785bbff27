# GitOps: the targets .github/workflows/*.yml run, and that developers run the same way
# (docs/gitops.md). Every pulumi call runs with the program's virtualenv first on PATH (Pulumi.yaml
# names it too), against the backend in PULUMI_BACKEND_URL, with PULUMI_CONFIG_PASSPHRASE.
#
#   make preview STACK=dev          pulumi preview --diff (with the policy pack)
#   make cost STACK=dev             the stack's cost estimate from Pulumi.<stack>.yaml; runs no pulumi (docs/cost.md)
#   make up STACK=dev               pulumi up with the policy pack (a dev stack without expires-on is stamped first)
#   make refresh-check STACK=dev    pulumi refresh --expect-no-changes; drift fails and is listed
#   make destroy STACK=x CONFIRM=x  pulumi destroy; CONFIRM must repeat the stack name
#   make cost-guard-dry-run         report which stacks are expired; destroy nothing
#   make cost-guard                 destroy the expired stacks (COST_GUARD_ARGS="--stack NAME" for one)
#   make actionlint                 lint the workflows

# A pulumi on PATH wins; without one, the CLI that `make pulumi-cli` builds (PATH's last entry).
PULUMI ?= pulumi
# The CrossGuard pack (policy/) runs on every preview and up: GPU sizes, tags, compute attach.
POLICY_PACK ?= policy
PULUMI_PATH = PATH="$(abspath $(VENV))/bin:$$PATH:$(abspath $(TOOLS_BIN))"
PULUMI_RUN = $(PULUMI_PATH) $(PULUMI)
ACTIONLINT ?= $(VENV)/bin/actionlint
TAGS_KEY := aml-gpu-inference:tags
DEV_LIFETIME_DAYS ?= 7
COST_GUARD_ARGS ?=
# E.g. COST_ARGS="--currency EUR" or "--json"; AMLGPU_PRICE_SOURCE=table skips the Retail Prices API.
COST_ARGS ?=
CONFIRM ?=
BASE ?= origin/main

.PHONY: pulumi-ready preview cost up stamp-expiry refresh-check destroy cost-guard cost-guard-dry-run \
	actionlint affected-stacks

# What any pulumi run of the program needs: its environment and the trained model it deploys.
pulumi-ready: $(VENV)/.installed model

preview: pulumi-ready
	$(PULUMI_RUN) preview --stack $(STACK) --diff --non-interactive --policy-pack $(POLICY_PACK)

# The estimate reads the stack file only: no program run, no backend, no model needed.
cost: $(VENV)/.installed
	@PYTHONPATH=infra $(PY) -m cost --stack '$(STACK)' $(COST_ARGS)

up: pulumi-ready stamp-expiry
	$(PULUMI_RUN) up --stack $(STACK) --yes --diff --non-interactive --policy-pack $(POLICY_PACK)

# The program requires owner and expires-on tags on Azure stacks. A dev stack (dev, dev-*) without
# expires-on gets today + DEV_LIFETIME_DAYS (UTC): the same date the cost guard assumes for it.
stamp-expiry: $(VENV)/.installed
	@if $(PY) -m scripts.expiry --is-dev --stack '$(STACK)' && \
	    ! $(PULUMI_RUN) config get --path '$(TAGS_KEY).expires-on' --stack '$(STACK)' >/dev/null 2>&1; then \
	  expires=$$($(PY) -m scripts.expiry --default-dev-expiry --days $(DEV_LIFETIME_DAYS)) || exit 1; \
	  echo "$(STACK): no expires-on tag; stamping $$expires (dev stacks live $(DEV_LIFETIME_DAYS) days after an up)"; \
	  $(PULUMI_RUN) config set --path '$(TAGS_KEY).expires-on' "$$expires" --stack '$(STACK)' || exit 1; \
	fi

# Drift: refresh must find the cloud exactly as the state says. On drift the full diff is printed,
# then the drifted resources and properties again as a summary (and as an error annotation in CI).
refresh-check: pulumi-ready
	@log=$$(mktemp); \
	if $(PULUMI_RUN) refresh --stack '$(STACK)' --yes --expect-no-changes --diff --non-interactive >"$$log" 2>&1; then \
	  cat "$$log"; rm -f "$$log"; echo "$(STACK): no drift"; exit 0; \
	fi; \
	cat "$$log"; \
	if grep -q 'no changes were expected' "$$log"; then \
	  summary=$$(grep -E '^[[:space:]]*[-+~]{1,2} ' "$$log" | grep -v 'pulumi:pulumi:Stack' | head -n 60); \
	  printf '\nDRIFT in stack %s: the cloud differs from the state. What drifted:\n%s\n' '$(STACK)' "$$summary"; \
	  if [ -n "$$GITHUB_ACTIONS" ]; then \
	    echo "::error title=Drift in stack $(STACK)::$$(printf '%s' "$$summary" | tr '\n' ';' | cut -c1-900)"; \
	    [ -z "$$GITHUB_STEP_SUMMARY" ] || printf '## Drift in stack %s\n```\n%s\n```\n' '$(STACK)' "$$summary" >>"$$GITHUB_STEP_SUMMARY"; \
	  fi; \
	else \
	  echo "$(STACK): refresh failed (not a drift finding); see the log above" >&2; \
	fi; \
	rm -f "$$log"; exit 1

destroy: $(VENV)/.installed
	@if [ -z '$(CONFIRM)' ] || [ '$(CONFIRM)' != '$(STACK)' ]; then \
	  echo "destroy: CONFIRM='$(CONFIRM)' does not repeat STACK='$(STACK)'; run: make destroy STACK=$(STACK) CONFIRM=$(STACK)" >&2; \
	  exit 2; \
	fi
	$(PULUMI_RUN) destroy --stack '$(STACK)' --yes --non-interactive

# The Automation API drives the pulumi CLI found on PATH.
cost-guard: $(VENV)/.installed
	$(PULUMI_PATH) $(PY) -m scripts.cost_guard $(COST_GUARD_ARGS)

cost-guard-dry-run: $(VENV)/.installed
	$(PULUMI_PATH) $(PY) -m scripts.cost_guard --dry-run $(COST_GUARD_ARGS)

# Shellcheck/pyflakes integration off: their presence differs between machines, so results would too.
actionlint: $(VENV)/.installed
	$(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yml

# Stdlib only, so the workflow can ask before any environment exists. Prints a JSON list.
affected-stacks:
	@$(PYTHON) -m scripts.affected_stacks --base '$(BASE)'
