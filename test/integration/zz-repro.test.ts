import { it, expect } from 'vitest';
import { Engine } from '../../src/native/engine.js';
import { markerDirs, policy, start } from './engine-harness.js';
it('repro', async () => {
  const { marker } = markerDirs('ok', 'no');
  const ok = marker('ok');
  for (let round = 0; round < 12; round++) {
    const evs: unknown[] = [];
    const s = await start({
      policies: [policy(1)],
      argv: ['/bin/sh', '-c', `f=0; for i in $(seq 400); do ${ok} x >/dev/null || { f=$((f+1)); echo "okfail $i $?"; }; grep -q 'TracerPid:.0$' /proc/$$/status; r=$?; [ $r = 0 ] || { f=$((f+1000)); echo "grepfail $i $r"; }; done; echo failed=$f`],
    });
    let engine = s.engine;
    for (let k = 0; k < 4; k++) {
      await new Promise((res) => setTimeout(res, 150));
      engine.stop();
      engine = Engine.create({ listenerFd: s.listener, strictPolicy: 1, onEvents: (e) => evs.push(...e) });
      engine.setPolicy(policy(1));
    }
    await s.done;
    engine.stop();
    if (!s.stdout().includes('failed=0')) { console.log('ROUND', round, s.stdout(), s.stderr(), JSON.stringify(evs)); expect(s.stdout()).toBe('failed=0\n'); }
  }
}, 600_000);
