/**
 * The recording stand-in for sandbox-exec (test/fixtures/fake-sandbox-exec), first on PATH,
 * and a reader for what it recorded. It runs programs UNSANDBOXED: tests with it check
 * what sbx hands sandbox-exec and how the parent behaves, never enforcement.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FAKE = resolve(import.meta.dirname, '../../fixtures/fake-sandbox-exec');

export interface Call {
  profile: string;
  file?: string;
  cwd: string;
  pid: number;
  mode: string;
  argv: string[];
}

export class FakeSandboxExec {
  readonly root: string;
  readonly bin: string;
  readonly records: string;

  constructor(root = realpathSync(mkdtempSync(join(tmpdir(), 'sbx-fake-se-')))) {
    this.root = root;
    this.bin = join(root, 'fake-bin');
    this.records = join(root, 'fake-records');
    mkdirSync(this.bin, { recursive: true });
    mkdirSync(this.records, { recursive: true });
    symlinkSync(FAKE, join(this.bin, 'sandbox-exec'));
  }

  /** Environment additions: the stand-in first on PATH, where it records. */
  env(path = process.env.PATH ?? '/usr/bin:/bin'): Record<string, string> {
    return { PATH: `${this.bin}:${path}`, SBX_FAKE_SANDBOX_DIR: this.records };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  calls(): Call[] {
    return readdirSync(this.records)
      .filter((d) => d.startsWith('call-'))
      .sort()
      .map((d) => {
        const at = (f: string) => join(this.records, d, f);
        const read = (f: string) => readFileSync(at(f), 'utf8');
        return {
          profile: read('profile'),
          ...(existsSync(at('file')) ? { file: read('file').trimEnd() } : {}),
          cwd: read('cwd').trimEnd(),
          pid: Number(read('pid')),
          mode: read('mode').trimEnd(),
          argv: read('argv').split('\n').slice(0, -1),
        };
      });
  }
}
