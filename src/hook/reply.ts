/** Moved to src/protocol/hook-reply.ts (every wire format lives in src/protocol/); kept so old imports still resolve. */
export * from '../protocol/hook-reply.js';
