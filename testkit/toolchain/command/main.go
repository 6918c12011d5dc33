// pulumi-resource-command for tests only: `command:local:Command` with the inputs and outputs of the
// pulumi-command 1.2.1 SDK, on pulumi-go-provider v1.3.0 (what pulumi-command 1.2.1 is built on). The proxy
// serves no version of pulumi-command's own provider module (toolchain/build.py says which answered what),
// so this stands in for the real plugin in the test toolchain and is never what a user's `pulumi up` runs.
//
// Behaviour follows pulumi-command's provider/pkg/provider/local (commandController.go, commandOutputs.go,
// base.go): a preview runs nothing; create runs `create`; update runs `update`, else `create`; delete runs
// `delete`; each through `interpreter` (default /bin/sh -c) in `dir` (default the working directory) with
// the process environment plus `environment`, `stdin` on standard input, and the previous run's stdout and
// stderr as PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR unless `addPreviousOutputInEnv` is false; stdout
// and stderr are kept with one trailing newline trimmed; a change of `triggers` replaces the resource (the
// schema's replaceOnChanges, and the SDK's own replace_on_changes). Every output depends on every input
// (local.Command.WireDependencies), so a secret anywhere in the inputs keeps stdout and stderr secret.
// `assetPaths` and `archivePaths` are in the schema (the SDK sends them) but refused by Check: nothing in
// this project collects files from a command.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-go-provider/infer"

	"sophia-ai/toolchain/command/local"
)

// Set with -ldflags -X main.version=...
var version = "0.0.0-dev"

func main() {
	provider, err := infer.NewProviderBuilder().
		WithDisplayName("Command (test toolchain)").
		WithResources(infer.Resource(local.Command{})).
		Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "command provider: %v\n", err)
		os.Exit(1)
	}
	if err := provider.Run(context.Background(), "command", version); err != nil {
		fmt.Fprintf(os.Stderr, "command provider: %v\n", err)
		os.Exit(1)
	}
}
