// pulumi-tfgen-snowflake: writes the Pulumi schema of the bridged provider (`schema --skip-docs --out DIR`);
// toolchain/build.py runs it at build time and embeds the schema in pulumi-resource-snowflake.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"sophia-ai/toolchain/snowflake/providerinfo"
)

var version = "0.0.0-dev"

func main() {
	tfgen.Main("snowflake", version, providerinfo.Provider(version))
}
