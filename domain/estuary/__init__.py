"""The stack's Estuary Flow catalog:

- `models`: the typed catalog (captures, collections, the Snowflake materialization) and the rules Flow
  and the connectors enforce on it, each mistake a `Problem` naming its key path;
- `rendering`: the deterministic, secret-free flow.yaml text, its secret slots and how the publish step fills
  them in;
- `production`: the sources this stack captures and the builder of its one production catalog;
- `pointers`: the JSON pointers that address secret slots and collection keys;
- `data_planes`: the data planes tasks may run on and the addresses each reaches other systems from.

Plain Python (no Pulumi), shared by the EstuaryFlow component, the stack config, scripts/publish_flow.py and
the tests. Stack key names stay in components/config.py: a problem here names a path in the
builder's arguments.
"""
