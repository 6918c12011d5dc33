// pulumi-resource-kubernetes, built from the published provider module.
//
// The provider's own main (cmd/pulumi-resource-kubernetes) go:embeds schema-embed.json and
// terraform-mapping-embed.json, which its Makefile generates from the committed schema.json and
// terraform-mapping.json; the generated files are not in the module zip. toolchain/build.py copies the two
// committed files from the module next to this file before `go build`, and this main does what the
// provider's generate.go does (set the schema's version, re-marshal) before calling the same Serve.
package main

import (
	_ "embed"
	"encoding/json"
	"log"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var committedSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	var schema map[string]any
	if err := json.Unmarshal(committedSchema, &schema); err != nil {
		log.Fatalf("cannot deserialize schema: %v", err)
	}
	schema["version"] = version.Version
	versioned, err := json.Marshal(schema)
	if err != nil {
		log.Fatalf("cannot reserialize schema: %v", err)
	}
	provider.Serve("kubernetes", version.Version, versioned, terraformMapping)
}
