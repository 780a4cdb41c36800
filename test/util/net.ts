/**
 * Loopback helpers for tests that start servers (Node-RED, CoAP devices): a free TCP port on
 * 127.0.0.1, found by letting the kernel pick one and closing it again.
 */
import * as net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
