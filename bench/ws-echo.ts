/**
 * The far end of the WebSocket ceiling (bench/ceilings.ts): a child process with a `ws` server on an
 * ephemeral loopback port that answers every binary frame with a 4-byte ack. It reports its port over
 * IPC and exits when its parent disconnects.
 */
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
server.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(data.subarray(0, 4))));
server.on('listening', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
});
process.on('disconnect', () => process.exit(0));
