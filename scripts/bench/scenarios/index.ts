/**
 * Every scenario, in the order the default suite runs them. Add a scenario here (one file per
 * scenario beside this one); `--only <name>` picks by its `name`.
 */
import type { Scenario } from '../lib/scenario.js';
import { cli } from './cli.js';
import { durableWrites } from './durable-writes.js';
import { list } from './list.js';
import { pointReads } from './point-reads.js';
import { restVsGrpc } from './rest-vs-grpc.js';
import { restartLatency } from './restart-latency.js';
import { runEvents } from './run-events.js';
import { spawnFloor } from './spawn-floor.js';
import { storeScale } from './store-scale.js';
import { supervisionMemory } from './supervision-memory.js';
import { watchFanout } from './watch-fanout.js';
import { workloadStart } from './workload-start.js';

export const scenarios: readonly Scenario[] = [spawnFloor, workloadStart, supervisionMemory, restartLatency, restVsGrpc, durableWrites, pointReads, list, watchFanout, runEvents, storeScale, cli];
