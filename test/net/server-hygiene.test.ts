/**
 * Server hygiene that the protocol depends on: compression is never negotiated (record batches are the
 * payload and carry their own compression), even when a client offers it.
 */
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { NetServer } from '../../src/net/server.js';

describe('net server hygiene', () => {
  let server: NetServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('does not negotiate permessage-deflate with a client that offers it', async () => {
    server = await NetServer.listen({ nodeId: 1, clusterId: 'c' });
    const socket = new WebSocket(server.url, { perMessageDeflate: true });
    let offered: string | undefined;
    socket.once('upgrade', (response) => (offered = String(response.headers['sec-websocket-extensions'] ?? '')));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    expect(offered).to.equal('');
    expect(socket.extensions).to.equal('');
    socket.terminate();
  });
});
