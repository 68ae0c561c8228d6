/**
 * Skein's public surface. `import { Skein } from 'skein'` is the client library (producer, consumer,
 * admin, errors; browser-safe). The server side is exported too, for embedding and tooling: `startNode`
 * (one node in-process), the controller quorum's Raft as `raft`, the metadata plane as `metadata`, and
 * the ports every deterministic core is built on.
 */
export * from './client/index.js';
export * as raft from './raft/index.js';
export * as metadata from './metadata/index.js';
export { startNode } from './node/node-process.js';
export type { NodeOverrides, RunningNode } from './node/node-process.js';
export { loadNodeConfig, parseNodeConfig, NodeConfigError } from './node/node-config.js';
export type { NodeConfig } from './node/node-config.js';
export { LevelRaftStorage } from './node/level-raft-storage.js';
export type { Clock, CancelTimer } from './util/clock.js';
export type { Random } from './util/random.js';
export { SeededRandom } from './util/random.js';
export { systemClock, systemRandom } from './node/system-ports.js';
export type { Logger, LoggerFactory } from './util/log.js';
export { debugLoggers, silentLoggers } from './util/log.js';
