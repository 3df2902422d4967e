import { irOf, irRoute, request } from '../../test/conformance/ir-route.js';

const [N, H, V] = [+process.argv[2], +process.argv[3], process.argv[4]];
const { compileSnapshot } = await import(`/tmp/ab/${V}/snapshot/compile.ts`);
const r = [];
for (let i = 0; i < N; i++)
  r.push(irRoute(i, { host: { kind: 'exact', value: `svc${i}.example.com` }, path: i % 2 ? '/api/' : '/' }));
const snap = compileSnapshot(irOf(r), 1, { freeze: false });
const reqs = [];
for (let i = 0; i < 4096; i++)
  reqs.push(request({ host: `svc${(i * 7919) % H}.example.com`, path: '/api/x' }));
let sink = 0;
const res = [];
for (let round = 0; round < 7; round++) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < 1e6; i++) {
    const m = snap.table.match(reqs[i & 4095]);
    if (m) sink += m.order;
  }
  res.push(Number(process.hrtime.bigint() - t) / 1e6);
}
res.sort((a, b) => a - b);
console.log(V, N, H, res[3].toFixed(0), 'ns', sink > 0 ? '' : '!');
