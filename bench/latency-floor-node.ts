/**
 * One "node" of the latency floor (bench/latency-floor.ts): the acks=all chain of a replicated log with
 * nothing else in it. A child process with a `ws` server on an ephemeral loopback port; it reports the
 * port over IPC, is told its id and the others' ports, connects to them and reports `ready`.
 *
 * Frames: one kind byte, the partition byte, a u32 sequence number (little-endian), then the batch.
 * - kind 1, a produce (to the partition's leader): the batch is written and fdatasynced, then sent to
 *   both other nodes (kind 2); once both have acknowledged it (kind 3), the producer gets the 6-byte head
 *   back — acks=all with the whole replica set in the ISR.
 * - kind 2, a replicated batch (to a follower): written and fdatasynced, then acknowledged (kind 3).
 * Writes as a Skein node makes small ones (writeSync on the event loop, one file per partition), each
 * fdatasync in libuv's thread pool. Exits when its parent disconnects.
 */
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

const PRODUCE = 1;
const REPLICATE = 2;
const ACK = 3;
const HEAD_BYTES = 6;

const dir = process.argv[2] as string;
const files = new Map<number, number>();
const fileOf = (partition: number): number => {
  let fd = files.get(partition);
  if (fd === undefined) {
    fd = openSync(join(dir, `node-${process.pid}-partition-${partition}`), 'w');
    files.set(partition, fd);
  }
  return fd;
};
const durable = (partition: number, batch: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    const fd = fileOf(partition);
    writeSync(fd, batch);
    fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });

const followers: WebSocket[] = [];
/** Produces waiting for their followers: sequence -> acknowledgements missing and the producer's socket. */
const waiting = new Map<number, { missing: number; producer: WebSocket }>();

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
server.on('connection', (socket) =>
  socket.on('message', (data: RawData) => {
    const frame = data as Buffer;
    const kind = frame[0];
    const partition = frame[1] as number;
    const sequence = frame.readUInt32LE(2);
    const batch = frame.subarray(HEAD_BYTES);
    if (kind === PRODUCE) {
      void durable(partition, batch).then(() => {
        waiting.set(sequence, { missing: followers.length, producer: socket });
        const replicated = Buffer.from(frame);
        replicated[0] = REPLICATE;
        for (const follower of followers) follower.send(replicated);
      });
    } else if (kind === REPLICATE) {
      void durable(partition, batch).then(() => {
        const ack = Buffer.from(frame.subarray(0, HEAD_BYTES));
        ack[0] = ACK;
        socket.send(ack);
      });
    }
  }),
);

function onFollowerAck(data: RawData): void {
  const frame = data as Buffer;
  const sequence = frame.readUInt32LE(2);
  const entry = waiting.get(sequence);
  if (entry === undefined || --entry.missing > 0) return;
  waiting.delete(sequence);
  const ack = Buffer.from(frame.subarray(0, HEAD_BYTES));
  ack[0] = PRODUCE;
  entry.producer.send(ack);
}

server.on('listening', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
});
process.on('message', (message: { id: number; ports: number[] }) => {
  const others = message.ports.filter((_, i) => i !== message.id);
  let open = 0;
  for (const port of others) {
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    socket.on('message', onFollowerAck);
    socket.once('open', () => {
      if (++open === others.length) process.send?.('ready');
    });
    followers.push(socket);
  }
});
process.on('disconnect', () => {
  for (const fd of files.values()) closeSync(fd);
  process.exit(0);
});
