import { storeConformance } from './conformance.js';
import { storeBackends } from './backends.js';

for (const backend of storeBackends) storeConformance(backend.name, (limits) => backend.open(limits));
