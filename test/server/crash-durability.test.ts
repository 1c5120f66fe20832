import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { aService } from '../support/builders.js';
import { auth, call, clients } from '../support/test-runed.js';
import { startRunedProcess } from '../support/runed-process.js';
import { killProcessesUnder } from '../support/procs.js';

describe('crash durability (real runed process, kill -9)', function () {
  this.timeout(60_000);

  it('keeps every acknowledged write after kill -9 mid-stream', async () => {
    const first = await startRunedProcess();
    const c = clients(first.grpcAddr);
    const md = auth(first.token);
    const acknowledged: string[] = [];
    let next = 0;
    let killed = false;
    // 32 writers in flight; after 300 acknowledgements, runed is killed while writes continue.
    const writer = async () => {
      while (!killed && next < 5000) {
        const name = `svc-${next++}`;
        try {
          await call(c.services, c.services.castService, { service: aService({ name, namespace: 'default', command: 'sleep', scale: 0 }), dryRun: false }, md);
          acknowledged.push(name);
          if (acknowledged.length === 300 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch {
          return; // connection gone: unacknowledged, may or may not be there
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, writer));
    await first.kill();
    c.close();
    expect(acknowledged.length).to.be.at.least(300);

    const second = await startRunedProcess({ dataDir: first.dataDir, home: first.home });
    try {
      const c2 = clients(second.grpcAddr);
      const names = new Set<string>();
      let continueToken = '';
      do {
        const page = await call(c2.services, c2.services.listServices, { namespace: 'default', options: { limit: 1000, continueToken, labelSelector: '' } }, auth(second.token));
        for (const s of page.services) names.add(s.metadata!.name);
        continueToken = page.listMeta!.continueToken;
      } while (continueToken);
      c2.close();
      const lost = acknowledged.filter((n) => !names.has(n));
      expect(lost, `acknowledged but lost after kill -9: ${lost.slice(0, 10).join(', ')}`).to.deep.equal([]);
      // The token survived too: bootstrap did not run again.
      expect(second.token).to.equal(first.token);
    } finally {
      await second.stop();
      killProcessesUnder(first.dataDir);
      await rm(first.dataDir, { recursive: true, force: true });
      await rm(first.home, { recursive: true, force: true });
    }
  });
});

void grpc;
