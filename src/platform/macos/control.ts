/**
 * The macOS control channel (docs/hook-protocol.md): a FIFO, exported to the shell as
 * SBX_MACOS_CTL, into which the shell hook writes `cd <absolute dir>\n` with a builtin.
 * The parent holds it open read-write so it never sees end-of-file between writers.
 *
 * What arrives here comes from inside the sandbox: it is only a hint. Lines are capped,
 * anything but `cd /absolute` is ignored, and the caller checks the directory against the
 * shell's real cwd before acting.
 */
import { constants, openSync } from 'node:fs';
import net from 'node:net';
import { execaSync } from 'execa';
import { SbxError } from '../../errors.js';

const MAX_LINE = 4096;

export class ControlChannel {
  private readonly socket: net.Socket;
  private buffer = '';

  constructor(readonly path: string, onDir: (dir: string) => void) {
    try {
      execaSync('/usr/bin/mkfifo', ['-m', '600', path], { stdin: 'ignore', stdout: 'ignore' }); // the cause carries mkfifo's stderr
    } catch (cause) {
      throw new SbxError(`cannot create the control FIFO ${path}`, { exitCode: 70, cause });
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    this.socket = new net.Socket({ fd, readable: true, writable: false });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const dir = parseLine(line);
        if (dir !== undefined) onDir(dir);
      }
      if (this.buffer.length > MAX_LINE) this.buffer = ''; // garbage: drop it
    });
    this.socket.on('error', () => {});
    // Never keeps the parent alive on its own.
    this.socket.unref();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `cd <absolute dir>` → dir; anything else → undefined. */
export function parseLine(line: string): string | undefined {
  if (line.length > MAX_LINE || !line.startsWith('cd /')) return undefined;
  const dir = line.slice(3);
  return /[\u0000]/.test(dir) ? undefined : dir;
}
