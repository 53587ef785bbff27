# The Pulumi engine, built from Go modules (docs/engine.md). The CLI download is unreachable on our
# machines, while the Go module proxy is not: tools/pulumi/ is a Go module that pins the CLI
# (github.com/pulumi/pulumi/pkg/v3) and sdk/v3 at the same version as the Python SDK in
# requirements.txt, plus this project's Python language host (tools/pulumi/pythonhost).
#
#   make pulumi-cli   build pulumi, pulumi-language-python and install the two scripts the engine
#                     runs Python with into .tools/bin (a second run does nothing)
#   make test-engine  the real-engine lifecycle suite (tests/engine)
#   make test-go      the language host's unit tests (option parsing, the program's command line and
#                     environment); part of `make test`
#   make bench-engine wall time of preview/up/destroy through the real engine (bench/engine_ops.py)

GO ?= go
TOOLS_BIN := .tools/bin
PULUMI_GO_MOD := tools/pulumi
# Built as Pulumi's release is built: static, reproducible paths, pure-Go user lookup, and the
# version stamped in (the Automation API refuses a CLI that reports none).
GO_BUILD = cd $(PULUMI_GO_MOD) && CGO_ENABLED=0 GOTOOLCHAIN=local $(GO) build -trimpath -tags osusergo \
	-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
PULUMI_SDK_DIR = $$(cd $(PULUMI_GO_MOD) && $(GO) list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
ENGINE_FILES := $(TOOLS_BIN)/pulumi $(TOOLS_BIN)/pulumi-language-python \
	$(TOOLS_BIN)/pulumi-language-python-exec $(TOOLS_BIN)/pulumi-resource-pulumi-python

.PHONY: pulumi-cli test-engine test-go bench-engine

pulumi-cli: $(ENGINE_FILES)

$(TOOLS_BIN)/pulumi: $(PULUMI_GO_MOD)/go.mod $(PULUMI_GO_MOD)/go.sum
	@mkdir -p $(TOOLS_BIN)
	$(GO_BUILD) -o $(abspath $@) github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

$(TOOLS_BIN)/pulumi-language-python: $(PULUMI_GO_MOD)/go.mod $(PULUMI_GO_MOD)/go.sum $(wildcard $(PULUMI_GO_MOD)/pythonhost/*.go)
	@mkdir -p $(TOOLS_BIN)
	$(GO_BUILD) -o $(abspath $@) ./pythonhost

# The program runner and the dynamic-provider launcher ship as scripts in sdk/v3 (read-only in
# Go's module cache): copied with their run bit.
$(TOOLS_BIN)/pulumi-language-python-exec: $(PULUMI_GO_MOD)/go.mod
	@mkdir -p $(TOOLS_BIN)
	install -m 0755 "$(PULUMI_SDK_DIR)/python/cmd/pulumi-language-python-exec" $@

$(TOOLS_BIN)/pulumi-resource-pulumi-python: $(PULUMI_GO_MOD)/go.mod
	@mkdir -p $(TOOLS_BIN)
	install -m 0755 "$(PULUMI_SDK_DIR)/python/dist/pulumi-resource-pulumi-python" $@

# The same modules and flags as the build, so the tests reuse its module and build caches.
test-go:
	@if ! command -v $(GO) >/dev/null 2>&1; then echo "test-go: skipped: no Go toolchain ('$(GO)') on PATH"; \
	else cd $(PULUMI_GO_MOD) && CGO_ENABLED=0 GOTOOLCHAIN=local $(GO) test -tags osusergo ./pythonhost; fi

test: test-go

test-engine: venvs model pulumi-cli
	$(PY) -m pytest tests/engine

bench-engine: venvs model pulumi-cli
	$(PY) bench/engine_ops.py
