"""A small Kubernetes API client on the standard library, for the providers that wait on and drain nodes."""
