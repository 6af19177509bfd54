/**
 * npm's registry settings inside the sandbox. The secrets floor hides ~/.npmrc because it may
 * hold auth tokens, and npm silently ignores a user config it cannot read: a user's
 * `registry=` (a mirror), scoped registries, `cafile`, `strict-ssl` … would be lost inside.
 * So each launch (session or `sbx exec`) gets a copy of ~/.npmrc with every credential line
 * removed, written by sbx outside the sandbox into its state dir (write-denied inside, so no
 * sandboxed process can plant settings in it), and NPM_CONFIG_USERCONFIG pointing at it.
 * Tokens never enter the sandbox; `npm publish`/private installs need them and stay denied.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { homeDir, stateDir, type Env } from './paths.js';

/** A key that is, or locates, a credential: npm's auth keys and anything named like a secret. */
const CREDENTIAL = /(^|[^a-z])(_?auth|_?authtoken|_?password|username|email|certfile|keyfile|cert|key|otp|token|secret)([^a-z]|$)/i;

/** ~/.npmrc text without credentials: `//host/:key=…` scoped lines and credential keys dropped. */
export function sanitizeNpmrc(text: string): string {
  const kept: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('//')) continue; // per-registry settings: auth, always-auth, certs
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    if (CREDENTIAL.test(key)) continue;
    // A value may pull a secret from the environment (${NPM_TOKEN}): keep no such line.
    if (eq !== -1 && line.slice(eq + 1).includes('${')) continue;
    // A URL may carry a login (`registry=https://user:pass@host/`, `https-proxy=`): kept
    // without it, so the mirror or proxy stays and the password does not.
    kept.push(eq === -1 ? line : `${key}=${withoutLogins(line.slice(eq + 1).trim())}`);
  }
  return kept.length > 0 ? `# written by sbx from ~/.npmrc without credentials (src/policy/npmrc.ts)\n${kept.join('\n')}\n` : '';
}

/** `scheme://user:pass@host/…` → `scheme://host/…`, for every URL in the value. */
function withoutLogins(value: string): string {
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The variables that give npm the sanitized copy: {} when the user set NPM_CONFIG_USERCONFIG
 * themselves or has no readable ~/.npmrc. Never throws: npm then runs with its defaults.
 */
export function npmConfigEnv(env: Env, given: Env = env): Record<string, string> {
  if (given.NPM_CONFIG_USERCONFIG || given.npm_config_userconfig) return {};
  let text: string;
  try {
    text = readFileSync(join(homeDir(env), '.npmrc'), 'utf8');
  } catch {
    return {};
  }
  try {
    const dir = stateDir(env);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'npmrc');
    const clean = sanitizeNpmrc(text);
    // Written only when it changed: a write and rename per launch cost 1.5 ms of every
    // `sbx exec` (the state dir is write-denied inside, so what is there is ours).
    if (readIfThere(file) !== clean) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, clean, { mode: 0o600 });
      renameSync(tmp, file);
    }
    return { NPM_CONFIG_USERCONFIG: file };
  } catch {
    return {};
  }
}
