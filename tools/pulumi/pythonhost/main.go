// Command pulumi-language-python is this project's Python language host for the Pulumi engine.
//
// Pulumi's own Python language host is a Go module of its own that the Go module proxy reachable
// from our machines does not serve, while the CLI (pkg/v3) and everything the host is made of
// (sdk/v3: the Python toolchain, the RPC definitions, the policy-pack proxy) are served. So the
// project builds the CLI from pkg/v3 and this small host from sdk/v3's parts. It implements what
// the engine asks of a Python host for `preview`, `up`, `refresh`, `destroy`, policy packs and
// the Automation API: Handshake, GetPluginInfo, GetRequiredPackages, Run, RunPlugin,
// InstallDependencies, GetProgramDependencies, About and Cancel. Code generation, packing and
// linking answer Unimplemented.
//
// Like the official host it runs the program with the `pulumi-language-python-exec` script that
// ships in sdk/v3 and is installed next to this binary, in the virtualenv that Pulumi.yaml names,
// resolved against the project root (sdk/v3's toolchain package does that).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// execScript is the name the engine's convention gives the program runner next to the host.
const execScript = "pulumi-language-python-exec"

// engineGrace is how long the host outlives an engine that stopped answering health checks.
const engineGrace = 5 * time.Minute

func main() {
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	tracing := flag.String("tracing", "", "emit tracing to a Zipkin-compatible endpoint (passed to the program)")
	executor := flag.String("use-executor", "", "run programs with this script instead of the one next to the host")
	flag.Parse()

	if *showVersion {
		fmt.Println(version.Version)
		return
	}

	exec, err := findExecutor(*executor)
	if err != nil {
		cmdutil.Exit(err)
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if engineAddress != "" {
		// Exit when the engine goes away, so no host is left behind by a killed `pulumi up`.
		if err := rpcutil.Healthcheck(ctx, engineAddress, engineGrace, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newHost(exec, engineAddress, *tracing))
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's RPC server: %w", err))
	}

	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host stopped serving: %w", err))
	}
}

// findExecutor returns the program runner: the given one, or the script installed next to us.
func findExecutor(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("could not locate this executable: %w", err)
	}
	path := filepath.Join(filepath.Dir(self), execScript)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("missing %s next to the language host (install it from sdk/v3's python/cmd): %w",
			execScript, err)
	}
	return path, nil
}
