/**
 * One policy source → the layers in force, in order (see compile.ts for precedence):
 *
 *   built-in floors (sbx config/state/runtime, every policy file: in force, trusted, or
 *   named .sbx.yaml or .envrc)
 *   → `protect` floors (user file; default [secrets, persistence])
 *   → user presets (`extends` of the user file; default [secrets]) → user file
 *   → project presets → project file (trusted by content hash, else only narrowing)
 *   → `use` file presets → `use` file (direnv's `use sandbox FILE`; same trust rule)
 *   → `--policy FILE` presets → `--policy FILE` (trusted: named on the command line)
 *   → top layers (`sbx exec` flags).
 * Every file contributes its `extends:` and `commands:` the same way, whichever way it
 * was named. Per-program `commands:` layers are returned separately.
 *
 * A broken file (unreadable, bad YAML, a schema or entry error) keeps its last good
 * version in force (last-good.ts); with none, the strict fallback (fallbackLayer) takes
 * its place — never the defaults.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findProjectFile } from './discover.js';
import { canonicalPath, pathExists } from './expand.js';
import type { CommandLayers, Layer } from './compile.js';
import type { LastGoodStore } from './last-good.js';
import { readOwnFile, UnsafePathError } from './own-files.js';
import { issueLine, loadPolicyText, readPolicyText, sha256Of, withoutContent, type KeyPath, type LoadedFile } from './load.js';
import { configDir, homeDir, ownProgramPaths, PROJECT_FILE, runtimeDirs, sessionRecordFiles, stateDir, trustFile, userConfigFile, type Env } from './paths.js';
import { preset, SYSTEM_READ_PATHS, tempDirs, WRITABLE_DEVICES } from './presets.js';
import { kernelControlPaths } from './kernel-control.js';
import { PRESET_NAMES, type PolicyBody, type PresetName, type ProjectFile, type UserFile } from './schema.js';
import { isTrusted, namedContentHolds, trustedPaths } from './trust.js';
import { PolicyError } from '../errors.js';
import { escapeGlob } from './escape-glob.js';

export const DEFAULT_PRESETS: PresetName[] = ['secrets'];
export const DEFAULT_PROTECT = ['secrets', 'persistence'];
/** Presets that are pure deny lists, so they can be floors. */
const PROTECTABLE: PresetName[] = ['secrets', 'persistence', 'shell-rc'];

/** Where a policy comes from. */
export interface PolicySpec {
  /** The directory (its nearest `.sbx.yaml` is the project file). */
  dir: string;
  /** direnv's `use sandbox FILE`: a project-style file on top, trusted by content hash. */
  use?: string;
  /** `sbx exec --policy FILE`: on top, trusted (the person named it on the command line). */
  policyFile?: string;
  /** Layers above everything (`sbx exec` flags). */
  top?: Layer[];
}

/** What a broken file falls back to: its last good version, or the strict fallback. */
export type BrokenKept = 'last good' | 'strict fallback';

export interface BrokenFile {
  file: string;
  /** Every problem, `file:line:col: …` (parse, schema, or entry errors). */
  issues: string[];
  kept: BrokenKept;
}

export interface ComposeOptions {
  env?: Env;
  /**
   * 'keep' (sessions, `sbx check`, `sbx policy`, `sbx exec`): a broken file keeps its
   * last good version, else the strict fallback, and is reported in `broken`.
   * 'throw' (default): a broken file is a PolicyError.
   */
  onBroken?: 'keep' | 'throw';
  /** Last good versions (read, and recorded for files that compiled). Default: none. */
  lastGood?: LastGoodStore;
  /** Set by resolvePolicy's retry: compile issues per file, and files whose last good failed too. */
  compileIssues?: ReadonlyMap<string, { issues: string[]; lastGoodFailed: boolean }>;
}

/** `parent`: a project file above an untrusted or broken one, up to the nearest trusted (in force beneath it). */
type Role = 'user' | 'parent' | 'project' | 'use' | 'policy';

/** A policy file in force: loaded as it is, or its last good version, or broken with no version. */
export interface InForce {
  path: string;
  role: Role;
  /** The version in force (undefined: strict fallback). */
  loaded?: LoadedFile;
  /** Its text (for recording it as the last good version). */
  text?: string;
  trusted: boolean;
  broken?: BrokenFile;
}

export interface Composition {
  base: Layer[];
  commands: CommandLayers[];
  userFile?: LoadedFile<UserFile>;
  projectFile?: LoadedFile<ProjectFile>;
  useFile?: LoadedFile<ProjectFile>;
  /** Every policy file in force, as found (also the broken ones). */
  inForce: InForce[];
  /** Directory project-relative presets use: the project file's dir, else the directory asked about. */
  projectDir: string;
  /** True when no untrusted file is in force. */
  trusted: boolean;
  /** Files in force (for watching). */
  files: string[];
  /** files + places whose appearance or change would change the policy (user config, trust db). */
  watch: string[];
  broken: BrokenFile[];
  env: Env;
  home: string;
}


/**
 * sbx's own config, state and socket dir: write floors; the socket dir is a unix floor and a
 * read floor too (its supervisor.lock, flocked through a read-only fd, would keep the next
 * supervisor from starting after a restart or crash). And
 * sbx's own program files (a checkout the user owns is writable under the default policy, and
 * the supervisor, launcher and every new terminal run them outside later). And the kernel's
 * process controls (cgroups, sysfs: kernel-control.ts), which reach processes outside.
 */
export function builtinFloors(env: Env): Layer[] {
  const lit = (p: string) => escapeGlob(canonicalPath(p));
  return [
    { source: 'built-in: sbx config', body: { write: { deny: [lit(configDir(env))] } }, baseDir: '/', trusted: true, floor: true, literal: true },
    { source: 'built-in: sbx state', body: { write: { deny: [lit(stateDir(env))] } }, baseDir: '/', trusted: true, floor: true, literal: true },
    // Records of every session: `sbx log` inside shows the caller's own, through the supervisor.
    { source: "built-in: sbx's records of every session", body: { read: { deny: sessionRecordFiles(env).map(lit) } }, baseDir: '/', trusted: true, floor: true, literal: true },
    { source: "built-in: sbx's own program files", body: { write: { deny: ownProgramPaths().map(lit) } }, baseDir: '/', trusted: true, floor: true, literal: true },
    {
      source: 'built-in: kernel process controls (cgroups, sysfs: they reach processes outside the sandbox)',
      body: { write: { deny: kernelControlPaths().map(escapeGlob) } },
      baseDir: '/',
      trusted: true,
      floor: true,
      literal: true,
    },
    {
      source: 'built-in: sbx sockets',
      body: { read: { deny: runtimeDirs(env).map(lit) }, write: { deny: runtimeDirs(env).map(lit) }, net: { unix: { deny: runtimeDirs(env).map(lit) } } },
      baseDir: '/',
      trusted: true,
      floor: true,
      literal: true,
    },
  ];
}

/** Docker sockets are root on the host: denied unless a trusted file allows one by name. */
export function dockerSockets(env: Env): string[] {
  const out = ['/run/docker.sock', '/var/run/docker.sock'];
  if (env.HOME) out.push(join(env.HOME, '.docker', 'run', 'docker.sock'));
  if (env.XDG_RUNTIME_DIR) out.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'));
  return out;
}

function dockerLayer(env: Env): Layer {
  return {
    source: 'built-in: docker sockets (root on the host)',
    body: { net: { unix: { deny: dockerSockets(env).map(escapeGlob) } } },
    baseDir: '/',
    trusted: true,
    literal: true,
    builtinDefault: true,
  };
}

/** mise's per-directory config files (mise.jdx.dev/configuration.html), anywhere. */
const MISE_CONFIG_FILES = ['/**/mise.toml', '/**/.mise.toml', '/**/mise.local.toml', '/**/.mise.local.toml', '/**/.config/mise.toml', '/**/.config/mise/config.toml', '/**/.mise/config.toml', '/**/mise/config.toml'];

/**
 * No process may make, change, move or remove a policy file: the ones in force (as named, and
 * their targets), every `.sbx.yaml`, `.envrc` (and `.envrc.*`, `.env`) and mise config file
 * anywhere, and every file the user trusted.
 * A file planted below a trusted project would replace its policy from there down (the
 * nearest one counts), an edited one becomes untrusted and falls back to the user policy,
 * and a `.envrc` direnv no longer loads drops its `use sandbox`: each would loosen a
 * restriction the sandbox is under, or will be under after the next `cd`.
 */
function policyFilesFloor(files: string[], env: Env): Layer[] {
  const named = [...files.flatMap((f) => [resolve(f), canonicalPath(f)]), ...trustedPaths(env)];
  const paths = [...new Set(named)].map(escapeGlob);
  return [
    {
      source: 'built-in: policy files (edit them outside a session)',
      // With .envrc, what an approved one loads by direnv's conventions (`source_env_if_exists
      // .envrc.local`, `dotenv`): direnv runs it outside, and in the session's shell, later.
      // mise's config files are the same kind: a trusted one (mise trusts by path) runs its
      // `[hooks]` and `[env] _.source` in the next terminal that enters the directory.
      body: { write: { deny: [...paths, `/**/${PROJECT_FILE}`, '/**/.envrc', '/**/.envrc.*', '/**/.env', ...MISE_CONFIG_FILES] } },
      baseDir: '/',
      trusted: true,
      floor: true,
      literal: true,
    },
  ];
}

/**
 * What a directory runs under when one of its policy files is broken and no good version
 * of it is known: system paths (and node's install dir) readable, the project and the
 * temp dirs readable and writable, devices writable, no network and no Unix sockets —
 * everything else denied. It drops the allows below it (like `sbx exec --deny-all`) and is
 * untrusted: its own allows stand only where the policy below allowed them.
 */
export function fallbackLayer(file: string, projectDir: string, env: Env): Layer {
  const temps = tempDirs(env);
  const nodeDir = dirname(dirname(process.execPath));
  const read = [...SYSTEM_READ_PATHS, nodeDir].filter((p) => pathExists(p));
  return {
    source: `built-in: strict fallback (${file} is broken and no good version of it is known)`,
    body: {
      read: { allow: [...read, projectDir, ...temps].map(escapeGlob) },
      write: { allow: [projectDir, ...temps, ...WRITABLE_DEVICES].map(escapeGlob) },
      net: { allow: [] },
      mode: 'enforce',
    },
    baseDir: '/',
    trusted: false,
    literal: true,
    resetAllows: ['read', 'write', 'net', 'unix'],
  };
}

function denyOnly(body: PolicyBody): PolicyBody {
  const out: PolicyBody = {};
  if (body.read?.deny) out.read = { deny: body.read.deny };
  if (body.write?.deny) out.write = { deny: body.write.deny };
  if (body.net?.unix?.deny) out.net = { unix: { deny: body.net.unix.deny } };
  return out;
}

function protectLayers(user: LoadedFile<UserFile> | undefined, projectDir: string, env: Env): Layer[] {
  const list = user?.data.protect;
  const entries = list ?? DEFAULT_PROTECT;
  const layers: Layer[] = [];
  entries.forEach((entry, i) => {
    const where = list && user ? user.where(['protect', i]) : 'default protect';
    if ((PRESET_NAMES as readonly string[]).includes(entry)) {
      if (!PROTECTABLE.includes(entry as PresetName)) {
        const issue = issueLine(where, ['protect', i], `only deny-list presets can be protected (${PROTECTABLE.join(', ')}); put '${entry}' in extends`, entry);
        layers.push({ source: where, body: {}, baseDir: '/', trusted: true, issues: [issue] });
        return;
      }
      const p = preset(entry as PresetName, { projectDir, env });
      layers.push({ source: `${where} (protect: preset ${entry})`, body: denyOnly(p.body), baseDir: '/', trusted: true, floor: true, literal: p.literal });
      return;
    }
    layers.push({
      source: where,
      body: { read: { deny: [entry] }, write: { deny: [entry] } },
      baseDir: user ? user.dir : '/',
      trusted: true,
      floor: true,
      // Messages point at the protect entry, whatever section the rule lands in.
      where: () => where,
      fixedKeyPath: ['protect', i],
    });
  });
  return layers;
}

function presetLayers(names: PresetName[], from: LoadedFile | undefined, projectDir: string, env: Env, trusted: boolean): Layer[] {
  return names.map((name, i) => {
    const p = preset(name, { projectDir, env });
    const via = from ? ` (extends in ${from.where(['extends', i])})` : ' (default)';
    return { source: `preset ${name}${via}`, body: p.body, baseDir: '/', trusted, literal: p.literal };
  });
}

function fileLayer(f: LoadedFile, trusted: boolean): Layer {
  const { version: _v, extends: _e, commands: _c, ...body } = f.data as ProjectFile & { protect?: string[] };
  delete (body as { protect?: unknown }).protect;
  return { source: f.file, body, baseDir: f.dir, trusted, where: (p: KeyPath) => f.where(p), fileLayer: true };
}

function commandLayers(files: { f: LoadedFile; trusted: boolean }[]): CommandLayers[] {
  const byName = new Map<string, CommandLayers>();
  for (const { f, trusted } of files) {
    for (const [name, body] of Object.entries(f.data.commands ?? {})) {
      let c = byName.get(name);
      if (!c) {
        c = { name, source: f.where(['commands', name]), layers: [], baseDir: f.dir };
        byName.set(name, c);
      }
      c.layers.push({ source: f.file, body, baseDir: f.dir, trusted, where: (p: KeyPath) => f.where(p), keyPrefix: ['commands', name] });
    }
  }
  return [...byName.values()];
}

/** Loads one file in force: as it is, else its last good version, else nothing (fallback). */
function loadInForce(path: string, role: Role, options: ComposeOptions, env: Env): InForce {
  const kind = role === 'user' ? 'user' : 'project';
  const abs = resolve(path);
  const trust = (sha: string) => role === 'user' || (role === 'policy' ? namedContentHolds(abs, sha, env) : isTrusted(abs, sha, env));
  let text: string | undefined;
  let issues: string[];
  const compiled = options.compileIssues?.get(abs);
  try {
    text = readPolicyText(abs, role === 'user');
    const loaded = loadPolicyText(abs, text, kind);
    if (!compiled) return { path: abs, role, loaded, text, trusted: trust(loaded.sha256) };
    issues = compiled.issues;
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    issues = err.issues.length > 0 ? err.issues : [err.message];
    if (compiled) issues = [...issues, ...compiled.issues.filter((i) => !issues.includes(i))];
  }
  // A file named by `use` may be any file: its problems say where, never what.
  if (role === 'use') issues = [...new Set(issues.map((i) => withoutContent(i, abs)))];
  // --policy FILE is named on the command line: a broken one is an error, never replaced.
  if (options.onBroken !== 'keep' || role === 'policy') throw brokenError(abs, issues);
  const good = compiled?.lastGoodFailed ? undefined : options.lastGood?.get(abs);
  if (good && (text === undefined || good.sha256 !== sha256Of(text))) {
    try {
      const loaded = loadPolicyText(abs, good.text, kind);
      return { path: abs, role, loaded, text: good.text, trusted: trust(good.sha256), broken: { file: abs, issues, kept: 'last good' } };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
    }
  }
  return { path: abs, role, trusted: false, broken: { file: abs, issues, kept: 'strict fallback' } };
}

/**
 * The project files above the one at `nearest`, as `parent`s, outermost first: each one up to
 * and with the first that loads and is trusted (or up to the root).
 */
function projectFilesAbove(nearest: string, options: ComposeOptions, env: Env): InForce[] {
  const out: InForce[] = [];
  let dir = dirname(nearest);
  for (;;) {
    const up = dirname(dir);
    if (up === dir) break;
    const f = findProjectFile(up);
    if (!f) break;
    const file = loadInForce(f, 'parent', { ...options, onBroken: 'keep' }, env);
    out.push(file);
    if (file.loaded && file.trusted) break;
    dir = dirname(f);
  }
  return out.reverse();
}

/** A user config that does not exist is no file; one that cannot be read safely (a symlink on its path) is there, and broken. */
function ownFileExists(path: string): boolean {
  try {
    return readOwnFile(path) !== undefined;
  } catch (err) {
    if (err instanceof UnsafePathError) return true;
    return existsSync(path);
  }
}

function brokenError(file: string, issues: string[]): PolicyError {
  return new PolicyError(`${file}: invalid policy file (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues);
}

/** Loads every file in force for the spec and lays out the layers. */
export function composeSpec(spec: PolicySpec, options: ComposeOptions = {}): Composition {
  const env = options.env ?? process.env;
  const home = homeDir(env);
  const userPath = userConfigFile(env);
  const projectPath = findProjectFile(spec.dir);
  // Relative to the directory the policy is for, never to this process's own (the supervisor's is /).
  const usePath = spec.use ? resolve(spec.dir, spec.use) : undefined;
  const inForce: InForce[] = [];
  if (ownFileExists(userPath)) inForce.push(loadInForce(userPath, 'user', options, env));
  const useFile = usePath ? loadInForce(usePath, 'use', options, env) : undefined;
  if (projectPath) {
    const nearest = projectPath === usePath ? useFile! : loadInForce(projectPath, 'project', options, env);
    // A file that is not trusted (untrusted, or broken with no trusted last good version)
    // narrows what applies above it, never replaces it: every project file above, up to and
    // with the nearest trusted one, stays in force beneath it (a submodule's file keeps its
    // project's denies; a nested repo's keeps a broken parent's strict fallback).
    if (!nearest.trusted) inForce.push(...projectFilesAbove(projectPath, options, env));
    if (nearest !== useFile) inForce.push(nearest);
  }
  if (useFile) inForce.push(useFile);
  if (spec.policyFile) inForce.push(loadInForce(resolve(spec.dir, spec.policyFile), 'policy', options, env));

  const user = inForce.find((f) => f.role === 'user');
  const project = inForce.find((f) => f.role === 'project');
  const use = inForce.find((f) => f.role === 'use');
  const userFile = user?.loaded as LoadedFile<UserFile> | undefined;
  const projectFile = project?.loaded as LoadedFile<ProjectFile> | undefined;
  const projectDir = project ? dirname(project.path) : use ? dirname(use.path) : canonicalPath(spec.dir);

  const files = inForce.map((f) => f.path);
  const base: Layer[] = [
    ...builtinFloors(env),
    ...policyFilesFloor(files, env),
    dockerLayer(env),
    ...protectLayers(userFile, projectDir, env),
    ...presetLayers(userFile?.data.extends ?? DEFAULT_PRESETS, userFile?.data.extends ? userFile : undefined, projectDir, env, true),
  ];
  const loaded: { f: LoadedFile; trusted: boolean }[] = [];
  const top: Layer[] = [];
  for (const f of inForce) {
    const dir = f.role === 'policy' ? projectDir : dirname(f.path);
    const layers = f.role === 'policy' ? top : base;
    if (!f.loaded) {
      layers.push(fallbackLayer(f.path, f.role === 'user' ? projectDir : dirname(f.path), env));
      continue;
    }
    if (f.role !== 'user') layers.push(...presetLayers(f.loaded.data.extends ?? [], f.loaded, dir, env, f.trusted));
    layers.push({ ...fileLayer(f.loaded, f.trusted), ...(f.role === 'user' ? { warnRelative: true } : {}) });
    loaded.push({ f: f.loaded, trusted: f.trusted });
  }
  base.push(...top);

  const watch = [...new Set([...files, userPath, trustFile(env), ...(projectPath ? [dirname(projectPath)] : [])])];
  return {
    base,
    commands: commandLayers(loaded),
    userFile,
    projectFile,
    useFile: use?.loaded as LoadedFile<ProjectFile> | undefined,
    inForce,
    projectDir,
    trusted: inForce.every((f) => f.trusted || f.role === 'user'),
    files,
    watch,
    broken: inForce.flatMap((f) => (f.broken ? [f.broken] : [])),
    env,
    home,
  };
}

/** The layers for a directory (no `use`, no `--policy`). */
export function composeForDir(dir: string, options: ComposeOptions = {}): Composition {
  return composeSpec({ dir }, options);
}
