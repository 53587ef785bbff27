package main

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// GetRequiredPackages names the resource plugins the program's Python packages declare in their
// pulumi-plugin.json (e.g. azure-native 3.24.0 from pulumi-azure-native). The engine installs
// missing ones unless PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION is set, and loads one only
// when a resource of that package is registered.
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	packages, err := listPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	deps := []*pulumirpc.PackageDependency{}
	for _, pkg := range packages {
		meta, err := pluginMetadata(pkg)
		if err != nil {
			return nil, err
		}
		if meta == nil || !meta.Resource {
			continue
		}
		name := meta.Name
		if name == "" {
			name = strings.TrimPrefix(pkg.Name, "pulumi-")
		}
		ver := meta.Version
		if ver == "" {
			// Without a version in pulumi-plugin.json a PEP 440 version cannot always be mapped
			// to the plugin's semver: leave the plugin to on-demand loading.
			continue
		}
		if !strings.HasPrefix(ver, "v") {
			ver = "v" + ver
		}
		deps = append(deps, &pulumirpc.PackageDependency{
			Name: name, Version: ver, Kind: "resource", Server: meta.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetProgramDependencies lists the virtualenv's packages (`pulumi about`, update metadata).
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	packages, err := listPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(packages))
	for _, pkg := range packages {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: pkg.Name, Version: pkg.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// About reports the Python executable and version the program runs with.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata:   map[string]string{"toolchain": toolchain.Name(opts.Toolchain)},
	}, nil
}

func listPackages(ctx context.Context, info *pulumirpc.ProgramInfo) ([]toolchain.PythonPackage, error) {
	tc, err := programToolchain(ctx, info)
	if err != nil {
		return nil, err
	}
	return tc.ListPackages(ctx, true)
}

// pluginMetadata reads the package's pulumi-plugin.json (module name = package name with '_'),
// or returns nil when it has none.
func pluginMetadata(pkg toolchain.PythonPackage) (*plugin.PulumiPluginJSON, error) {
	module := strings.ReplaceAll(pkg.Name, "-", "_")
	meta, err := plugin.LoadPulumiPluginJSON(filepath.Join(pkg.Location, module, "pulumi-plugin.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return meta, err
}
