/**
 * Schema v1 of `.sbx.yaml` and the user config. Every object is strict: an unknown key
 * is an error, because a typo (`raed:`) must not quietly weaken a sandbox.
 */
import { z } from 'zod';

export const PRESET_NAMES = ['secrets', 'shell-rc', 'offline', 'project-only'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const entries = z.array(z.string().min(1, 'expected a non-empty string'));

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

export const commandOverrideSchema = z.strictObject(sections);

const presetName = z.enum(PRESET_NAMES);

const common = {
  version: z.literal(1),
  extends: z.array(presetName).optional(),
  ...sections,
  commands: z.record(z.string().min(1), commandOverrideSchema).optional(),
};

export const projectFileSchema = z.strictObject(common);

export const userFileSchema = z.strictObject({
  ...common,
  /**
   * A floor no project lifts. An entry is a preset name (its read/write/unix denies become
   * floors) or a path/glob (denied for read and write). Absent: [secrets].
   */
  protect: z.array(z.string().min(1, 'expected a non-empty string')).optional(),
});

export type ProjectFile = z.infer<typeof projectFileSchema>;
export type UserFile = z.infer<typeof userFileSchema>;
export type CommandOverrideFile = z.infer<typeof commandOverrideSchema>;
/** What every layer has in common (a file, a preset, a command override, flags). */
export type PolicyBody = CommandOverrideFile;
