// One MCP session through the edge, as a programmatic client makes it: the TypeScript SDK's Streamable HTTP
// transport on Node's global fetch, which keeps no cookies. Prints one JSON line: the session id and what each
// call returned. The only thing bent is name resolution: the edge's public host name is sent (SNI, Host) but
// dialled on loopback, through undici's Agent `connect.lookup` (undici is the library behind Node's fetch; the
// version pinned here is the one this Node bundles, `process.versions.undici`).
//
// Usage: node session.mjs <url> <address> <calls>; the bearer token in MCP_TOKEN, the CA in NODE_EXTRA_CA_CERTS.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Agent, setGlobalDispatcher } from "undici";

const [url, address, calls] = process.argv.slice(2);
const token = process.env.MCP_TOKEN;
if (!url || !address || !calls || !token) {
  console.error("usage: MCP_TOKEN=<token> node session.mjs <url> <address> <calls>");
  process.exit(2);
}

setGlobalDispatcher(
  new Agent({
    connect: {
      lookup: (_hostname, options, callback) =>
        options && options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4),
    },
  }),
);

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "edge-test-typescript", version: "1.0.0" });
const errors = [];
client.onerror = (error) => errors.push(String(error));

await client.connect(transport);
const results = [];
for (let call = 0; call < Number(calls); call += 1) {
  const { tools } = await client.listTools();
  results.push(tools.length);
  await client.ping();
}
const report = {
  sessionId: transport.sessionId,
  protocolVersion: transport.protocolVersion,
  server: client.getServerVersion(),
  results,
  errors,
};
await transport.terminateSession().catch((error) => errors.push(String(error)));
await client.close();
console.log(JSON.stringify(report));
