/**
 * Schema v1 of `.sbx.yaml` and the user config. Every object is strict: an unknown key
 * is an error, because a typo (`raed:`) must not quietly weaken a sandbox.
 */
import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';

// Ecosystem presets (node, python, rust, go, shell-tools) are defined in ecosystems.ts.
export const PRESET_NAMES = ['secrets', 'persistence', 'shell-rc', 'offline', 'project-only', 'node', 'python', 'rust', 'go', 'shell-tools'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * The schemas are built on first use: loading zod costs tens of milliseconds, and
 * `sbx exec` on a machine with no policy file needs none of it.
 */
/**
 * Bounds on what one file may hold, far above any real policy: a policy is compiled on the
 * supervisor's one thread, and a cloned repository's `.sbx.yaml` of 5,500 `commands:`
 * entries held it for 90 s (every session's cd and start with it).
 */
export const MAX_ENTRIES_PER_LIST = 1000;
export const MAX_COMMANDS = 100;

function build(z: typeof Zod) {
  // A NUL names no file, host or program (and would cut the name short in native code).
  const text = z.string().min(1, 'expected a non-empty string').refine((s) => !s.includes('\0'), 'contains a NUL character');
  const entries = z.array(text).max(MAX_ENTRIES_PER_LIST, `at most ${MAX_ENTRIES_PER_LIST} entries`);

  const allowDeny = z.strictObject({ allow: entries.optional(), deny: entries.optional() });

  /** The sections a per-program override may change (no nesting, no presets). */
  const sections = {
    read: allowDeny.optional(),
    write: allowDeny.optional(),
    exec: allowDeny.optional(),
    net: z
      .strictObject({
        allow: entries.optional(),
        deny: entries.optional(),
        /** Unix-domain sockets: paths, globs, or "@abstract" names. */
        unix: allowDeny.optional(),
      })
      .optional(),
    env: allowDeny.optional(),
    mode: z.enum(['enforce', 'audit']).optional(),
  };

  // A program's environment is made by whoever starts it (often a sandboxed shell): sbx
  // filters it where it starts a sandbox, from the policy's own env section, and cannot at an
  // exec inside. So an override has no env rules, rather than ones that would do nothing.
  const commandOverrideSchema = z.strictObject({
    ...sections,
    env: z
      .unknown()
      .refine(() => false, 'an override cannot change env (a program gets its environment from whoever starts it): put the rule in the top-level env section')
      .optional(),
  });

  const presetName = z.enum(PRESET_NAMES);

  const common = {
    version: z.literal(1),
    extends: z.array(presetName).optional(),
    ...sections,
    commands: z
      .record(text, commandOverrideSchema)
      .refine((c) => Object.keys(c).length <= MAX_COMMANDS, `at most ${MAX_COMMANDS} programs`)
      .optional(),
  };

  const projectFileSchema = z.strictObject(common);

  const userFileSchema = z.strictObject({
    ...common,
    /**
     * A floor no project lifts. An entry is a preset name (its read/write/unix denies become
     * floors) or a path/glob (denied for read and write). Absent: [secrets].
     */
    protect: z.array(text).optional(),
  });

  return { commandOverrideSchema, projectFileSchema, userFileSchema };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

export function schemas(): Schemas {
  const require = createRequire(import.meta.url);
  return (built ??= build((require('zod') as { z: typeof Zod }).z));
}

export type ProjectFile = Zod.infer<Schemas['projectFileSchema']>;
export type UserFile = Zod.infer<Schemas['userFileSchema']>;
export type CommandOverrideFile = Zod.infer<Schemas['commandOverrideSchema']>;
/** What every layer has in common (a file, a preset, a command override, flags). */
export type PolicyBody = CommandOverrideFile;
