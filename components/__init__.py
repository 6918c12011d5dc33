"""The stack's component resources and its typed configuration."""
