"""The one marker for "not known until a real deployment", shared by the offline plan and the policies."""

from __future__ import annotations

# The value Pulumi's wire protocol uses for an unknown (sdk/python/lib/pulumi/runtime/rpc.py).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Unknown:
    """A value that only exists after a real deployment (an output of a resource not created yet)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = Unknown()
