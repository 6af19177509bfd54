// The real workloads of the main table. Each is one command, timed by bin/timeit inside
// every column (warm-up run first, then `runs` timed runs, median reported). Cheapest first.
import path from 'node:path';
import { BIN, REPO } from './paths.mjs';
import { buildHelpers, cProject, gitRepo, nodeTree, tscSnapshot } from './generate.mjs';

export const WORKLOADS = [
  {
    id: 'git-status',
    title: '`git status`, 20k-file repo',
    budget: true,
    prepare: () => ({ cwd: gitRepo(), cmd: ['git', 'status'] }),
  },
  {
    id: 'launches',
    title: '500 process launches (sh loop)',
    budget: true,
    prepare: () => ({ cmd: ['/bin/sh', '-c', 'i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done'] }),
  },
  {
    id: 'ripgrep',
    title: 'ripgrep over the 20k-file tree (open-heavy)',
    budget: false,
    prepare: () => ({ cwd: gitRepo(), cmd: ['rg', '--no-ignore', '-c', 'file 7', '.'] }),
  },
  {
    id: 'node-require',
    title: '`node` requiring 600 packages (open-heavy)',
    budget: false,
    prepare: () => ({ cwd: nodeTree(), cmd: [process.execPath, 'main.js'] }),
  },
  {
    id: 'open100k',
    title: '100k open/close from C',
    budget: false,
    prepare: () => ({ cmd: [path.join(BIN, 'syscalls'), 'open', '100000', buildHelpers().openTarget] }),
  },
  {
    id: 'make',
    title: '`make -j2`, 200-file C project',
    budget: true,
    prepare: () => ({ cwd: cProject(), cmd: ['make', '-B', '-j2', '-s'] }),
  },
  {
    id: 'tsc',
    title: '`tsc -p` on this repo',
    budget: true,
    prepare: () => {
      const snap = tscSnapshot();
      return {
        cwd: snap.dir,
        cmd: [process.execPath, path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--outDir', 'out'],
        note: `git ${snap.rev.slice(0, 7)}, ${snap.files} .ts files in src/`,
      };
    },
  },
];
