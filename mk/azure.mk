# The Azure target's tests (docs/azure.md).
#
#   make test-azure   the Azure ML backend against the fake, autospecced SDK and the real provider host
#   make test-live    the opt-in live suite: a throwaway Azure stack up, queried, updated once per kind
#                     of change (docs/azure.md), destroyed (costs GPU
#                     hours; skipped, with the reason, without AZURE_SUBSCRIPTION_ID and credentials)

.PHONY: test-azure test-live

test-azure: $(VENV)/.installed
	$(PY) -m pytest tests/azure

test-live: $(VENV)/.installed
	$(PY) -m pytest tests/live -rs
