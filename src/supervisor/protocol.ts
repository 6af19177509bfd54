/** Moved to src/protocol/control.ts (every wire format lives in src/protocol/); kept so old imports still resolve. */
export * from '../protocol/control.js';
