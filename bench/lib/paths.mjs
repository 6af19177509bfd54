// Where everything lives. Generated trees, tools and scratch state stay under bench/work/ (gitignored).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO = path.dirname(BENCH);
export const WORK = path.join(BENCH, 'work');
export const BIN = path.join(WORK, 'bin');
export const RESULTS = path.join(BENCH, 'results');
// The sbx measured: a frozen copy of the built tree (see snapshot.mjs).
export const SBX = path.join(WORK, 'sbx-build', 'bin', 'sbx');
export const MISE = path.join(WORK, 'node_modules', '.bin', 'mise');
export const SRT = path.join(WORK, 'node_modules', '.bin', 'srt');
export const SRT_SETTINGS = path.join(WORK, 'srt-settings.json');
export const HOME = path.join(WORK, 'home');
export const XDG = path.join(WORK, 'xdg');
