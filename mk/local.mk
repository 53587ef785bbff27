# The local target (docs/local-target.md): the local stack through the Pulumi Automation API.
#
#   make demo           pulumi up on the `local` stack (file backend in .pulumi/), then the sample query
#   make destroy-local  pulumi destroy on the `local` stack
#
# Without a `pulumi` CLI on PATH, scripts/local_stack.py installs the SDK's version into .pulumi-cli/;
# where that download is unreachable it stops with the manual install link.

demo: venvs model
	$(PY) -m scripts.local_stack up

destroy-local: $(VENV)/.installed
	$(PY) -m scripts.local_stack destroy
