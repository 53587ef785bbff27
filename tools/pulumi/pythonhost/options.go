package main

import (
	"context"
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// pythonOptions reads Pulumi.yaml's `runtime.options` for Python. `virtualenv` is resolved by the
// toolchain against the project root (where Pulumi.yaml is), not against `main:`.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Pip,
	}
	values := info.GetOptions().AsMap()

	if v, ok := values["virtualenv"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option virtualenv must be a string, got %v", v)
		}
		opts.Virtualenv = s
	}
	if v, ok := values["toolchain"]; ok {
		switch v {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("runtime option toolchain is %v; allowed: pip, poetry, uv", v)
		}
	}
	if v, ok := values["typechecker"]; ok && v != "" {
		return opts, fmt.Errorf("runtime option typechecker (%v) is not supported by this project's "+
			"language host; run the type checker before pulumi", v)
	}
	return opts, nil
}

// programToolchain is the program's Python toolchain, its virtualenv checked to exist.
func programToolchain(ctx context.Context, info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
