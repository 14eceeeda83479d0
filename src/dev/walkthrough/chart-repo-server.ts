// The playground's Helm chart repository: a static file server for index.yaml
// and the packaged charts of one directory, on the node's address, inside the
// environment's network namespace. Run as a daemon by chart-repo.ts:
//   node chart-repo-server.ts DIR HOST PORT
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const [dir, host, port] = process.argv.slice(2);
if (!dir || !host || !port) {
  console.error("usage: chart-repo-server.ts DIR HOST PORT");
  process.exit(2);
}

createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url ?? "/", "http://repo").pathname).replace(/^\/+/, "");
  // Only plain file names of the directory: nothing else can be read through it.
  const file = /^[A-Za-z0-9._-]+$/.test(name) && !name.startsWith(".") ? join(dir, name) : undefined;
  let size = -1;
  try {
    if (file && statSync(file).isFile()) size = statSync(file).size;
  } catch {
    /* missing: 404 below */
  }
  if (!file || size < 0 || (req.method !== "GET" && req.method !== "HEAD")) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  const type = name.endsWith(".yaml") ? "application/x-yaml" : "application/gzip";
  res.writeHead(200, { "content-type": type, "content-length": size });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
})
  .listen(Number(port), host, () => console.log(`serving ${dir} at http://${host}:${port}/`))
  .on("error", (err) => {
    console.error(`chart repository: ${err.message}`);
    process.exit(1);
  });
