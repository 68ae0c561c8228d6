/**
 * The replicated state machine of the metadata log: committed Raft entries in, the metadata image
 * out. Controllers and brokers (observers) run the same one, so their images agree at every offset.
 * Snapshots are the image's records in canonical order (KIP-630's "snapshot = records").
 *
 * Listeners hear, in log order, every applied batch's delta, and a full reset when a snapshot replaces
 * the image (a broker that fell behind the log start).
 */
import type { StateMachine } from '../raft/raft-node.js';
import { EntryType, type Entry, type Snapshot } from '../raft/types.js';
import { MetadataImage, type MetadataDelta } from './image.js';
import { decodeBatch, encodeBatch } from './records.js';

export interface MetadataListener {
  /** A batch was applied: `image` is the image after it. */
  onDelta?(delta: MetadataDelta, image: MetadataImage): void;
  /** A snapshot replaced the whole image. */
  onReset?(image: MetadataImage): void;
  /** Any entry was applied (batches and Raft's own leader-change entries alike). */
  onApplied?(image: MetadataImage): void;
}

export class MetadataStateMachine implements StateMachine {
  private current = new MetadataImage();
  private readonly listeners: MetadataListener[] = [];

  get image(): MetadataImage {
    return this.current;
  }

  listen(listener: MetadataListener): void {
    this.listeners.push(listener);
  }

  apply(entry: Entry): void {
    if (entry.type === EntryType.Command) {
      const delta = this.current.applyBatch(decodeBatch(entry.data), entry.index);
      for (const l of this.listeners) l.onDelta?.(delta, this.current);
    } else {
      this.current.offset = entry.index;
    }
    for (const l of this.listeners) l.onApplied?.(this.current);
  }

  snapshot(): Uint8Array {
    return encodeBatch(this.current.toRecords());
  }

  restore(snapshot: Snapshot): void {
    this.current = MetadataImage.fromRecords(decodeBatch(snapshot.data), snapshot.index);
    for (const l of this.listeners) l.onReset?.(this.current);
    for (const l of this.listeners) l.onApplied?.(this.current);
  }
}
