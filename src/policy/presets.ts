/**
 * Built-in presets, written in the same shape as a policy file. `~` expands to $HOME;
 * project-only is generated per project (its paths are literal, not expanded).
 */
import { tmpdir } from 'node:os';
import type { PolicyBody, PresetName } from './schema.js';

/** Devices every program writes to; kept writable whenever writes default to deny. */
export const WRITABLE_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/pts', '/dev/ptmx', '/dev/shm'];

const SECRET_PATHS = [
  '~/.ssh',
  '~/.aws',
  '~/.gnupg',
  '~/.config/gcloud',
  '~/.kube/config',
  '~/.docker/config.json',
  '~/.netrc',
  '~/.npmrc',
  '~/.pypirc',
  '/**/.env',
];

const DOCKER_SOCKETS = ['/run/docker.sock', '/var/run/docker.sock', '/run/user/*/docker.sock', '~/.docker/run/docker.sock'];

const SHELL_RC = [
  '~/.bashrc',
  '~/.bash_profile',
  '~/.bash_login',
  '~/.profile',
  '~/.zshrc',
  '~/.zprofile',
  '~/.zshenv',
  '~/.zlogin',
  '~/.config/fish',
  '/**/.git/hooks',
  '/**/.vscode',
  '/**/.idea',
];

function escapeGlob(p: string): string {
  return p.replace(/[\\*?]/g, (c) => `\\${c}`);
}

export interface PresetContext {
  /** The project directory (dir of the project file, else the directory asked about). */
  projectDir: string;
  env: Record<string, string | undefined>;
}

export interface Preset {
  body: PolicyBody;
  /** Entries are literal paths (no `~`/`$VAR` expansion). */
  literal: boolean;
}

export function preset(name: PresetName, ctx: PresetContext): Preset {
  switch (name) {
    case 'secrets':
      return {
        literal: false,
        body: { read: { deny: SECRET_PATHS }, write: { deny: SECRET_PATHS }, net: { unix: { deny: DOCKER_SOCKETS } } },
      };
    case 'shell-rc':
      return { literal: false, body: { write: { deny: SHELL_RC } } };
    case 'offline':
      return { literal: false, body: { net: { allow: [] } } };
    case 'project-only': {
      const temps = new Set(['/tmp', '/var/tmp', ctx.env.TMPDIR ?? tmpdir()]);
      return {
        literal: true,
        body: { write: { allow: [ctx.projectDir, ...temps, ...WRITABLE_DEVICES].map(escapeGlob) } },
      };
    }
  }
}
