/**
 * Loopback-only test servers and a hosts file for the net tests: every name used in the
 * tests maps to 127.0.0.x or ::1, so nothing ever leaves the machine.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Loopback {
  port: number;
  close(): Promise<void>;
}

/** One HTTP server answering "hello from <address>" on every given loopback address, same port. */
export async function httpServers(addresses: string[]): Promise<Loopback> {
  const servers: Server[] = [];
  let port = 0;
  for (const address of addresses) {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`hello from ${address} ${req.url}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    const a = server.address();
    if (port === 0 && a && typeof a === 'object') port = a.port;
    servers.push(server);
  }
  return {
    port,
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

const tempDirs: string[] = [];

/** Removes every dir hostsFile made (call from afterAll). */
export function removeHostsFiles(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes a hosts(5) file into a fresh temp dir (see removeHostsFiles); returns its path. */
export function hostsFile(lines: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sbx-net-'));
  tempDirs.push(dir);
  const file = join(dir, 'hosts');
  writeHosts(file, lines);
  return file;
}

export function writeHosts(file: string, lines: Record<string, string[]>): void {
  writeFileSync(file, Object.entries(lines).map(([addr, names]) => `${addr} ${names.join(' ')}\n`).join(''));
}
