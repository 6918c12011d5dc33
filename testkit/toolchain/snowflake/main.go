// pulumi-resource-snowflake for the test toolchain: terraform-provider-snowflake bridged by
// pulumi-terraform-bridge, mapped as pulumi-snowflake maps it (providerinfo). schema.json is not committed:
// toolchain/build.py generates it with ./tfgen and stages it here before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"sophia-ai/toolchain/snowflake/providerinfo"
)

//go:embed schema.json
var schema []byte

// Set with -ldflags -X main.version=...: the version of terraform-provider-snowflake it bridges.
var version = "0.0.0-dev"

func main() {
	tfbridge.Main("snowflake", version, providerinfo.Provider(version), schema)
}
