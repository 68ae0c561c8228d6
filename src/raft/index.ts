/** The controller quorum's Raft: the pure core, its node loop, the storage port and its LevelDB adapter. */
export * from './types.js';
export * from './errors.js';
export { RaftCore, type RaftOptions, type InitialState, type Ready, type ProposeResult, type RaftStatus, type PeerStatus } from './raft-core.js';
export { RaftNode, type RaftNodeOptions, type StateMachine, type Committed } from './raft-node.js';
export type { RaftStorage, StorageUpdate, StoredState } from './storage.js';
