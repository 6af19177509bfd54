/**
 * The one place that knows where each tool keeps its caches and state, and how `sbx init`
 * recognises a project. Each ecosystem is a preset (`extends: [node]`): the directories its
 * tools must write outside the project, and the hosts its registry lives on (used by the
 * starter file, not by the preset: a preset never widens the network by itself).
 *
 * Deliberately NOT here (they run code outside the sandbox later, and stay read-only):
 * ~/.cargo/bin, ~/.cargo/config.toml (rustc-wrapper), ~/.config/go/env (GOFLAGS=-toolexec),
 * ~/.npmrc (also a secret: auth tokens), ~/.gitconfig, any PATH directory, shell rc files,
 * the tools' shared caches (~/.npm, ~/.cache: npx runs from one, zsh themes source the other;
 * cargo's registry and go's module cache hold the sources every build outside compiles and
 * runs, build.rs included; programs inside get caches of their own instead, launch-env.ts),
 * uv's managed Pythons and tools,
 * fish's universal variables,
 * direnv's allow list (a project that approves its own `.envrc` runs it in every terminal
 * outside: `direnv allow` is done outside a session).
 */
import { existsSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { sandboxCacheDir } from './home-config.js';
import { homeDir, xdg } from './paths.js';
import type { PolicyBody } from './schema.js';
import { escapeGlob } from './escape-glob.js';

export const ECOSYSTEM_NAMES = ['node', 'python', 'rust', 'go', 'shell-tools'] as const;
export type EcosystemName = (typeof ECOSYSTEM_NAMES)[number];

type Env = Record<string, string | undefined>;

interface Dirs {
  home: string;
  /** The sandbox's own cache (home-config.ts sandboxCacheDir): programs inside cache there. */
  sandboxCache: string;
  cache: string;
  data: string;
  config: string;
  state: string;
  uid: number;
}

export interface Ecosystem {
  name: EcosystemName;
  /** What `sbx init` says it recognised. */
  label: string;
  /** Files in the project directory that mean "this ecosystem" (any one). */
  markers: string[];
  /** Directories and files its tools write outside the project (absolute). */
  writes(d: Dirs): string[];
  /** Registry hosts the starter file allows (net.allow); empty: no network needed. */
  hosts: string[];
}

export const ECOSYSTEMS: readonly Ecosystem[] = [
  {
    name: 'node',
    label: 'Node.js (npm, pnpm, yarn)',
    markers: ['package.json', 'package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', '.nvmrc'],
    writes: (d) => [
      d.sandboxCache, // npm's, yarn's and pnpm's caches and pnpm's store for programs inside (launch-env.ts)
      join(d.home, '.node_repl_history'),
    ],
    hosts: ['registry.npmjs.org', 'registry.yarnpkg.com'],
  },
  {
    name: 'python',
    label: 'Python (pip, uv; the venv in the project)',
    markers: ['pyproject.toml', 'requirements.txt', 'setup.py', 'setup.cfg', 'Pipfile', 'uv.lock', 'poetry.lock'],
    writes: (d) => [
      d.sandboxCache, // pip's, uv's and poetry's caches for programs inside (XDG_CACHE_HOME)
      join(d.home, '.python_history'),
    ],
    hosts: ['pypi.org', 'files.pythonhosted.org'],
  },
  {
    name: 'rust',
    label: 'Rust (cargo)',
    markers: ['Cargo.toml', 'Cargo.lock', 'rust-toolchain.toml'],
    // cargo's home for programs inside (CARGO_HOME: registry, git checkouts, locks), never
    // ~/.cargo/registry: a build outside would run a build.rs planted there. Nor rustup's
    // ~/.rustup/tmp: an install outside unpacks the next rustc there before moving it in.
    writes: (d) => [d.sandboxCache],
    hosts: ['index.crates.io', 'static.crates.io', 'crates.io', 'static.rust-lang.org'],
  },
  {
    name: 'go',
    label: 'Go',
    markers: ['go.mod', 'go.work'],
    // go's module cache and build cache for programs inside (GOMODCACHE, XDG_CACHE_HOME),
    // never ~/go/pkg/mod: a build outside would compile a module changed there.
    writes: (d) => [d.sandboxCache],
    hosts: ['proxy.golang.org', 'sum.golang.org', 'storage.googleapis.com'],
  },
  {
    name: 'shell-tools',
    label: 'shell history, fish universal variables, tmux, git, make',
    markers: [],
    writes: (d) => [
      join(d.home, '.bash_history'),
      join(d.home, '.zsh_history'),
      join(d.home, '.histfile'),
      join(d.data, 'fish'), // fish_history and its temp files (the code fish loads there stays denied: home-config.ts)
      // Not fish's universal variables: `SETUVAR --export` reaches every program an outside fish starts.
      d.sandboxCache, // direnv's cache for programs inside (XDG_CACHE_HOME)
      `/tmp/tmux-${d.uid}`, // tmux's socket dir: a server started inside (never the user's own, outside: not named)
      join(d.home, '.lesshst'),
      join(d.home, '.viminfo'),
      join(d.state, 'nvim', 'shada'), // nvim's history (not its trust list next to it)
    ],
    hosts: [],
  },
];

function dirs(env: Env): Dirs {
  const home = homeDir(env);
  const dir = (name: string, fallback: string) => normalize(xdg(env, name, fallback));
  return {
    home,
    sandboxCache: sandboxCacheDir(home, env),
    cache: dir('XDG_CACHE_HOME', join(home, '.cache')),
    data: dir('XDG_DATA_HOME', join(home, '.local', 'share')),
    config: dir('XDG_CONFIG_HOME', join(home, '.config')),
    state: dir('XDG_STATE_HOME', join(home, '.local', 'state')),
    uid: typeof process.getuid === 'function' ? process.getuid() : 0,
  };
}


export function ecosystem(name: EcosystemName): Ecosystem {
  return ECOSYSTEMS.find((e) => e.name === name)!;
}

/** The preset body of an ecosystem: literal paths (escaped), computed from the environment. */
export function ecosystemPreset(name: EcosystemName, env: Env): PolicyBody {
  const paths = [...new Set(ecosystem(name).writes(dirs(env)))].filter((p) => !p.includes('$')).map(escapeGlob);
  return { write: { allow: paths } };
}

/** The ecosystems a project directory shows (markers present), in table order. */
export function detectEcosystems(projectDir: string): Ecosystem[] {
  return ECOSYSTEMS.filter((e) => e.markers.some((m) => existsSync(join(projectDir, m))));
}
