/**
 * Exec rules identify images, not names. When a policy is finished, each program rule's
 * name is resolved to the file(s) it names — through the system PATH directories and the
 * user's PATH — and recorded by identity: dev/ino and the SHA-256 of the content. The
 * engine then refuses a copy or hard link of a denied program whatever it is called
 * (native exec_rules.cc). A name that resolves to nothing keeps its name rule only.
 *
 * Also recorded: the dynamic loaders (`/lib64/ld-linux-x86-64.so.2 /usr/bin/curl` runs
 * curl), found by identity — the PT_INTERP of /bin/sh and of node, and the usual loader
 * paths — so the engine decides on the program a loader is asked to run; and, for an
 * argument rule, the tool's global options (exec-tools.ts), chosen by the basename of
 * the image the name resolved to.
 *
 * I/O: stat and read of the files named; a file is hashed once per (dev, ino, size,
 * mtime, ctime), and only up to EAGER_HASH_MAX: a bigger program (kubectl is 55 MiB, and
 * `sbx exec` is a fresh process every time) is recorded by dev/ino/size/version only, and
 * the engine hashes it when — and only when — an image of exactly that size is executed
 * (exec_rules.cc). Only policies with an exec deny rule pay for any of it.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readFileSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { basename, isAbsolute, join, normalize } from 'node:path';
import type { CommandOverride, CommandScript, ExecImageId, ExecSection, ProgramRule } from './compiled.js';
import type { Env } from './paths.js';
import { subcommandForms, toolFor } from './exec-tools.js';

/** Searched before the user's PATH, so a trimmed PATH cannot hide /usr/bin/curl. */
export const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Where loaders live on common systems (glibc, musl; x86-64, arm, riscv, ppc, s390). */
export const KNOWN_LOADERS = [
  '/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux-armhf.so.3', '/lib/ld-linux.so.3',
  '/lib/ld-linux.so.2', '/lib64/ld64.so.2', '/lib64/ld64.so.1', '/lib/ld64.so.1', '/lib/ld-linux-riscv64-lp64d.so.1',
  '/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1', '/lib/ld-musl-armhf.so.1', '/lib/ld-musl-riscv64.so.1',
];

/**
 * Multi-call binaries do what their name says: identifying `wget` → busybox by content
 * would deny `sh` too. A name that resolves to one keeps its name rule only (a warning).
 */
const MULTICALL = new Set(['busybox', 'toybox', 'coreutils', 'uutils', 'box64']);

/** Files up to this size are hashed when the policy is finished (curl 0.3 MiB, ld.so 0.2 MiB; git, 3.6 MiB, is not). */
export const EAGER_HASH_MAX = 1024 * 1024;

const hashes = new Map<string, string>();

function keyOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The identity of the file at `path` (followed), or undefined when it is not a regular, readable file. */
export function imageIdentity(path: string): ExecImageId | undefined {
  let real: string;
  let st: BigIntStats;
  try {
    real = realpathSync(path);
    st = statSync(real, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  const key = keyOf(st);
  const id: ExecImageId = {
    path: real,
    dev: st.dev.toString(),
    ino: st.ino.toString(),
    size: Number(st.size),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
  };
  if (st.size > BigInt(EAGER_HASH_MAX)) return id;
  let sha = hashes.get(key);
  if (sha === undefined) {
    let after: BigIntStats | undefined;
    try {
      sha = createHash('sha256').update(readFileSync(real)).digest('hex');
      after = statSync(real, { bigint: true, throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (!after || keyOf(after) !== key) return undefined; // changed while read
    if (hashes.size > 4096) hashes.clear();
    hashes.set(key, sha);
  }
  return { ...id, sha256: sha };
}

function executable(path: string): boolean {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false; // a name no file can have (over NAME_MAX, a NUL): it names nothing
  }
}

/** Every file `name` names: a path as is; a bare name in each PATH directory (system first). */
export function resolveProgram(name: string, env: Env): string[] {
  if (name.includes('/')) return isAbsolute(name) && executable(name) ? [name] : [];
  const dirs = [...SYSTEM_PATH, ...(env.PATH ?? '').split(':').filter((d) => isAbsolute(d))];
  const out: string[] = [];
  for (const d of new Set(dirs)) {
    const p = join(d, name);
    if (executable(p)) out.push(p);
  }
  return out;
}

/** PT_INTERP of an ELF file (its dynamic loader), or undefined. */
export function elfInterpreter(path: string): string | undefined {
  return withFile(path, (fd) => {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 52 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(h, 32) : u32(h, 28);
    const phentsize = u16(h, is64 ? 54 : 42);
    const phnum = u16(h, is64 ? 56 : 44);
    if (phnum > 256 || phentsize < (is64 ? 56 : 32)) return undefined;
    const ph = Buffer.alloc(phentsize);
    for (let i = 0; i < phnum; i++) {
      if (readSync(fd, ph, 0, phentsize, phoff + i * phentsize) !== phentsize) return undefined;
      if (u32(ph, 0) !== 3) continue; // PT_INTERP
      const off = is64 ? u64(ph, 8) : u32(ph, 4);
      const size = is64 ? u64(ph, 32) : u32(ph, 16);
      if (size < 2 || size > 4096) return undefined;
      const s = Buffer.alloc(size);
      if (readSync(fd, s, 0, size, off) !== size) return undefined;
      return s.toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  });
}

/** The loaders on this system, by identity (deduplicated by dev/ino). */
export function loaderIdentities(): ExecImageId[] {
  const candidates = [
    ...[elfInterpreter('/bin/sh'), elfInterpreter(process.execPath), elfInterpreter('/usr/bin/env')].filter((x): x is string => x !== undefined),
    ...KNOWN_LOADERS,
  ];
  return dedupe(candidates.map((c) => imageIdentity(c)).filter((x): x is ExecImageId => x !== undefined));
}

function dedupe(ids: ExecImageId[]): ExecImageId[] {
  const seen = new Set<string>();
  return ids.filter((i) => {
    const k = `${i.dev}:${i.ino}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface IdentifiedExec {
  exec: ExecSection;
  warnings: string[];
  /**
   * The files of the `#!` scripts a rule denies whole (no arguments): an interpreter given
   * the file (`bash /usr/bin/ldd`, `node /usr/bin/npm`) runs it as fully as an exec would, so
   * a finished policy does not let them be read either (finish.ts).
   */
  deniedScripts: string[];
}

/**
 * The exec section with each program rule's images and tool table, and the loaders. Only
 * a section with a program deny is identified (nothing to recognise otherwise); a rule
 * already identified (a strict policy built from finished ones) is kept as it is.
 */
export function identifyExec(exec: ExecSection, env: Env, where: (rule: number) => string = () => 'exec'): IdentifiedExec {
  const warnings: string[] = [];
  const deniedScripts: string[] = [];
  if (!exec.programs.some((r) => r.effect === 'deny')) return { exec, warnings, deniedScripts };
  const programs = exec.programs.flatMap((r): ProgramRule[] => {
    if (r.images !== undefined) return [r];
    const images: ExecImageId[] = [];
    // Denies only: identity widens what a rule matches, and a widened allow could be
    // planted (a copy of curl named like an allowed tool in a PATH dir the sandbox writes).
    for (const p of r.effect === 'deny' ? resolveProgram(r.name, env) : []) {
      const id = imageIdentity(p);
      if (!id) continue;
      const b = basename(id.path);
      if (MULTICALL.has(b) && b !== r.name) {
        warnings.push(`${where(r.rule)}: ${r.name} is the multi-call program ${id.path}; it is matched by name only`);
        continue;
      }
      images.push(id);
      if (r.effect === 'deny' && r.args.length === 0 && scriptInterpreter(id.path) !== undefined) deniedScripts.push(id.path);
    }
    const out: ProgramRule = { ...r, images: dedupe(images) };
    if (r.args.length === 0) return [out];
    const tool = toolFor([...out.images!.map((i) => i.path), r.name]);
    if (!tool) return [out];
    out.tool = tool;
    // A deny also covers the other ways the tool reads the same subcommand (`npm pub`).
    return r.effect === 'deny' ? subcommandForms(tool.name, r.args).map((args) => ({ ...out, args })) : [out];
  });
  return { exec: { ...exec, programs, loaders: exec.loaders ?? loaderIdentities() }, warnings, deniedScripts: [...new Set(deniedScripts)] };
}

/** The interpreter a `#!` line names (its first word), or undefined when `path` is no script. */
export function scriptInterpreter(path: string): string | undefined {
  return withFile(path, (fd) => {
    const b = Buffer.alloc(256);
    const n = readSync(fd, b, 0, b.length, 0);
    const line = b.subarray(0, n).toString('latin1').split('\n')[0]!;
    if (!line.startsWith('#!')) return undefined;
    const interp = line.slice(2).trim().split(/[ \t]+/)[0];
    return interp && isAbsolute(interp) ? interp : undefined;
  });
}

/** `read(fd)` on `path` opened read-only, closed after; undefined when it cannot be opened. */
function withFile<T>(path: string, read: (fd: number) => T | undefined): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Each `commands:` override with the files its name names, by identity (CommandOverride.images
 * and .scripts). An override widens, so — unlike a deny — it must never reach a program that is
 * only *called* like the one meant: a copy of cat named `mytool` in a directory the sandbox
 * writes, a symlink named `mytool` to /bin/sh. A name that resolves to nothing matches nothing
 * (a warning): there is nothing to prove a program against.
 */
export function identifyCommands(commands: CommandOverride[], env: Env, where: (rule: number) => string = () => 'commands'): { commands: CommandOverride[]; warnings: string[] } {
  const warnings: string[] = [];
  const out = commands.map((c): CommandOverride => {
    if (c.images !== undefined) return c; // already finished
    const images: ExecImageId[] = [];
    const scripts: CommandScript[] = [];
    for (const p of resolveProgram(c.name, env)) {
      const id = imageIdentity(p);
      if (!id) continue;
      const interp = scriptInterpreter(id.path);
      if (interp === undefined) {
        images.push(id);
        continue;
      }
      const iid = imageIdentity(interp);
      if (!iid) continue;
      const found = scripts.find((s) => s.script.dev === id.dev && s.script.ino === id.ino);
      const paths = [normalize(p), id.path];
      if (found) found.paths = [...new Set([...found.paths, ...paths])];
      else scripts.push({ paths: [...new Set(paths)], script: id, interpreter: iid });
    }
    if (images.length === 0 && scripts.length === 0)
      warnings.push(`${where(c.rule)}: commands: ${c.name} names no program on PATH; the override applies to nothing until the policy is reloaded with it installed`);
    return { ...c, images: dedupe(images), scripts };
  });
  return { commands: out, warnings };
}
