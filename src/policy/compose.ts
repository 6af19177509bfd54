/**
 * Which layers are in force for a directory, in order (see compile.ts for precedence):
 *   built-in floors (sbx config/state/runtime) → `protect` floors (user file; default
 *   [secrets]) → user presets (`extends` of the user file; default [secrets]) → user file
 *   → project presets → project file (trusted, or only-narrowing when untrusted).
 * Per-program `commands:` layers (user's, then project's) are returned separately.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { findProjectFile } from './discover.js';
import { canonicalPath } from './expand.js';
import type { CommandLayers, Layer } from './compile.js';
import { issueLine, loadPolicyFile, type KeyPath, type LoadedFile } from './load.js';
import { configDir, homeDir, runtimeDir, stateDir, trustFile, userConfigFile, type Env } from './paths.js';
import { preset } from './presets.js';
import { PRESET_NAMES, type PolicyBody, type PresetName, type ProjectFile, type UserFile } from './schema.js';
import { isTrusted } from './trust.js';

export const DEFAULT_PRESETS: PresetName[] = ['secrets'];
export const DEFAULT_PROTECT = ['secrets'];
/** Presets that are pure deny lists, so they can be floors. */
const PROTECTABLE: PresetName[] = ['secrets', 'shell-rc'];

export interface ComposeOptions {
  env?: Env;
}

export interface Composition {
  base: Layer[];
  commands: CommandLayers[];
  userFile?: LoadedFile<UserFile>;
  projectFile?: LoadedFile<ProjectFile>;
  /** Directory project-relative presets use: the project file's dir, else the directory asked about. */
  projectDir: string;
  /** True when no untrusted project file is in force. */
  trusted: boolean;
  /** Files whose content is in force (for watching). */
  files: string[];
  /** files + places whose appearance or change would change the policy (user config, trust db). */
  watch: string[];
  env: Env;
  home: string;
}

function escapeGlob(p: string): string {
  return p.replace(/[\\*?]/g, (c) => `\\${c}`);
}

/** sbx's own config, state and socket dir: write floors; the socket dir is a unix floor too. */
export function builtinFloors(env: Env): Layer[] {
  const lit = (p: string) => escapeGlob(canonicalPath(p));
  return [
    { source: 'built-in: sbx config', body: { write: { deny: [lit(configDir(env))] } }, baseDir: '/', trusted: true, floor: true, literal: true },
    { source: 'built-in: sbx state', body: { write: { deny: [lit(stateDir(env))] } }, baseDir: '/', trusted: true, floor: true, literal: true },
    {
      source: 'built-in: sbx sockets',
      body: { write: { deny: [lit(runtimeDir(env))] }, net: { unix: { deny: [lit(runtimeDir(env))] } } },
      baseDir: '/',
      trusted: true,
      floor: true,
      literal: true,
    },
  ];
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

/** Loads every file in force for `dir` and lays out the layers. Throws PolicyError on a bad file. */
export function composeForDir(dir: string, options: ComposeOptions = {}): Composition {
  const env = options.env ?? process.env;
  const home = homeDir(env);
  const userPath = userConfigFile(env);
  const userFile = existsSync(userPath) ? loadPolicyFile(userPath, 'user') : undefined;
  const projectPath = findProjectFile(dir);
  const projectFile = projectPath ? loadPolicyFile(projectPath, 'project') : undefined;
  const projectDir = projectFile ? projectFile.dir : canonicalPath(dir);
  const projectTrusted = projectFile ? isTrusted(projectFile.file, projectFile.sha256, env) : true;

  const base: Layer[] = [
    ...builtinFloors(env),
    ...protectLayers(userFile, projectDir, env),
    ...presetLayers(userFile?.data.extends ?? DEFAULT_PRESETS, userFile?.data.extends ? userFile : undefined, projectDir, env, true),
  ];
  if (userFile) base.push({ ...fileLayer(userFile, true), warnRelative: true });
  if (projectFile) {
    base.push(...presetLayers(projectFile.data.extends ?? [], projectFile, projectDir, env, projectTrusted));
    base.push(fileLayer(projectFile, projectTrusted));
  }
  const loaded: { f: LoadedFile; trusted: boolean }[] = [];
  if (userFile) loaded.push({ f: userFile, trusted: true });
  if (projectFile) loaded.push({ f: projectFile, trusted: projectTrusted });

  const files = loaded.map(({ f }) => f.file);
  const watch = [...new Set([...files, userPath, trustFile(env), ...(projectFile ? [dirname(projectFile.file)] : [])])];
  return {
    base,
    commands: commandLayers(loaded),
    userFile,
    projectFile,
    projectDir,
    trusted: projectTrusted,
    files,
    watch,
    env,
    home,
  };
}

