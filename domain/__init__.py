"""Domain rules as plain functions: no Pulumi import, shared by the program, the policy pack and the tests."""
