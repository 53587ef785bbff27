package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/protobuf/types/known/structpb"
)

func programInfo(t *testing.T, options map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatalf("options %v: %v", options, err)
	}
	return &pulumirpc.ProgramInfo{
		RootDirectory:    "/project",
		ProgramDirectory: "/project/infra",
		EntryPoint:       ".",
		Options:          opts,
	}
}

func TestPythonOptionsDefaultToPipWithoutAVirtualenv(t *testing.T) {
	opts, err := pythonOptions(programInfo(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := toolchain.PythonOptions{Root: "/project", ProgramDir: "/project/infra", Toolchain: toolchain.Pip}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v, want %+v", opts, want)
	}
}

func TestPythonOptionsKeepTheVirtualenvRelativeToTheRoot(t *testing.T) {
	// Pulumi.yaml's `virtualenv: .venv` is resolved by the toolchain against Root, not ProgramDir.
	opts, err := pythonOptions(programInfo(t, map[string]any{"virtualenv": ".venv"}))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Virtualenv != ".venv" || opts.Root != "/project" {
		t.Errorf("got virtualenv %q under root %q, want .venv under /project", opts.Virtualenv, opts.Root)
	}
}

func TestPythonOptionsReadEachToolchain(t *testing.T) {
	for name, want := range map[string]string{
		"pip": toolchain.Name(toolchain.Pip), "poetry": toolchain.Name(toolchain.Poetry), "uv": toolchain.Name(toolchain.Uv),
	} {
		opts, err := pythonOptions(programInfo(t, map[string]any{"toolchain": name}))
		if err != nil {
			t.Fatalf("toolchain %s: %v", name, err)
		}
		if got := toolchain.Name(opts.Toolchain); got != want {
			t.Errorf("toolchain %s: got %s, want %s", name, got, want)
		}
	}
}

func TestPythonOptionsRefuseWhatTheyCannotHonour(t *testing.T) {
	for _, tc := range []struct {
		options map[string]any
		message string
	}{
		{map[string]any{"virtualenv": 3.0}, "runtime option virtualenv must be a string, got 3"},
		{map[string]any{"toolchain": "conda"}, "runtime option toolchain is conda; allowed: pip, poetry, uv"},
		{map[string]any{"typechecker": "mypy"}, "runtime option typechecker (mypy) is not supported"},
	} {
		_, err := pythonOptions(programInfo(t, tc.options))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("options %v: got error %v, want one containing %q", tc.options, err, tc.message)
		}
	}
}

func TestPythonOptionsAllowAnEmptyTypechecker(t *testing.T) {
	if _, err := pythonOptions(programInfo(t, map[string]any{"typechecker": ""})); err != nil {
		t.Errorf("an empty typechecker is no type checker: got %v", err)
	}
}

func TestProgramArgsAreTheExecScriptsFlagsThenTheEntryPointAndArgs(t *testing.T) {
	h := newHost("/bin/exec", "127.0.0.1:4000", "")
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:5000",
		Project:        "aml-gpu-inference",
		Stack:          "local",
		Pwd:            "/project/infra",
		DryRun:         true,
		Parallel:       16,
		Organization:   "organization",
		Args:           []string{"--extra"},
		Info:           &pulumirpc.ProgramInfo{RootDirectory: "/project", EntryPoint: "."},
	}
	want := []string{
		"--monitor", "127.0.0.1:5000",
		"--engine", "127.0.0.1:4000",
		"--project", "aml-gpu-inference",
		"--root_directory", "/project",
		"--stack", "local",
		"--pwd", "/project/infra",
		"--dry_run", "true",
		"--parallel", "16",
		"--organization", "organization",
		".", "--extra",
	}
	if got := h.programArgs(req); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestProgramArgsLeaveOutEmptyValuesButAlwaysSayDryRunAndParallel(t *testing.T) {
	h := newHost("/bin/exec", "", "")
	req := &pulumirpc.RunRequest{Info: &pulumirpc.ProgramInfo{EntryPoint: "__main__.py"}}
	want := []string{"--dry_run", "false", "--parallel", "0", "__main__.py"}
	if got := h.programArgs(req); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProgramArgsPassTracingAndAHandshakenEngine(t *testing.T) {
	h := newHost("/bin/exec", "", "http://zipkin:9411")
	if _, err := h.Handshake(t.Context(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "127.0.0.1:4001"}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(h.programArgs(&pulumirpc.RunRequest{Info: &pulumirpc.ProgramInfo{EntryPoint: "."}}), " ")
	for _, part := range []string{"--engine 127.0.0.1:4001", "--tracing http://zipkin:9411"} {
		if !strings.Contains(got, part) {
			t.Errorf("%q lacks %q", got, part)
		}
	}
}

func envMap(t *testing.T, env []string) map[string]string {
	t.Helper()
	found := map[string]string{}
	for _, entry := range env {
		key, value, ok := strings.Cut(entry, "=")
		if !ok {
			t.Fatalf("%q is not KEY=VALUE", entry)
		}
		if _, twice := found[key]; twice {
			t.Fatalf("%s set twice in %q", key, env)
		}
		found[key] = value
	}
	return found
}

func TestProgramEnvCarriesTheConfigAndTheSecretKeysAsJSON(t *testing.T) {
	req := &pulumirpc.RunRequest{
		Config:           map[string]string{"aml-gpu-inference:target": "local", "azure:key": "s3cret"},
		ConfigSecretKeys: []string{"azure:key"},
	}
	env, err := programEnv(req)
	if err != nil {
		t.Fatal(err)
	}
	got := envMap(t, env)
	var config map[string]string
	if err := json.Unmarshal([]byte(got["PULUMI_CONFIG"]), &config); err != nil {
		t.Fatalf("PULUMI_CONFIG %q: %v", got["PULUMI_CONFIG"], err)
	}
	if !reflect.DeepEqual(config, req.Config) {
		t.Errorf("PULUMI_CONFIG: got %v, want %v", config, req.Config)
	}
	if got["PULUMI_CONFIG_SECRET_KEYS"] != `["azure:key"]` {
		t.Errorf("PULUMI_CONFIG_SECRET_KEYS: got %q", got["PULUMI_CONFIG_SECRET_KEYS"])
	}
}

func TestProgramEnvWithoutConfigStillSaysThereAreNoSecretKeys(t *testing.T) {
	// The SDK reads an absent PULUMI_CONFIG as no config; the secret keys are always a JSON list.
	env, err := programEnv(&pulumirpc.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PULUMI_CONFIG_SECRET_KEYS=[]"}; !reflect.DeepEqual(env, want) {
		t.Errorf("got %q, want %q", env, want)
	}
}

func TestFindExecutorPrefersTheGivenScript(t *testing.T) {
	got, err := findExecutor("/opt/runner")
	if err != nil || got != "/opt/runner" {
		t.Errorf("got %q, %v; want /opt/runner", got, err)
	}
}

func TestFindExecutorNamesTheMissingScriptNextToTheHost(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(self), execScript)); err == nil {
		t.Skip("the exec script is installed next to the test binary")
	}
	_, err = findExecutor("")
	if err == nil || !strings.Contains(err.Error(), "missing "+execScript+" next to the language host") {
		t.Errorf("got %v, want an error naming %s", err, execScript)
	}
}
