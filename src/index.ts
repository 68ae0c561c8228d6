/**
 * Skein's public surface. Today: the controller quorum's Raft (core, node loop, storage port and its
 * LevelDB adapter), the metadata plane on top of it, and the ports every deterministic core is built
 * on. The client library, the node process and the CLI join as they land (see README.md).
 */
export * from './raft/index.js';
export * as metadata from './metadata/index.js';
export { LevelRaftStorage } from './node/level-raft-storage.js';
export type { Clock, CancelTimer } from './util/clock.js';
export type { Random } from './util/random.js';
export { SeededRandom } from './util/random.js';
export { systemClock, systemRandom } from './node/system-ports.js';
export type { Logger, LoggerFactory } from './util/log.js';
export { debugLoggers, silentLoggers } from './util/log.js';
