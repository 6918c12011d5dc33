// Package providerinfo maps the Snowflake Terraform provider (Snowflake-Labs/terraform-provider-snowflake)
// to Pulumi the way pulumi-snowflake's provider/resources.go does: package `snowflake`, every resource and
// data source in the one module `index` with the `snowflake_` prefix stripped
// (tokens.SingleModule("snowflake_", "index", tokens.MakeStandard("snowflake"))), the privatelink data source
// and the plural `previewFeaturesEnabled` named by hand, and auto-naming with "-". Secrets need no table:
// the bridge marks every attribute the Terraform schema flags Sensitive as secret. Configuration env vars
// need none either: the Terraform schema's own DefaultFuncs read SNOWFLAKE_*.
package providerinfo

import (
	"context"
	"os"

	sfprovider "github.com/Snowflake-Labs/terraform-provider-snowflake/pkg/provider"
	"github.com/hashicorp/terraform-plugin-sdk/v2/diag"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	tfbridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

const (
	pkg = "snowflake"
	mod = "index"
	// OfflineConfigureEnv is for tests only: Configure opens no connection, and every operation that would
	// talk to Snowflake (create, read, update, delete, data sources) fails, so a preview checks inputs
	// without an account and nothing can pretend to have changed one.
	OfflineConfigureEnv = "SOPHIA_TEST_ONLY_SNOWFLAKE_OFFLINE_CONFIGURE"
)

// Provider is the bridged provider at the version the binary reports.
func Provider(version string) tfbridge.ProviderInfo {
	tf := sfprovider.Provider()
	if os.Getenv(OfflineConfigureEnv) == "1" {
		goOffline(tf)
	}
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(tf),
		Name:        pkg,
		Version:     version,
		Description: "Snowflake, bridged from terraform-provider-snowflake for the test toolchain.",
		License:     "Apache-2.0",
		GitHubOrg:   "Snowflake-Labs",
		Config: map[string]*tfbridge.SchemaInfo{
			// The default rule pluralises a list to "previewFeaturesEnableds"; the SDK sends this name.
			"preview_features_enabled": {Name: "previewFeaturesEnabled"},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			// As pulumi-snowflake does: the default rule would spell it getSystemGetPrivatelinkConfig.
			"snowflake_system_get_privatelink_config": {
				Tok: tokens.ModuleMember(pkg + ":" + mod + ":getSystemGetPrivateLinkConfig"),
			},
		},
	}
	prov.MustComputeTokens(tfbridgetokens.SingleModule("snowflake_", mod, tfbridgetokens.MakeStandard(pkg)))
	prov.SetAutonaming(255, "-")
	return prov
}

// goOffline replaces the sign-in and every remote operation; Check, Diff and the preview's plan stay the
// provider's own.
func goOffline(tf *schema.Provider) {
	tf.ConfigureContextFunc = func(context.Context, *schema.ResourceData) (any, diag.Diagnostics) {
		return nil, nil
	}
	refuse := func(kind, name, op string) func(context.Context, *schema.ResourceData, any) diag.Diagnostics {
		return func(context.Context, *schema.ResourceData, any) diag.Diagnostics {
			return diag.Errorf(
				"%s %s: %s refused because %s=1 (test-only: this provider has no Snowflake connection)",
				kind, name, op, OfflineConfigureEnv)
		}
	}
	for name, r := range tf.ResourcesMap {
		hasUpdate := r.Update != nil || r.UpdateContext != nil || r.UpdateWithoutTimeout != nil
		r.Create, r.Read, r.Update, r.Delete = nil, nil, nil, nil
		r.CreateWithoutTimeout, r.ReadWithoutTimeout, r.UpdateWithoutTimeout, r.DeleteWithoutTimeout = nil, nil, nil, nil
		r.CreateContext = refuse("resource", name, "create")
		r.ReadContext = refuse("resource", name, "read")
		r.DeleteContext = refuse("resource", name, "delete")
		r.UpdateContext = nil
		if hasUpdate {
			r.UpdateContext = refuse("resource", name, "update")
		}
	}
	for name, d := range tf.DataSourcesMap {
		d.Read, d.ReadWithoutTimeout = nil, nil
		d.ReadContext = refuse("data source", name, "read")
	}
}
