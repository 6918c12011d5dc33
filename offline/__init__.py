"""Run the Pulumi program and the policy pack with no Pulumi CLI and no cloud credentials."""
