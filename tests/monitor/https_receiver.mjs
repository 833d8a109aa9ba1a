// SPDX-License-Identifier: Apache-2.0
// https_receiver.mjs — a webhook receiver over TLS for serve's tests: answers every POST
// with 200 and appends "<method> <path> <body>" to the output as one line.
// Usage: node https_receiver.mjs PORT KEY CERT  (prints "listening" once it is)
import { createServer } from "node:https";
import { readFileSync } from "node:fs";

const [port, key, cert] = process.argv.slice(2);
const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
  let body = "";
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    console.log(`${req.method} ${req.url} ${body.replace(/\n/g, " ")}`);
    res.writeHead(200, { "Content-Length": "0" });
    res.end();
  });
});
server.listen(Number(port), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
