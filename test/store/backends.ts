/**
 * The store backends every store suite runs against: real LevelDB (classic-level) in a fresh
 * temp dir, removed afterwards, and memory-level.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLevelStore, openMemoryStore, type LevelStore, type LevelStoreOptions } from '../../server/store/level-store.js';

export interface OpenedStore {
  store: LevelStore;
  /** Closes the store (if still open) and removes whatever it left on disk. */
  cleanup: () => Promise<void>;
}

export interface StoreBackend {
  name: string;
  open: (options?: LevelStoreOptions) => Promise<OpenedStore>;
}

/** A fresh temp dir for one LevelDB store; remove it when done. */
export function tempStoreDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rune-store-'));
}

export const storeBackends: readonly StoreBackend[] = [
  {
    name: 'LevelDB (classic-level, temp dir)',
    open: async (options = {}) => {
      const dir = await tempStoreDir();
      const store = await openLevelStore(dir, { compactEveryMs: 0, ...options });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'memory-level',
    open: async (options = {}) => {
      const store = await openMemoryStore({ compactEveryMs: 0, ...options });
      return { store, cleanup: () => store.close() };
    },
  },
];
