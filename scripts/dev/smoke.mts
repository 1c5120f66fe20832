import { openLevelStore } from '/work/main/server/store/level-store.ts';
import { rmSync } from 'node:fs';
rmSync('/tmp/smoke-db', { recursive: true, force: true });
const s = await openLevelStore('/tmp/smoke-db');
const w = s.watch({ kind: 'services' });
await s.create('namespaces', { metadata: { name: 'dev' } as any });
const a = await s.create('services', { metadata: { name: 'web', namespace: 'dev', labels: {} } as any, spec: { scale: 1 } } as any);
const b = await s.update('services', { ...a, spec: { scale: 2 } } as any);
console.log(b.metadata);
try { await s.update('services', { ...a, spec: { scale: 3 } } as any); } catch (e) { console.log(String(e)); }
const t0 = Date.now(); await Promise.all(Array.from({ length: 2000 }, (_, i) => s.create('services', { metadata: { name: 'svc' + i, namespace: 'dev' }, spec: {} } as any)));
console.log('2000 durable creates ms', Date.now() - t0);
const l = await s.list('services', { namespace: 'dev', limit: 3 }); console.log(l.items.map((i: any) => i.metadata.name), l.revision, l.continueToken);
let n = 0; for await (const e of w) { if (++n >= 3) { console.log(e.type, e.revision, e.name); break; } }
const w2 = s.watch({ fromRevision: 1 }); let m = 0; for await (const e of w2) { if (++m === 1) console.log('replay first', e.revision, e.kind); if (m === 2003) { console.log('replay last', e.revision); break; } }
await s.close();
