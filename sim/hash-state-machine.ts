/**
 * The state machine the simulator replicates: it folds every applied entry into a running FNV-1a
 * hash and counts them, so two replicas at the same applied index have the same state exactly when
 * they applied the same sequence. Its snapshot is that (index, hash, count). Every apply is reported
 * to the checker, which compares it with the one committed history.
 */
import { assert } from '../src/util/assert.js';
import type { StateMachine } from '../src/raft/raft-node.js';
import type { Entry, LogIndex, Snapshot } from '../src/raft/types.js';

export class HashStateMachine implements StateMachine {
  appliedIndex: LogIndex = 0;
  hash = 0x811c9dc5;
  commands = 0;

  constructor(private readonly onApply: (entry: Entry) => void) {}

  apply(entry: Entry): void {
    assert(entry.index === this.appliedIndex + 1, `applied ${entry.index} after ${this.appliedIndex}`);
    this.appliedIndex = entry.index;
    let h = this.hash ^ entry.term;
    for (const byte of entry.data) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    this.hash = Math.imul(h ^ entry.type, 0x01000193) >>> 0;
    if (entry.type === 0) this.commands++;
    this.onApply(entry);
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([this.appliedIndex, this.hash, this.commands]));
  }

  restore(snapshot: Snapshot): void {
    const [index, hash, commands] = JSON.parse(new TextDecoder().decode(snapshot.data)) as [number, number, number];
    assert(index === snapshot.index, `snapshot data is for ${index}, not ${snapshot.index}`);
    this.appliedIndex = index;
    this.hash = hash;
    this.commands = commands;
  }
}
