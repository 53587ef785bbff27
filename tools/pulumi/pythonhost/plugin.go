package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// RunPlugin runs a plugin written in Python. The engine uses it for Python policy packs
// (`pulumi preview --policy-pack policy`), which run as `python -u -m pulumi.policy ARGS DIR` in the
// pack's own directory and virtualenv, behind sdk/v3's policy proxy: the proxy answers the engine's
// stack-configuration call so that the pack's process starts with PULUMI_CONFIG and the stack's
// name. Other plugins run their directory's __main__.py.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return err
	}
	isPolicyPack := req.GetKind() == string(apitype.AnalyzerPlugin)
	if opts.Toolchain == toolchain.Pip && opts.Virtualenv == "" && !isPolicyPack {
		opts.Virtualenv = "venv"
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	var args []string
	if isPolicyPack {
		args = append(append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...), dir)
	} else {
		args = append([]string{dir}, req.GetArgs()...)
	}
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		cmd.Dir = dir
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		env, err := policyPackEnv(proxy, server)
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, env...)
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the plugin: %w", err)
	}
	if proxy != nil {
		// The proxy relays the engine's calls to the pack and owns the process from here on.
		if err := proxy.Attach(ctx, cmd); err != nil {
			return fmt.Errorf("could not attach the policy pack: %w", err)
		}
		return nil
	}
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())}, //nolint:gosec
			})
		}
		return fmt.Errorf("plugin failed: %w", err)
	}
	return closer.Close()
}

// policyPackEnv waits for the engine's stack configuration (through the proxy) and turns it into
// the environment the Python policy SDK reads.
func policyPackEnv(proxy *sdk.PolicyProxy, server pulumirpc.LanguageRuntime_RunPluginServer) ([]string, error) {
	cfg, err := proxy.AwaitConfiguration(server.Context())
	if err != nil {
		return nil, fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
	}
	if cfg == nil {
		return nil, nil
	}
	var env []string
	set := func(key, value string) {
		if value != "" {
			env = append(env, key+"="+value)
		}
	}
	set("PULUMI_ORGANIZATION", cfg.GetOrganization())
	set("PULUMI_PROJECT", cfg.GetProject())
	set("PULUMI_STACK", cfg.GetStack())
	set("PULUMI_DRY_RUN", strconv.FormatBool(cfg.GetDryRun()))
	if c := cfg.GetConfig(); c != nil {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("could not serialize the stack configuration: %w", err)
		}
		set("PULUMI_CONFIG", string(b))
	}
	return env, nil
}
