// SPDX-License-Identifier: Apache-2.0
// Peer benchmark: ioredis' Cluster client — N concurrent callers issuing GET/SET for D
// seconds against a Redis Cluster (the same workload as ../shared/peers/peer_ioredis.js
// and `swarmkeeper bench client --cluster --mix get-set`).
// usage: npm install --prefix bench ioredis && node bench/peer_ioredis_cluster.js PORT CONCURRENCY SECONDS AUTOPIPELINE(0/1)
const path = require('path');
const Redis = require(path.join(__dirname, 'node_modules', 'ioredis'));
const [port, conc, secs, auto] = process.argv.slice(2).map(Number);
const r = new Redis.Cluster([{ host: '127.0.0.1', port }], { enableAutoPipelining: !!auto });
(async () => {
  await r.set('k', 'v'.repeat(32));
  let ops = 0; const lat = []; const end = Date.now() + secs * 1000;
  async function worker(i) {
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      if (ops % 2) await r.get('k'); else await r.set('k' + (i % 100), 'v'.repeat(32));
      lat.push(Number(process.hrtime.bigint() - t) / 1e6); ops++;
    }
  }
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, (_, i) => worker(i)));
  const el = (Date.now() - t0) / 1000; lat.sort((a, b) => a - b);
  const p = q => lat[Math.floor(q * (lat.length - 1))].toFixed(3);
  console.log(JSON.stringify({ client: 'ioredis-cluster', conc, auto: !!auto, ops_per_s: Math.round(ops / el), p50_ms: p(0.5), p99_ms: p(0.99) }));
  r.disconnect();
})();
