/**
 * A `commands:` override gives one program more rights than the policy it is started under
 * (`mytool: { read: { allow: [secret/data.txt] } }`). Those rights belong to the program the
 * name resolved to when the policy was made — not to whatever a sandboxed program names
 * `mytool`, and not to code another program injects into the real one. Each trick first
 * works OUTSIDE (its code reads the secret), then gets nothing more than the base policy
 * INSIDE, next to the allowed twin: the real program, under the same policy, reads it.
 * Real kernel, real sbx, real programs.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture, type Result, run, sbxBin, sbxExec, servedBySupervisor, tempWorld } from './exec-helpers.js';

vi.setConfig({ testTimeout: 120_000 });

const world = tempWorld('sbx-override-');
servedBySupervisor(world);
const tools = join(world.dir, 'tools'); // in PATH, not writable inside: where the real programs are
const pub = join(world.dir, 'pub'); // writable inside: where a sandboxed program plants its own
const secret = join(world.dir, 'secret', 'data.txt');
const SECRET = 'OVERRIDE-ONLY-SECRET';
const policyFile = join(world.dir, 'policy.yaml');
const env = { ...world.env, PATH: `${tools}:${world.env.PATH}` };
const preload = fixture('preload_reader');
const tamper = fixture('override_tamper');

const IPC_TOOL = [
  '#!/usr/bin/python3',
  'import ctypes, errno, os, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'libc.shmat.restype = ctypes.c_void_p',
  'libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]',
  'libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]',
  'mode, name, key = sys.argv[1], sys.argv[2], int(sys.argv[3], 0)',
  "err = lambda: errno.errorcode[ctypes.get_errno()]",
  'def attached(sid):',
  '    addr = libc.shmat(sid, None, 0o10000)',
  "    return err() if addr in (None, ctypes.c_void_p(-1).value) else ctypes.string_at(addr, 64).split(b'\\0')[0].decode().strip()",
  "if mode == 'make':",
  '    try:',
  '        data = open(sys.argv[4]).read().encode()',
  '    except OSError as e:',
  '        data = str(e).encode()',
  "    fd = os.open('/dev/shm/' + name, os.O_CREAT | os.O_RDWR, 0o600)",
  '    os.write(fd, data)',
  '    sid = libc.shmget(key, 4096, 0o1600)',
  '    addr = libc.shmat(sid, None, 0)',
  '    ctypes.memmove(addr, data, len(data))',
  "    q = libc.mq_open(('/' + name).encode(), os.O_CREAT | os.O_WRONLY, 0o600, None)",
  '    libc.mq_send(q, data, len(data), 0)',
  "    print('made', sid, flush=True)",
  '    sys.exit(0)',
  'try:',
  "    print('file', open('/dev/shm/' + name).read().strip())",
  'except OSError as e:',
  "    print('file', errno.errorcode[e.errno])",
  'sid = libc.shmget(key, 0, 0)',
  "print('key', err() if sid < 0 else attached(sid))",
  "print('id', attached(int(sys.argv[4])))",
  "q = libc.mq_open(('/' + name).encode(), os.O_RDONLY | os.O_NONBLOCK, 0, None)",
  'buf = ctypes.create_string_buffer(8192)',
  'got = libc.mq_receive(q, buf, 8192, None) if q >= 0 else -1',
  "print('queue', err() if got < 0 else buf.raw[:got].decode().strip())",
].join('\n');

const inside = (script: string) => sbxExec(['--policy', policyFile, '--', 'sh', '-c', script], { env, cwd: world.dir });
const outside = (script: string) => run('sh', ['-c', script], { env, cwd: world.dir });

function expectSecret(r: Result): void {
  expect(r.stdout).toContain(SECRET);
}
function expectNoSecret(r: Result): void {
  expect(r.stdout).not.toContain(SECRET);
  expect(r.stderr).toMatch(/sbx: denied /);
}

beforeAll(() => {
  for (const d of [tools, pub, join(world.dir, 'secret'), join(pub, 'evil')]) mkdirSync(d);
  writeFileSync(secret, `${SECRET}\n`);
  // The real programs the overrides name: a binary (a copy of cat) and a script.
  copyFileSync('/bin/cat', join(tools, 'mytool'));
  chmodSync(join(tools, 'mytool'), 0o755);
  writeFileSync(join(tools, 'myscript'), '#!/bin/sh\nexec cat "$@"\n');
  chmodSync(join(tools, 'myscript'), 0o755);
  // A node script (an interpreter that loads code named by its environment: NODE_OPTIONS).
  writeFileSync(join(tools, 'myjs'), `#!${process.execPath}\nprocess.stdout.write(require('fs').readFileSync(process.argv[2], 'utf8'));\n`);
  chmodSync(join(tools, 'myjs'), 0o755);
  // A runner whose override narrows (it may not read pub/private.txt, which the base policy reads).
  writeFileSync(join(tools, 'narrowrun'), '#!/bin/sh\nexec "$@"\n');
  chmodSync(join(tools, 'narrowrun'), 0o755);
  writeFileSync(join(pub, 'private.txt'), 'BASE-ONLY\n');
  copyFileSync('/bin/cat', join(pub, 'catter'));
  chmodSync(join(pub, 'catter'), 0o755);
  copyFileSync('/usr/bin/tail', join(tools, 'mytail'));
  chmodSync(join(tools, 'mytail'), 0o755);
  copyFileSync('/bin/cat', join(tools, 'mycat'));
  chmodSync(join(tools, 'mycat'), 0o755);
  writeFileSync(join(tools, 'envtool'), '#!/usr/bin/env mycat\n');
  chmodSync(join(tools, 'envtool'), 0o755);
  writeFileSync(join(pub, 'evil.js'), `try { process.stdout.write('evil: ' + require('fs').readFileSync(${JSON.stringify(secret)}, 'utf8')); } catch (e) { console.error('evil: ' + e.code); }\n`);
  writeFileSync(
    policyFile,
    'version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["pub", "/tmp"] }\ncommands:\n' +
      '  mytool: { read: { allow: ["secret/data.txt"] } }\n  myscript: { read: { allow: ["secret/data.txt"] } }\n' +
      '  myjs: { read: { allow: ["secret/data.txt"] } }\n  ipctool: { read: { allow: ["secret/data.txt"] } }\n  myserver: { read: { allow: ["secret/data.txt"] } }\n  tcptool: { read: { allow: ["secret/data.txt"] } }\n  envtool: { read: { allow: ["secret/data.txt"] } }\n  mytail: { read: { allow: ["secret/data.txt"] } }\n  narrowrun: { read: { deny: ["pub/private.txt"] } }\n' +
      `  ${JSON.stringify(join(pub, 'ptool'))}: { read: { allow: ["secret/data.txt"] } }\n` +
      `  ${JSON.stringify(join(pub, 'pscript'))}: { read: { allow: ["secret/data.txt"] } }\n`,
  );
  // A script named by path in a directory the sandbox may write.
  writeFileSync(join(pub, 'pscript'), '#!/bin/bash\ncat "$1"\nsleep 2\necho done\n');
  chmodSync(join(pub, 'pscript'), 0o755);
  // A program named by path in a directory the sandbox may write (a project-local tool).
  copyFileSync('/bin/cat', join(pub, 'ptool'));
  chmodSync(join(pub, 'ptool'), 0o755);
  // What a sandboxed program could plant in pub (done here so the outside twins can use it too).
  copyFileSync('/bin/cat', join(pub, 'mytool'));
  chmodSync(join(pub, 'mytool'), 0o755);
  symlinkSync('/bin/sh', join(pub, 'evil', 'mytool'));
  writeFileSync(join(pub, 'evil', 'myscript'), `#!/bin/sh\ncat ${secret}\n`);
  // mycat found first on a PATH the caller set: what `#!/usr/bin/env mycat` runs.
  writeFileSync(join(pub, 'evil', 'mycat'), `#!/bin/sh\nprintf 'planted: '; cat ${secret}\n`);
  chmodSync(join(pub, 'evil', 'mycat'), 0o755);
  chmodSync(join(pub, 'evil', 'myscript'), 0o755);
  writeFileSync(join(tools, 'lesspipe'), '#!/bin/sh\n'); // a stand-in for /usr/bin/lesspipe (LESSOPEN's twin)
  chmodSync(join(tools, 'lesspipe'), 0o755);
  writeFileSync(join(tools, 'zed'), '#!/bin/sh\n'); // named like an editor, but a script
  chmodSync(join(tools, 'zed'), 0o755);
  // A server with an override (an agent a tool starts: gpg-agent, an ssh ControlMaster).
  copyFileSync(fixture('cmd_server'), join(tools, 'myserver'));
  chmodSync(join(tools, 'myserver'), 0o755);
  // The same over TCP on loopback: a python script with an override (tcptool) and its copy
  // the base policy runs (pub/tcpbase). serve: answer each connection with the file it names
  // ("quit": exit); get PORT PATH: print the answer.
  const tcp = [
    '#!/usr/bin/python3',
    'import socket, sys',
    'mode, port = sys.argv[1], int(sys.argv[2])',
    "if mode == 'aserve':", // aserve PORT ADDR: TCP on ADDR (a scoped IPv6 one too); answers each connection with the file it names
    '    fam, _, _, _, sa = socket.getaddrinfo(sys.argv[3], port, type=socket.SOCK_STREAM)[0]',
    '    s = socket.socket(fam); s.bind(sa); s.listen()',
    "    print('listening', s.getsockname()[1], flush=True)",
    '    while True:',
    '        c, _ = s.accept()',
    '        path = c.recv(4096).decode().strip()',
    "        if path == 'quit': sys.exit(0)",
    '        try: data = open(path, "rb").read()',
    '        except OSError as e: data = str(e).encode()',
    '        c.sendall(data); c.close()',
    "if mode == 'aget':", // aget PORT ADDR PATH: ask aserve at ADDR for PATH
    '    fam, _, _, _, sa = socket.getaddrinfo(sys.argv[3], port, type=socket.SOCK_STREAM)[0]',
    '    try:',
    '        c = socket.socket(fam); c.settimeout(3); c.connect(sa)',
    "        c.sendall((sys.argv[4] + '\\n').encode()); print('got', c.recv(65536).decode().strip())",
    '    except OSError as e:',
    "        print('error', e)",
    '    sys.exit(0)',
    "if mode == 'userve':", // UDP on 0.0.0.0: answer each datagram with the file it names (5 s idle: exit)
    '    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    '    try:',
    "        s.bind(('0.0.0.0', port))",
    '    except OSError as e:',
    "        print('error', e, flush=True); sys.exit(0)",
    "    print('listening', s.getsockname()[1], flush=True)",
    '    s.settimeout(5)',
    '    while True:',
    '        try:',
    '            path, peer = s.recvfrom(4096)',
    '        except OSError:',
    '            sys.exit(0)',
    "        if path == b'quit': sys.exit(0)",
    '        try:',
    "            data = open(path.decode(), 'rb').read()",
    '        except OSError as e:',
    '            data = str(e).encode()',
    '        s.sendto(data, peer)',
    "if mode == 'uget':", // uget PORT PATH ADDR: one datagram to ADDR (broadcast allowed)
    '    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    '    c.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)',
    '    c.settimeout(3)',
    '    try:',
    '        c.sendto(sys.argv[3].encode(), (sys.argv[4], port))',
    "        print('got', c.recv(65536).decode().strip())",
    '    except OSError as e:',
    "        print('error', e)",
    '    sys.exit(0)',
    "if mode == 'uconn':", // a UDP socket connected to 127.0.0.1:PORT before anything serves there; asks for PATH for 4 s
    '    import time',
    '    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    "    c.connect(('127.0.0.1', port))",
    "    print('connected', flush=True)",
    '    c.settimeout(0.2)',
    '    end = time.time() + 4',
    '    while time.time() < end:',
    '        try:',
    '            c.send(sys.argv[3].encode())',
    "            print('got', c.recv(65536).decode().strip()); sys.exit(0)",
    '        except OSError:',
    '            pass',
    "    print('no answer'); sys.exit(0)",
    "if mode == 'cycle':", // cycle PORT SECONDS PATH: listen, answer one connection with PATH's content at once, close; again
    '    import time',
    "    end, data = time.time() + float(sys.argv[3]), open(sys.argv[4], 'rb').read()",
    '    while time.time() < end:',
    '        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    '        try:',
    "            s.bind(('127.0.0.1', port)); s.listen(8); s.settimeout(0.002)",
    '            c, _ = s.accept(); c.sendall(data); c.close()',
    '        except OSError:',
    '            pass',
    '        s.close()',
    '    sys.exit(0)',
    "if mode == 'hammer':", // hammer PORT SECONDS: connect again and again; print what a connection gets first
    '    import time',
    '    end, tries = time.time() + float(sys.argv[3]), 0',
    '    while time.time() < end:',
    '        c = socket.socket(); tries += 1',
    '        try:',
    "            c.connect(('127.0.0.1', port)); d = c.recv(100)",
    "            if d: print('got', d.decode().strip(), 'after', tries); sys.exit(0)",
    '        except OSError:',
    '            pass',
    '        c.close()',
    "    print('nothing after', tries); sys.exit(0)",
    "if mode == 'phammer':", // phammer PORT SECONDS: the same through $HTTP_PROXY (CONNECT 127.0.0.1:PORT)
    '    import os, time',
    "    proxy = int(os.environ['HTTP_PROXY'].rsplit(':', 1)[1])",
    '    end, tries = time.time() + float(sys.argv[3]), 0',
    '    while time.time() < end:',
    '        tries += 1',
    "        c = socket.create_connection(('127.0.0.1', proxy))",
    "        c.sendall(f'CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'.encode())",
    "        head = c.recv(4096).decode(errors='replace')",
    "        if ' 200 ' in head.split('\\r\\n')[0]:",
    '            c.settimeout(0.5)',
    '            try:',
    '                d = c.recv(100)',
    "                if d: print('got', d.decode().strip(), 'after', tries); sys.exit(0)",
    '            except OSError:',
    '                pass',
    '        c.close()',
    "    print('nothing after', tries); sys.exit(0)",
    "if mode == 'usecret':", // usecret PORT SECONDS PATH: a UDP socket connected to 127.0.0.1:PORT sends PATH's content again and again
    '    import time',
    '    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    "    c.connect(('127.0.0.1', port)); data = open(sys.argv[4], 'rb').read()",
    "    print('connected', flush=True)",
    '    end = time.time() + float(sys.argv[3])',
    '    while time.time() < end:',
    '        try: c.send(data)',
    '        except OSError: pass',
    '        time.sleep(0.05)',
    '    sys.exit(0)',
    "if mode == 'ucatch':", // ucatch PORT SECONDS: bind 127.0.0.1 port 0 again and again; what PORT receives once the kernel gives it
    '    import time',
    '    end, tries = time.time() + float(sys.argv[3]), 0',
    '    while time.time() < end:',
    '        tries += 1',
    '        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    "        s.bind(('127.0.0.1', 0))",
    '        if s.getsockname()[1] == port:',
    '            s.settimeout(2)',
    "            print('caught', s.recv(4096).decode().strip(), 'after', tries); sys.exit(0)",
    '        s.close()',
    "    print('never after', tries); sys.exit(0)",
    "if mode == 'ulisten':", // a UDP socket the kernel gives a port at its first send; echoes 'heard X'
    '    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    "    s.sendto(b'x', ('127.0.0.1', 9))",
    "    print('listening', s.getsockname()[1], flush=True)",
    '    while True:',
    '        data, peer = s.recvfrom(4096)',
    "        if data == b'quit': sys.exit(0)",
    "        s.sendto(b'heard ' + data, peer)",
    "fam, host = (socket.AF_INET6, '::1') if mode.endswith('6') else (socket.AF_INET, '127.0.0.1')",
    "mode = mode.rstrip('6')",
    "if mode == 'pget':", // pget PORT PATH: the same through $HTTP_PROXY (CONNECT 127.0.0.1:PORT)
    '    import os',
    "    proxy = int(os.environ['HTTP_PROXY'].rsplit(':', 1)[1])",
    "    c = socket.create_connection(('127.0.0.1', proxy))",
    "    c.sendall(f'CONNECT 127.0.0.1:{port} HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\n\\r\\n'.encode())",
    "    head = c.recv(4096).decode(errors='replace')",
    "    if ' 200 ' not in head.split('\\r\\n')[0]:",
    "        print('refused', head.split('\\r\\n')[0]); sys.exit(0)",
    "    c.sendall((sys.argv[3] + '\\n').encode())",
    "    print('got', c.recv(65536).decode().strip())",
    '    sys.exit(0)',
    "if mode == 'serve':",
    '    s = socket.socket(fam)',
    '    s.bind((host, port))',
    '    s.listen()',
    "    print('listening', s.getsockname()[1], flush=True)",
    '    while True:',
    '        c, _ = s.accept()',
    '        path = c.recv(4096).decode().strip()',
    "        if path == 'quit': sys.exit(0)",
    '        try:',
    "            data = open(path, 'rb').read()",
    '        except OSError as e:',
    '            data = str(e).encode()',
    '        c.sendall(data)',
    '        c.close()',
    'try:',
    '    c = socket.create_connection((host, port))',
    "    c.sendall((sys.argv[3] + '\\n').encode())",
    "    print('got', c.recv(65536).decode().strip())",
    'except OSError as e:',
    "    print('error', e)",
  ].join('\n');
  writeFileSync(join(tools, 'tcptool'), `${tcp}\n`);
  chmodSync(join(tools, 'tcptool'), 0o755);
  writeFileSync(join(pub, 'tcpbase'), `${tcp}\n`);
  chmodSync(join(pub, 'tcpbase'), 0o755);
  // Shared memory and queues: ipctool (with an override) and its copy pub/ipcbase (the base
  // policy). make NAME KEY FILE: put FILE's text (or the error reading it) in /dev/shm/NAME,
  // a SysV segment of KEY and the queue /NAME; prints the segment's id. read NAME KEY ID:
  // print what each of them (the segment by key and by id) gives, or the error.
  writeFileSync(join(tools, 'ipctool'), `${IPC_TOOL}\n`);
  chmodSync(join(tools, 'ipctool'), 0o755);
  writeFileSync(join(pub, 'ipcbase'), `${IPC_TOOL}\n`);
  chmodSync(join(pub, 'ipcbase'), 0o755);
});
afterAll(() => world.cleanup());

describe('allowed twins: the programs the overrides name get their rights inside', () => {
  it('the base policy denies the secret (cat); the real mytool (a binary) and myscript (a script) read it', async () => {
    expectNoSecret(await inside(`cat ${secret}`));
    expectSecret(await inside(`mytool ${secret}`));
    expectSecret(await inside(`${join(tools, 'mytool')} ${secret}`));
    expectSecret(await inside(`myscript ${secret}`));
  });

  // Made outside: tools/ is on PATH, a floor, and a link to a program there is not made inside
  // (a tool writing through it would replace what runs later: escape-home-config).
  it('a symlink to the real mytool under another name is still the real mytool', async () => {
    symlinkSync(join(tools, 'mytool'), join(pub, 'link'));
    const r = await inside(`${pub}/link ${secret}; rm -f ${pub}/link`);
    expectSecret(r);
  });
});

describe('a program named like an override does not get it', () => {
  it('a copy of cat named mytool: reads the secret outside; inside it is just cat', async () => {
    expectSecret(await outside(`${pub}/mytool ${secret}`));
    expectNoSecret(await inside(`${pub}/mytool ${secret}`));
  });

  it('a symlink named mytool to /bin/sh: its shell reads the secret outside; inside it gets the base policy', async () => {
    expectSecret(await outside(`${pub}/evil/mytool -c 'cat ${secret}'`));
    expectNoSecret(await inside(`${pub}/evil/mytool -c 'cat ${secret}'`));
  });

  it('a script of its own named myscript: outside it reads the secret; inside it gets the base policy', async () => {
    expectSecret(await outside(`${pub}/evil/myscript`));
    expectNoSecret(await inside(`${pub}/evil/myscript`));
  });

  it('PATH put in front (a planted myscript found first by name) gets the base policy too', async () => {
    expectNoSecret(await inside(`PATH=${pub}/evil:$PATH myscript`));
  });
});

describe('a program the override names in a place the sandbox may write', () => {
  it('pub/ptool does not get its override, it runs under the strictest policy (the sandbox could have put its own there before the policy was built); twin: the real mytool in tools/ does', async () => {
    const r = await inside(`${pub}/ptool ${secret}`);
    expectNoSecret(r);
    expect(r.stderr).toContain(`sbx: denied commands ${pub}/ptool (a program the sandbox may write: it could have put its own there before the policy was built: it runs under the session's strictest policy, not a commands: override)`);
    expectSecret(await inside(`mytool ${secret}`));
  });

  // helper-80 #04: the build records every file of the override's name on the caller's PATH,
  // one an earlier sandbox planted in a project's bin/ included (a floor in this session,
  // where it is on PATH; not in the one whose PATH lacked it).
  it('a same-named program planted where the policy lets sandboxes write, before the build, gets the base policy; outside it reads the secret', async () => {
    mkdirSync(join(pub, 'bin'), { recursive: true });
    copyFileSync('/bin/sh', join(pub, 'bin', 'mytool'));
    chmodSync(join(pub, 'bin', 'mytool'), 0o755);
    const late = { ...env, PATH: `${env.PATH}:${pub}/bin` };
    const script = `${pub}/bin/mytool -c 'cat ${secret}'`;
    expectSecret(await run('sh', ['-c', script], { env: late, cwd: world.dir }));
    const r = await sbxExec(['--policy', policyFile, '--', 'sh', '-c', script], { env: late, cwd: world.dir });
    expectNoSecret(r);
    expect(r.stderr).toContain(`sbx: denied commands ${pub}/bin/mytool (a program the sandbox may write`);
  });
});

// helper-80 #01: bash reads a script by name while it runs; verified at its start, the script
// was rewritten a second later and the new lines ran with the override.
describe('a script the sandbox may write', () => {
  it('does not get its override (it runs under the strictest policy), so lines appended while it runs read nothing more; twin: the same kind of script in an unwritable place reads the secret', async () => {
    const r = await inside(`${pub}/pscript ${secret} & sleep 1; echo "cat ${secret}; echo appended" >> ${pub}/pscript; wait`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`sbx: denied commands ${pub}/pscript (a script the sandbox may write: its interpreter reads it by name while it runs`);
    expectSecret(await inside(`myscript ${secret}`));
  });
});

describe('code injected into the real program does not get its override', () => {
  it('LD_PRELOAD into the real mytool: the library reads the secret outside; inside the program is refused', async () => {
    const o = await outside(`PRELOAD_READ=${secret} LD_PRELOAD=${preload} mytool /dev/null`);
    expect(o.stdout).toContain(`preload: ${SECRET}`);
    // Inside, under the base policy (no override), the same library is denied the read: the
    // library itself works inside.
    const base = await inside(`PRELOAD_READ=${secret} LD_PRELOAD=${preload} cat /dev/null`);
    expect(base.stdout).not.toContain(SECRET);
    expect(base.stderr).toMatch(/preload: Permission denied/);
    const r = await inside(`PRELOAD_READ=${secret} LD_PRELOAD=${preload} mytool /dev/null; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied .*mytool.*LD_PRELOAD/);
  });

  it('an override that narrows is not left by running a file the sandbox wrote: the planted program does not get the base policy back (twin: the base policy reads the file)', async () => {
    expect((await inside(`cat ${pub}/private.txt`)).stdout).toContain('BASE-ONLY');
    expect((await inside(`narrowrun /bin/cat ${pub}/private.txt`)).stdout).not.toContain('BASE-ONLY');
    const r = await inside(`narrowrun ${pub}/catter ${pub}/private.txt; echo rc=$?`);
    expect(r.stdout).not.toContain('BASE-ONLY');
    expect(r.stderr).toMatch(/sbx: denied .*catter \(a file the sandbox may write: it runs under the session.s strictest policy/);
  });

  it('LD_LIBRARY_PATH, LD_AUDIT, OPENSSL_CONF (loads engines), exported bash functions, git config pairs and JAVA_TOOL_OPTIONS are refused the same way; the real mytool without them still works', async () => {
    const vars: [string, string][] = [
      [`LD_LIBRARY_PATH=${pub}`, 'LD_LIBRARY_PATH'],
      [`LD_AUDIT=${preload}`, 'LD_AUDIT'],
      [`OPENSSL_CONF=${pub}/evil.cnf`, 'OPENSSL_CONF'],
      ["'BASH_FUNC_ls%%=() { cat /x; }'", 'BASH_FUNC_ls%%'],
      ['GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.sshCommand GIT_CONFIG_VALUE_0=evil', 'GIT_CONFIG_COUNT'],
      ['JAVA_TOOL_OPTIONS=-javaagent:evil.jar', 'JAVA_TOOL_OPTIONS'],
      ["SHELLOPTS=xtrace 'PS4=$(cat /x)'", 'SHELLOPTS'],
    ];
    for (const [v, name] of vars) {
      const r = await inside(`env ${v} mytool ${secret}`);
      expect(r.stdout, v).not.toContain(SECRET);
      expect(r.stderr, v).toMatch(new RegExp(`sbx: denied .*mytool.*run with ${name}`));
    }
    expectSecret(await inside(`mytool ${secret}`));
  });

  // helper-77 #04: a list of names trails the interpreters; their variables are refused by
  // family (python, node, perl, lua, the loader), but for the few known to load nothing.
  it('every variable of an interpreter family that can load code is refused (PYTHONPYCACHEPREFIX, PYTHONINSPECT, PYTHONWARNINGS, NODE_REPL_EXTERNAL_MODULE, PERL5DB, LUA_INIT_5_4, LD_DEBUG_OUTPUT, CLASSPATH); twins: the harmless ones of the same families keep the override', async () => {
    for (const name of ['PYTHONPYCACHEPREFIX', 'PYTHONINSPECT', 'PYTHONWARNINGS', 'NODE_REPL_EXTERNAL_MODULE', 'PERL5DB', 'LUA_INIT_5_4', 'LD_DEBUG_OUTPUT', 'CLASSPATH']) {
      const r = await inside(`env ${name}=${pub}/x mytool ${secret}`);
      expect(r.stdout, name).not.toContain(SECRET);
      expect(r.stderr, name).toMatch(new RegExp(`sbx: denied .*mytool.*run with ${name}:`));
    }
    expectSecret(await inside(`env PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8 NODE_ENV=production NODE_EXTRA_CA_CERTS=/dev/null mytool ${secret}`));
  });

  // helper-79 #09: a variable that points the program at its configuration (CURL_HOME's
  // .curlrc) or at a program it runs, set to a place the sandbox writes.
  it('CURL_HOME, PIP_CONFIG_FILE or PAGER naming a place the sandbox writes (or a relative one) is refused; twins: the same variables naming places it cannot write, or a program by name, keep the override', async () => {
    const cases = [
      [`CURL_HOME=${pub}`, 'CURL_HOME naming a place the sandbox writes'],
      ['PIP_CONFIG_FILE=pip.conf', 'PIP_CONFIG_FILE naming a place the sandbox writes'],
      ['GIT_COMMON_DIR=evil', 'GIT_COMMON_DIR naming a place the sandbox writes'], // relative: where the caller stands
      ['HOME=evil', 'HOME naming a place the sandbox writes'], // helper-85 #11: less's .lesskey, python's user site
      ['XDG_CONFIG_HOME=evil', 'XDG_CONFIG_HOME naming a place the sandbox writes'],
      // helper-86 #16: any variable named like a place or a search path, relative
      ['FPATH=evil', 'FPATH naming a place relative to where the caller stands'],
      ['TCL_LIBRARY=evil', 'TCL_LIBRARY naming a place relative to where the caller stands'],
      ['PKG_CONFIG_PATH=/usr/lib/pkgconfig:lib', 'PKG_CONFIG_PATH naming a place relative to where the caller stands'],
      [`PAGER=${pub}/evil/pager`, 'PAGER \\(a command line other than a known pager'],
    ] as const;
    for (const [v, why] of cases) {
      const r = await inside(`env ${v} mytool ${secret}`);
      expect(r.stdout, v).not.toContain(SECRET);
      expect(r.stderr, v).toMatch(new RegExp(`sbx: denied .*mytool.*run with ${why}`));
    }
    expectSecret(await inside(`env CURL_HOME=${tools} PIP_CONFIG_FILE=${tools}/pip.conf GIT_DIR=${tools} PAGER='less -R' LESSHISTFILE=- TCL_LIBRARY=/usr/share/tcltk MANPATH=:/usr/share/man mytool ${secret}`));
  });

  // helper-80 #02, #03: a list of code-loading variables is never complete (GSS_MECH_CONFIG
  // names libraries to load), and a name read as text is not where it leads.
  it('any variable off the short list of harmless ones naming a place the sandbox writes, walked (/usr/../, /proc/self/cwd), is refused; twins: the same variables naming unwritable places, and TMPDIR=/tmp, keep the override', async () => {
    const cases = [
      [`GSS_MECH_CONFIG=/tmp/mech-${process.pid}`, 'GSS_MECH_CONFIG'],
      [`SSL_CERT_FILE=${pub}/ca.pem`, 'SSL_CERT_FILE'],
      [`CURL_HOME=/usr/..${pub}`, 'CURL_HOME'],
      ['CURL_HOME=/proc/self/cwd', 'CURL_HOME'],
      [`HOME=${pub}`, 'HOME'],
      [`XDG_CONFIG_HOME=${pub}`, 'XDG_CONFIG_HOME'],
      [`LC_ALL=${pub}/locale`, 'LC_ALL'], // glibc loads a locale named by a path from there
      // npm reads every npm_config_* as its configuration (script-shell: what runs its scripts),
      // direnv its DIRENV_BASH: the prefixes npm and direnv set for their own use are not harmless
      [`npm_config_script_shell=${pub}/sh`, 'npm_config_script_shell'],
      [`npm_config_node_options=--require=${pub}/evil.js`, 'npm_config_node_options'],
      [`DIRENV_BASH=${pub}/bash`, 'DIRENV_BASH'],
    ] as const;
    for (const [v, name] of cases) {
      const r = await inside(`env ${v} mytool ${secret}`);
      expect(r.stdout, v).not.toContain(SECRET);
      expect(r.stderr, v).toMatch(new RegExp(`sbx: denied .*mytool.*run with ${name} naming a place the sandbox writes`));
    }
    expectSecret(await inside(`env GSS_MECH_CONFIG=/etc/gss/mech SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt CURL_HOME=/usr/../etc TMPDIR=/tmp LANG=C.UTF-8 LC_ALL=C.UTF-8 mytool ${secret}`));
    // what npm and direnv set for a script they run, naming the project: data, not code
    const set = `npm_config_cache=${pub}/npm npm_config_local_prefix=${pub} npm_package_json=${pub}/package.json npm_lifecycle_event=build DIRENV_DIR=-${pub} DIRENV_FILE=${pub}/.envrc`;
    expectSecret(await inside(`env ${set} npm_config_script_shell=/bin/sh DIRENV_BASH=/bin/bash mytool ${secret}`));
  });

  // helper-82 #04: a pager or editor variable is a command line the program runs, with its
  // override: inline code (`sh -c …`), a script handed to an interpreter, an interpreter
  // reading what it pages, an option that loads a script or writes a file, less's `+cmd`.
  it('a pager, editor or browser variable other than a known one with plain options is refused; twins: less -FRX, vim, code --wait, firefox:w3m, an empty one, LESS=-R and the LESSOPEN Ubuntu sets keep the override', async () => {
    const refused = [
      ['PAGER', `sh -c cat<${secret}>leak`],
      ['SYSTEMD_PAGER', 'sh pg.sh'],
      ['AWS_PAGER', 'python3 -mevil'],
      ['PAGER', 'sh'],
      ['EDITOR', 'vim -S'],
      ['MANPAGER', 'less -oleak'],
      ['GH_EDITOR', './vim'],
      ['LESS', '+!id'],
      ['LESSOPEN', '|sh -c id %s'],
      ['LESSCLOSE', './filter %s %s'],
      ['LESSOPEN', '|-/bin/sh %s'], // helper-84: sh would run what is paged
      ['SHELL', `sh -c "cat<${secret}>leak" #`], // helper-84 #06: less runs LESSOPEN with $SHELL -c, unquoted
      ['SYSTEMD_LESS', `FRSXMK +!cat<${secret}>leak`], // helper-84 #08: systemd hands it to less as LESS
      ['LESSMETACHARS', ';'],
      ['__PYVENV_LAUNCHER__', 'evil/bin/python'], // helper-85 #13: python's home follows it
      ['PAGER', `${tools}/zed --wait`], // helper-86 #15: named like an editor, a script (zsh's zed)
      ['EDITOR', 'zed'], // the same found on PATH
    ] as const;
    for (const [name, value] of refused) {
      const r = await inside(`env ${name}='${value}' mytool ${secret}; echo rc=$?`);
      expect(r.stdout, `${name}=${value}`).not.toContain(SECRET);
      expect(r.stdout, r.stderr).toContain('rc=');
      expect(r.stderr, `${name}=${value}`).toMatch(new RegExp(`sbx: denied .*mytool.*run with ${name}[ :]`));
    }
    expectSecret(await inside(`env PAGER='less -FRX' MANPAGER=/usr/bin/cat EDITOR=vim VISUAL='code --wait' BROWSER=firefox:w3m AWS_PAGER= LESS='-R -x4' SYSTEMD_PAGERSECURE=0 LESSOPEN='|-${tools}/lesspipe %s' LESSCLOSE='${tools}/lesspipe %s %s' SHELL=/bin/sh SYSTEMD_LESS=FRSXMK mytool ${secret}`));
  });

  // helper-77 #02: the environment is read whole (it was read up to 1 MiB, and LD_PRELOAD
  // past it was never seen: the library ran with the override).
  it('LD_PRELOAD past the first MiB of the environment: refused the same; twin: the same padding without it keeps the override', async () => {
    const pad = 'a=$(head -c 120000 /dev/zero | tr "\\0" x); export P1=$a P2=$a P3=$a P4=$a P5=$a P6=$a P7=$a P8=$a P9=$a P10=$a';
    const o = await outside(`${pad}; PRELOAD_READ=${secret} LD_PRELOAD=${preload} mytool /dev/null`);
    expect(o.stdout).toContain(`preload: ${SECRET}`);
    const r = await inside(`${pad}; PRELOAD_READ=${secret} LD_PRELOAD=${preload} mytool /dev/null; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied .*mytool.*run with LD_PRELOAD/);
    expectSecret(await inside(`${pad}; mytool ${secret}`));
  });

  it('NODE_OPTIONS=--require into a node script with an override: the code reads the secret outside; inside refused; the script alone works', async () => {
    const o = await outside(`NODE_OPTIONS=--require=${pub}/evil.js myjs /dev/null`);
    expect(o.stdout).toContain(`evil: ${SECRET}`);
    expectSecret(await inside(`myjs ${secret}`));
    const r = await inside(`NODE_OPTIONS=--require=${pub}/evil.js myjs /dev/null`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied .*run with NODE_OPTIONS/);
  });

  it('a `#!/usr/bin/env mycat` script with an override: a mycat planted first on PATH in a place the sandbox writes reads the secret outside; inside it runs without the override; twin: the real mycat keeps it', async () => {
    const o = await outside(`PATH=${pub}/evil:$PATH envtool ${secret}`);
    expect(o.stdout).toContain(`planted: ${SECRET}`);
    expectSecret(await inside(`envtool ${secret}`));
    const r = await inside(`PATH=${pub}/evil:$PATH envtool ${secret}; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied .*evil\/mycat \(a file the sandbox may write: it runs under the session.s strictest policy, not a commands: override/);
    // Made read-only first (its owner can make it writable again), or found through a
    // relative PATH entry (helper-64 F1, F2): the same.
    const ro = await inside(`mkdir -p ${pub}/ro && cp ${pub}/evil/mycat ${pub}/ro/ && chmod 555 ${pub}/ro/mycat ${pub}/ro && PATH=${pub}/ro:$PATH envtool ${secret}; chmod 755 ${pub}/ro; echo rc=$?`);
    expect(ro.stdout).not.toContain(SECRET);
    expect(ro.stderr).toMatch(/sbx: denied .*ro\/mycat \(a file the sandbox may write/);
    // helper-77 #01: a name the sandbox controls without writing the file's directory text:
    // /proc/self/cwd (the supervisor read its own), /usr/.. and // (text compared as text).
    for (const entry of [`/proc/self/cwd`, `/usr/..${pub}/evil`, `/${pub}/evil`]) {
      const r2 = await inside(`cd ${pub}/evil && PATH=${entry}:$PATH envtool ${secret}; echo rc=$?`);
      expect(r2.stdout, entry).not.toContain(SECRET);
      expect(r2.stderr, entry).toMatch(/sbx: denied .*mycat \(a file the sandbox may write: it runs under the session.s strictest policy/);
    }
    // A symlink in a place the sandbox writes, to the real mycat's directory: the sandbox
    // could have pointed that entry at its own a moment before (made here: sbx refuses a link
    // from inside to where it may not write, link-targets.ts).
    symlinkSync(tools, join(pub, 'toolslink'));
    const viaLink = await inside(`PATH=${pub}/toolslink:$PATH envtool ${secret}; echo rc=$?`);
    expect(viaLink.stdout).not.toContain(SECRET);
    expect(viaLink.stderr).toMatch(/sbx: denied /);
    // helper-77 #06: a symlink of the user's in /tmp (a directory the user does not own) to
    // another system program: the check followed it and saw a root-owned file in a root-owned
    // place. (Made here: a link to a floor is refused from inside as root. As root /tmp is the
    // user's own: the unprivileged run is where this shows.)
    const tmpLink = `/tmp/mycat`;
    rmSync(tmpLink, { force: true });
    symlinkSync('/usr/bin/head', tmpLink);
    try {
      const viaTmp = await inside(`PATH=/tmp:$PATH envtool ${secret}; echo rc=$?`);
      expect(viaTmp.stdout).not.toContain(SECRET);
      expect(viaTmp.stderr).toMatch(/sbx: denied .*\/tmp\/mycat \(a file the sandbox may write/);
    } finally {
      rmSync(tmpLink, { force: true });
    }
    const rel = await inside(`PATH=pub/evil:$PATH envtool ${secret}; echo rc=$?`);
    expect(rel.stdout).not.toContain(SECRET);
    expect(rel.stderr).toMatch(/sbx: denied commands pub\/evil\/mycat \(found through a relative name: it runs under the session.s strictest policy, not a commands: override/);
  });

  // helper-79 #06: an exec that fails in the kernel left the process "just exec'd": its old
  // image, with the AT_EXECFN and environment its own code rewrote, was taken for the
  // script's interpreter and given the script's override.
  it("a program that makes itself look like envtool's interpreter and then fails an execve does not get envtool's override (twin: outside the same code reads the secret)", async () => {
    const pend = fixture('pend_preload');
    const env = `/usr/bin/${'/'.repeat(Math.max(0, join(tools, 'envtool').length))}env`;
    const run = (mode: string) => `PEND_MODE=${mode} PEND_EXECFN=${join(tools, 'envtool')} PEND_READ=${secret} LD_PRELOAD=${pend} ${env} true`;
    expect((await outside(run('fail'))).stdout).toContain(`pend: ${SECRET}`);
    for (const mode of ['fail', 'nofail']) {
      const r = await inside(run(mode));
      expect(r.stdout, mode).toContain('pend: denied');
      expect(r.stdout, mode).not.toContain(SECRET);
    }
    expectSecret(await inside(`envtool ${secret}`)); // the real script keeps it
  });

  it('a debugger that hides LD_PRELOAD after the loader read it and detaches before sbx looks: refused', async () => {
    const run = (mode: string) => `PRELOAD_READ=${secret} LD_PRELOAD=${preload} ${tamper} ${mode} mytool /dev/null; echo rc=$?`;
    // Outside: the library still runs in the child after its LD_PRELOAD was renamed.
    const o = await outside(run('poke'));
    expect(o.stderr).toMatch(/override_tamper: [1-9]\d* word\(s\) rewritten/);
    expect(o.stdout).toContain(`preload: ${SECRET}`);
    // Inside: the write into an image that gets an override is refused until sbx verified it
    // (and had it happened, the program would not get the override).
    const r = await inside(run('poke'));
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied proc ptrace \d+ \(its program gets a commands: override once sbx verifies it\)/);
  });

  it('a debugger that opens the new image\'s memory before sbx verified it and keeps the fd: outside it reads what the program read; inside the program does not get its override (twin below: peeking only, it does)', async () => {
    const keep = fixture('mem_keep');
    // tail -f reads the secret into its memory and stays.
    const run = (where: typeof inside) => where(`${keep} ${SECRET} ${join(tools, 'mytail')} -f ${secret} > /dev/null; echo rc=$?`);
    const o = await run(outside);
    expect(o.stderr).toContain(`READ FROM OVERRIDDEN PROCESS via kept fd`);
    const r = await run(inside);
    expect(r.stderr).not.toContain('READ FROM OVERRIDDEN PROCESS');
    expect(r.stderr).toMatch(/sbx: denied .*mytail.*opened or written by a debugger before sbx verified it/);
  });

  // helper-77 #09: the debugger's code forks before the image's first trapped call; the fork
  // child was met first and given the override its image names.
  it("a debugger writes code at the real mytool's entry that forks: outside the fork reads the secret; inside the write is refused before sbx verified mytool (twin: into a program without an override it is written, and its code runs under the base policy)", async () => {
    const poke = fixture('exec_poke_fork');
    const o = await outside(`${poke} ${secret} ${tools}/mytool`);
    expect(o.stdout).toContain(SECRET);
    const r = await inside(`${poke} ${secret} ${tools}/mytool; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied proc ptrace \d+ \(its program gets a commands: override once sbx verifies it\)/);
    const base = await inside(`${poke} ${secret} /bin/true; echo rc=$?`);
    expect(base.stdout).toContain('tracer: poked');
    expect(base.stdout).not.toContain(SECRET);
    expect(base.stderr).toMatch(/sbx: denied read .*data\.txt/);
  });

  // helper-77 #08: the planted program forks before its first trapped call; the fork was met
  // first and kept the override its parent's tag named.
  it('a planted program that forks before its first trapped call: outside its fork reads the secret; inside neither it nor its fork keeps the override; twin: the real mycat keeps it', async () => {
    mkdirSync(join(pub, 'forker'), { recursive: true });
    copyFileSync(fixture('fork_first'), join(pub, 'forker', 'mycat'));
    chmodSync(join(pub, 'forker', 'mycat'), 0o755);
    const o = await outside(`PATH=${pub}/forker:$PATH envtool ${secret}; sleep 1`);
    expect(o.stdout).toContain(`child: ${SECRET}`);
    const r = await inside(`PATH=${pub}/forker:$PATH envtool ${secret}; sleep 1; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toMatch(/sbx: denied .*forker\/mycat \(a file the sandbox may write/);
    expectSecret(await inside(`envtool ${secret}`));
  });

  it('the allowed twin: the same debugger stops and detaches without writing; the real mytool keeps its override', async () => {
    const r = await inside(`${tamper} nopoke mytool ${secret}; echo rc=$?`);
    expect(r.stdout).toContain(SECRET);
    expect(r.stdout).toContain('rc=0');
  });
});

// helper-79 #01: python finds its home (a venv's pyvenv.cfg, the site-packages whose .pth files
// it runs) beside what its argv[0] names — the first `python…` on PATH with an x bit, even one
// env or the shell skipped (`#!/nonexistent`) — not beside its image.
describe("a python under an override reads its home where its argv[0] leads, not only beside its image", () => {
  const pyPolicy = join(world.dir, 'py-policy.yaml');
  const venv = join(pub, 'venv'); // writable inside: a fake venv with a .pth that reads the secret
  const pyInside = (script: string) => sbxExec(['--policy', pyPolicy, '--', 'sh', '-c', script], { env, cwd: world.dir });
  beforeAll(() => {
    copyFileSync('/usr/bin/python3', join(tools, 'python3x')); // the override's program: a real python
    chmodSync(join(tools, 'python3x'), 0o755);
    writeFileSync(pyPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["pub", "/tmp"] }\ncommands:\n  python3x: { read: { allow: ["secret/data.txt"] } }\n`);
    // python takes the executable's directory's parent for its prefix (a venv's bin/..).
    const site = join(pub, 'lib', `python3.${pyMinor()}`, 'site-packages');
    mkdirSync(site, { recursive: true });
    mkdirSync(venv);
    writeFileSync(join(venv, 'python3x'), '#!/nonexistent\n'); // skipped by the shell's PATH search, found by python's
    chmodSync(join(venv, 'python3x'), 0o755);
    writeFileSync(join(venv, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\n');
    writeFileSync(join(site, 'evil.pth'), `import sys; sys.stdout.write('planted: ' + open(${JSON.stringify(secret)}).read())\n`);
  });
  const readSecret = `python3x -c 'import sys; sys.stdout.write("real: " + open(${JSON.stringify(secret)}).read())'`;
  const viaArgv0 = `python3 -c 'import os; os.execv("${tools}/python3x", ["${venv}/python3x", "-c", "pass"])'`;

  it('outside, both tricks run the planted .pth (the fixture works)', async () => {
    expect((await outside(`PATH=${venv}:$PATH python3x -c pass`)).stdout).toContain(`planted: ${SECRET}`);
    expect((await outside(viaArgv0)).stdout).toContain(`planted: ${SECRET}`);
  });

  it('inside, a python found after a writable PATH entry, or given an argv[0] there, runs under the strictest policy; twins: the real one, with a writable entry after its own, keeps the override', async () => {
    const r = await pyInside(`PATH=${venv}:$PATH python3x -c pass; echo rc=$?`);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`sbx: denied commands ${venv}/python3x (where python's argv[0] leads, a place the sandbox may write`);
    const a = await pyInside(`${viaArgv0}; echo rc=$?`);
    expect(a.stdout).not.toContain(SECRET);
    expect(a.stderr).toContain(`sbx: denied commands ${venv}/python3x (where python's argv[0] leads`);
    expect((await pyInside(readSecret)).stdout).toContain(`real: ${SECRET}`);
    expect((await pyInside(`PATH=${tools}:${venv}:$PATH ${readSecret}`)).stdout).toContain(`real: ${SECRET}`);
  });

  // helper-82 (lead): python also reads a pyvenv.cfg one directory above its own, and looks for
  // its standard library in every directory above it: a python in a bin/ the sandbox cannot
  // write, below a directory where it can make pyvenv.cfg and lib/, runs the .pth put there.
  it('a python whose bin/ the sandbox cannot write, but whose parent can get a pyvenv.cfg and lib/: the strictest policy; twin: where the parent is not writable, the override', async () => {
    const home = join(world.dir, 'pyhome');
    const site = join(home, 'lib', `python3.${pyMinor()}`, 'site-packages');
    mkdirSync(join(home, 'bin'), { recursive: true });
    copyFileSync('/usr/bin/python3', join(home, 'bin', 'python3y'));
    chmodSync(join(home, 'bin', 'python3y'), 0o755);
    const policy = (writes: string) =>
      `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: [${writes}] }\ncommands:\n  python3y: { read: { allow: ["secret/data.txt"] } }\n`;
    writeFileSync(join(world.dir, 'pyhome-open.yaml'), policy('"/tmp", "pyhome/pyvenv.cfg", "pyhome/lib"'));
    writeFileSync(join(world.dir, 'pyhome-shut.yaml'), policy('"/tmp"'));
    const plant = `mkdir -p ${site} && printf 'home = /usr/bin\\n' > ${home}/pyvenv.cfg && echo "import sys; sys.stdout.write('planted: ' + open('${secret}').read())" > ${site}/evil.pth`;
    const py = 'python3y -c pass; echo rc=$?';
    const pyEnv = { ...env, PATH: `${home}/bin:${env.PATH}` }; // the policy's build finds python3y there
    const open = (script: string) => sbxExec(['--policy', join(world.dir, 'pyhome-open.yaml'), '--', 'sh', '-c', script], { env: pyEnv, cwd: world.dir });
    const shut = (script: string) => sbxExec(['--policy', join(world.dir, 'pyhome-shut.yaml'), '--', 'sh', '-c', script], { env: pyEnv, cwd: world.dir });
    // Before anything is planted, the twin: the parent shut, the override (it reads the secret).
    const tw = await shut(`python3y -c 'import sys; sys.stdout.write("real: " + open(${JSON.stringify(secret)}).read())'`); expect(tw.stdout, tw.stderr).toContain(`real: ${SECRET}`);
    const r = await open(`${plant} && ${py}`);
    expect(r.stdout, r.stderr).toContain('rc=');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`sbx: denied commands ${home}/pyvenv.cfg (where python's argv[0] leads`);
    expect((await run('sh', ['-c', py], { env: pyEnv, cwd: world.dir })).stdout).toContain(`planted: ${SECRET}`); // what it would have run
  });
});

// helper-79 #07: a program in a directory of someone else's that is writable to the sandbox's
// user and not sticky: not the sandbox's file, but one rename away from being replaced by it
// (a race 20 of 150 tries won). Root only: the fixture is another user's directory. A sandbox
// started as root keeps CAP_DAC_OVERRIDE and CAP_FOWNER, so neither mode bits nor a sticky
// bit stop it: wherever its policy lets it write, such a program is one it may have written.
describe.runIf(process.getuid?.() === 0)("a program in another user's directory under an override, as root", () => {
  const other = join(world.dir, 'other'); // nobody's
  const wwPolicy = join(world.dir, 'ww-policy.yaml');
  const wwInside = (script: string) => sbxExec(['--policy', wwPolicy, '--', 'sh', '-c', script], { env, cwd: world.dir });
  beforeAll(() => {
    mkdirSync(other);
    const fixtures = [['ww', 0o777, 0o755], ['sticky', 0o1777, 0o755], ['gw', 0o755, 0o777], ['ro', 0o755, 0o755]] as const;
    for (const [dir, mode, fileMode] of fixtures) {
      mkdirSync(join(other, dir));
      copyFileSync('/bin/cat', join(other, dir, 'mycat'));
      chmodSync(join(other, dir, 'mycat'), fileMode);
      chownSync(join(other, dir, 'mycat'), 65534, 65534);
      chownSync(join(other, dir), 65534, 65534);
      chmodSync(join(other, dir), mode);
    }
    chownSync(other, 65534, 65534);
    writeFileSync(wwPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["other/ww", "other/sticky", "other/gw", "/tmp"] }\ncommands:\n  envtool: { read: { allow: ["secret/data.txt"] } }\n`);
  });

  it('world-writable, sticky, or a program whose bits let us write it, where the policy writes: the strictest policy; twin: the same program where the policy does not write keeps the override', async () => {
    for (const dir of ['ww', 'sticky', 'gw']) {
      const r = await wwInside(`PATH=${other}/${dir}:$PATH envtool ${secret}; echo rc=$?`);
      expect(r.stdout, dir).not.toContain(SECRET);
      expect(r.stderr).toContain(`sbx: denied commands ${other}/${dir}/mycat (a file the sandbox may write`);
    }
    expectSecret(await wwInside(`PATH=${other}/ro:$PATH envtool ${secret}`));
  });
});

// helper-85 #10: a pager or editor the override's program runs does what its terminal or stdin
// types (`PAGER=vim` read the paged text as commands; less's `!` on a pty the sandbox made its
// terminal): it runs under the policy the override came from. By the image's name: a copy of
// cat named less stands in for one (less may not be installed, and its commands need a tty).
describe('a pager or editor an override program runs', () => {
  const pgPolicy = join(world.dir, 'pg-policy.yaml');
  const pgInside = (script: string) => sbxExec(['--policy', pgPolicy, '--', 'sh', '-c', script], { env, cwd: world.dir });
  beforeAll(() => {
    mkdirSync(join(tools, 'pg'));
    copyFileSync('/bin/cat', join(tools, 'pg', 'less'));
    chmodSync(join(tools, 'pg', 'less'), 0o755);
    writeFileSync(join(tools, 'pagetool'), `#!/bin/sh\nprintf 'direct: '; cat "$1"\nprintf 'paged: '; ${tools}/pg/less "$1"\n`);
    chmodSync(join(tools, 'pagetool'), 0o755);
    writeFileSync(pgPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["pub", "/tmp"] }\ncommands:\n  pagetool: { read: { allow: ["secret/data.txt"] } }\n`);
  });

  it('runs under the policy the override came from (twin: the override program itself reads the file)', async () => {
    const r = await pgInside(`pagetool ${secret}`);
    expect(r.stdout, r.stderr).toContain(`direct: ${SECRET}`);
    expect(r.stdout).not.toContain(`paged: ${SECRET}`);
    expect(r.stderr).toContain(`sbx: denied read ${secret}`);
  });
});

// Whether an exec replaced a process's address space decides whether what its memory says
// (AT_EXECFN: which script an interpreter runs) is the kernel's or the process's own.
describe('an exec taken for what it is not', () => {
  const vfPolicy = join(world.dir, 'vf-policy.yaml');
  // A python that rewrites its own AT_EXECFN to name the script argv[1] (an override's): what
  // sbx must never trust unless the kernel wrote it by an exec.
  const claimsScript = [
    'import ctypes, os, sys, threading, time',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'libc.getauxval.restype = ctypes.c_ulong',
    'libc.getauxval.argtypes = [ctypes.c_ulong]',
    'tool = sys.argv[1].encode() + b"\\0"',
    'fn = libc.getauxval(31)  # AT_EXECFN',
    'ctypes.memmove(fn, tool, len(tool))  # now names the override script',
  ];
  const vfInside = (script: string) => sbxExec(['--policy', vfPolicy, '--', 'sh', '-c', script], { env, cwd: world.dir });
  beforeAll(() => {
    // `${tools}/vfscript` and `${pub}/bin77/grep` are the same length, as are the tool's argv
    // (f bbb ccc) and the one dash gives grep (-n TODO f): with ASLR off the two images look alike.
    writeFileSync(join(tools, 'vfscript'), `#!/bin/sh\ngrep -n TODO "$1"\nprintf 'tool: '; cat ${secret}\n`);
    chmodSync(join(tools, 'vfscript'), 0o755);
    writeFileSync(join(tools, 'pytool'), `#!/usr/bin/python3\nprint('pytool: ' + open(${JSON.stringify(secret)}).read())\n`);
    chmodSync(join(tools, 'pytool'), 0o755);
    mkdirSync(join(pub, 'bin77'));
    writeFileSync(join(pub, 'bin77', 'grep'), `#!/bin/sh\nprintf 'planted: '; cat ${secret}\n`);
    chmodSync(join(pub, 'bin77', 'grep'), 0o755);
    writeFileSync(join(world.dir, 'f'), 'TODO: x\n');
    writeFileSync(
      join(pub, 'leader.py'),
      [
        ...claimsScript,
        'def t():',
        '    time.sleep(0.3)',
        '    try: os.execv(sys.argv[2], ["bad"])  # allowed by sbx, refused by the kernel (ENOEXEC)',
        '    except OSError as e: print("exec failed", flush=True)',
        '    time.sleep(0.6)  # the main thread exits meanwhile',
        '    try: print("secret: " + open(sys.argv[3]).read(), flush=True)',
        '    except OSError as e: print("secret refused", flush=True)',
        '    os._exit(0)',
        'threading.Thread(target=t).start()',
        'time.sleep(0.5)',
        'libc.syscall(60, 0)  # SYS_exit: the main thread alone',
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(pub, 'vfx.py'),
      [
        ...claimsScript,
        'lib = ctypes.CDLL(sys.argv[4])',
        'def t():',
        '    time.sleep(0.7)',
        '    os.execv("/bin/sleep", ["sleep", "2"])  # another thread: a new address space for the parent',
        'threading.Thread(target=t).start()',
        'time.sleep(0.2)',
        'lib.vfork_fail(sys.argv[2].encode(), sys.argv[3].encode(), 2)',
        'time.sleep(3)',
      ].join('\n') + '\n',
    );
    writeFileSync(join(pub, 'bad'), 'not a program\n');
    chmodSync(join(pub, 'bad'), 0o755);
    writeFileSync(vfPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["pub", "/tmp"] }\ncommands:\n  vfscript: { read: { allow: ["secret/data.txt"] } }\n  pytool: { read: { allow: ["secret/data.txt"] } }\n`);
  });

  // helper-85 #09: dash vforks for grep; the child's old address space lives on in dash, and
  // with ASLR off its layout matched: the exec was taken for a failed one, and the planted
  // grep script kept vfscript's override. Now the child is compared with its parent (kcmp).
  it("a vfork child's exec with ASLR off and matching sizes: the planted script gets no override (outside it runs; twin: the tool's own read)", async () => {
    const cmd = `PATH=${pub}/bin77:$PATH setarch -R vfscript f bbb ccc`;
    expect((await outside(cmd)).stdout).toContain(`planted: ${SECRET}`);
    const r = await vfInside(cmd);
    expect(r.stdout, r.stderr).toContain(`tool: ${SECRET}`);
    expect(r.stdout).not.toContain(`planted: ${SECRET}`);
  });

  // helper-85 #12: a failed exec, then the main thread exits: the leader's /proc entries went
  // blank, the layout fingerprint "changed", and AT_EXECFN — rewritten by the process — was
  // trusted: the sandbox's python got pytool's override.
  it('a failed exec whose main thread exits meanwhile is not taken for an exec (twin: the real pytool reads the secret)', async () => {
    const python = `/usr/bin/${'./'.repeat(24)}python3`;
    const r = await vfInside(`${python} ${pub}/leader.py ${tools}/pytool ${pub}/bad ${secret}`);
    expect(r.stdout, r.stderr).toContain('exec failed');
    expect(r.stdout).toContain('secret refused');
    expect(r.stdout).not.toContain(SECRET);
    expect((await vfInside('pytool')).stdout).toContain(`pytool: ${SECRET}`);
  });

  // helper-86 #14: a vfork child's exec fails; another thread of its parent execs meanwhile:
  // the child no longer shared its parent's address space (kcmp), and was taken for exec'd.
  it("a vfork child's failed exec is not taken for one when its parent execs meanwhile (twin: the real pytool, above)", async () => {
    const python = `/usr/bin/${'./'.repeat(24)}python3`;
    const r = await vfInside(`${python} ${pub}/vfx.py ${tools}/pytool ${pub}/bad ${secret} ${fixture('vfork_fail_lib')}; sleep 2.5`);
    expect(r.stdout, r.stderr).toContain('child: exec failed');
    expect(r.stdout).toContain('child: secret refused');
    expect(r.stdout).not.toContain(SECRET);
  });
});

// helper-84 #07: an override's program that has another name (a hard link: pnpm's store, uv's
// cache, `cp -al`) in a place the sandbox writes is written through that name; the next
// session gave what the sandbox wrote the override. Root's own files are exempt for a root
// sandbox (dpkg's hard links): as root the fixture is nobody's.
describe('a program with a hard link where the sandbox writes', () => {
  const hl = join(world.dir, 'hltools');
  const hlPolicy = join(world.dir, 'hl-policy.yaml');
  const hlEnv = { ...env, PATH: `${hl}:${env.PATH}` };
  const hlInside = (script: string) => sbxExec(['--policy', hlPolicy, '--', 'sh', '-c', script], { env: hlEnv, cwd: world.dir });
  beforeAll(() => {
    mkdirSync(hl);
    for (const tool of ['hltool', 'hltool2']) {
      copyFileSync('/bin/cat', join(hl, tool));
      chmodSync(join(hl, tool), 0o755);
      if (process.getuid?.() === 0) chownSync(join(hl, tool), 65534, 65534);
    }
    linkSync(join(hl, 'hltool'), join(pub, 'hl-link'));
    writeFileSync(hlPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["pub", "/tmp"] }\ncommands:\n  hltool: { read: { allow: ["secret/data.txt"] } }\n  hltool2: { read: { allow: ["secret/data.txt"] } }\n`);
  });

  it('runs under the strictest policy (inside, the link is written); twin: the same program without one keeps the override', async () => {
    const r = await hlInside(`test -w ${pub}/hl-link && echo link-writable; hltool ${secret}; echo rc=$?`);
    expect(r.stdout, r.stderr).toContain('link-writable');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`sbx: denied commands ${hl}/hltool (a program the sandbox may write`);
    expectSecret(await hlInside(`hltool2 ${secret}`));
  });
});

// helper-82 #05: a tool of root's shared with the sandbox's user by a POSIX ACL entry
// (`setfacl -m u:NAME:rwx`): its mode bits say "not yours to write", the kernel lets the
// sandbox rewrite it in place, and the next session gave the rewrite its override. Run as
// nobody (setpriv) from the root run: the ACL names nobody, and root may write everything.
describe.runIf(process.getuid?.() === 0)('a tool another user shares by a POSIX ACL entry, under an override', () => {
  const NOBODY = 65534;
  // Made when the describe runs (a filtered run collects it without running its hooks).
  let acl: ReturnType<typeof tempWorld>;
  let teamBin = '';
  let aclSecret = '';
  let aclPolicy = '';
  const asNobody = (script: string) =>
    run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, sbxBin, 'exec', '--policy', aclPolicy, '--', 'sh', '-c', script], {
      env: { ...acl.env, USER: 'nobody', PATH: `${teamBin}:${acl.env.PATH}` },
      cwd: acl.dir,
    });
  beforeAll(() => {
    acl = tempWorld('sbx-acl-');
    teamBin = join(acl.dir, 'team', 'bin');
    aclSecret = join(acl.dir, 'secret', 'data.txt');
    aclPolicy = join(acl.dir, 'policy.yaml');
    mkdirSync(teamBin, { recursive: true });
    mkdirSync(join(acl.dir, 'secret'));
    writeFileSync(aclSecret, `${SECRET}\n`);
    for (const tool of ['acltool', 'plaintool']) {
      copyFileSync('/bin/cat', join(teamBin, tool));
      chmodSync(join(teamBin, tool), 0o755);
    }
    // u::rwx u:nobody:rwx g::r-x m::rwx o::r-x (the xattr setfacl writes; setfacl may be missing).
    execFileSync('python3', ['-c', `import os,struct
e=[(1,7,0xffffffff),(2,7,${NOBODY}),(4,5,0xffffffff),(0x10,7,0xffffffff),(0x20,5,0xffffffff)]
os.setxattr(${JSON.stringify(join(teamBin, 'acltool'))},'system.posix_acl_access',struct.pack('<I',2)+b''.join(struct.pack('<HHI',*x) for x in e))`]);
    writeFileSync(aclPolicy, `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["team", "/tmp"] }\ncommands:\n  acltool: { read: { allow: ["secret/data.txt"] } }\n  plaintool: { read: { allow: ["secret/data.txt"] } }\n`);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, acl.dir]);
    // root's: the world's directory, the team's and its tools (nobody renames none of them).
    for (const f of [acl.dir, join(acl.dir, 'team'), teamBin, join(teamBin, 'acltool'), join(teamBin, 'plaintool')]) chownSync(f, 0, 0);
    chmodSync(acl.dir, 0o755); // mkdtemp's 0700, now root's: nobody must get through it
  });
  afterAll(() => acl.cleanup());

  it('runs under the strictest policy (outside, nobody writes it); twin: the same tool without the ACL keeps the override', async () => {
    const outside = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', `test -w ${teamBin}/acltool && echo acl-writable; test -w ${teamBin}/plaintool || echo plain-not-writable`], { env: acl.env, cwd: acl.dir });
    expect(outside.stdout).toContain('acl-writable');
    expect(outside.stdout).toContain('plain-not-writable');
    const r = await asNobody(`acltool ${aclSecret}; echo rc=$?`);
    expect(r.stdout, r.stderr).toContain('rc=');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).toContain(`sbx: denied commands ${teamBin}/acltool (a program the sandbox may write`);
    const twin = await asNobody(`plaintool ${aclSecret}`);
    expect(twin.stdout, twin.stderr).toContain(SECRET);
  });
});

// helper-80 #07: a seccomp filter the sandbox added stays on the override program it execs
// and answers before sbx (an errno of 0 made chdir() "succeed" without moving it).
describe('a filter or ruleset of its own, where an override can start', () => {
  const selfFilter = fixture('self_filter');
  it('seccomp(), prctl(PR_SET_SECCOMP) and landlock_restrict_self are refused under a policy with commands: (outside they work); twin: under a policy without overrides they work', async () => {
    const all = `for h in seccomp prctl landlock; do ${selfFilter} $h; done`;
    const o = await outside(all);
    for (const h of ['seccomp', 'prctl', 'landlock']) expect(o.stdout).toContain(`${h}: ok`);
    const r = await inside(all);
    for (const h of ['seccomp', 'prctl', 'landlock']) expect(r.stdout).toContain(`${h}: EPERM`);
    expect(r.stderr).toContain('sbx: denied proc seccomp/landlock (a filter of its own where a commands: override can start');
    const plain = await sbxExec(['--', 'sh', '-c', all], { env, cwd: world.dir });
    for (const h of ['seccomp', 'prctl', 'landlock']) expect(plain.stdout, plain.stderr).toContain(`${h}: ok`);
  });
});

// helper-81 #02: another override of the same policy can write where an override's program
// is (`cp` may write tools2/): a sandboxed `cp` replaces it, and the next session gave the
// replacement that program's override.
describe("a program another override may write", () => {
  const sibPolicy = join(world.dir, 'sib-policy.yaml');
  const tools2 = join(world.dir, 'tools2');
  const sibInside = (script: string) => sbxExec(['--policy', sibPolicy, '--', 'sh', '-c', script], { env, cwd: world.dir });
  beforeAll(() => {
    mkdirSync(tools2);
    copyFileSync('/bin/cat', join(tools2, 'tooly'));
    chmodSync(join(tools2, 'tooly'), 0o755);
    writeFileSync(
      sibPolicy,
      `version: 1\nread: { deny: ["secret"] }\nwrite: { allow: ["/tmp"] }\ncommands:\n  cp: { write: { allow: ["tools2"] } }\n` +
        `  ${JSON.stringify(join(tools2, 'tooly'))}: { read: { allow: ["secret/data.txt"] } }\n  mytool: { read: { allow: ["secret/data.txt"] } }\n`,
    );
  });

  it('runs under the strictest policy, not its override; twin: mytool, which no override may write, keeps its own', async () => {
    const r = await sibInside(`${tools2}/tooly ${secret}`);
    expectNoSecret(r);
    expect(r.stderr).toContain(`sbx: denied commands ${tools2}/tooly (a program the sandbox may write`);
    expectSecret(await sibInside(`mytool ${secret}`));
  });
});

// helper-81 #01: a program a sandbox planted where the session may write (a project's bin/,
// recorded for mytool's override because it is on the caller's PATH) was run under a nested
// `sbx exec --deny-write`: asked only of the nested policy, which cannot write there, it
// looked unplanted and got its override. "May the sandbox have written it" asks every policy
// it runs within. Nested policies are made by a supervisor: one is started here when this
// file runs `sbx exec` in its own process (SBX_TEST_OWN_PROCESS=1, the unprivileged CI run).
describe('a program planted where the outer session writes, run under a nested sbx exec that cannot write there', () => {
  // In pub (under /var/tmp), not /tmp: --deny-write keeps /tmp writable, so there the nested
  // policy alone would count the program as planted and the check would hold before the fix too.
  const nbin = join(pub, 'nested-bin');
  const late = { ...env, PATH: `${env.PATH}:${nbin}` };
  const ownSupervisor = process.env.SBX_TEST_OWN_PROCESS === '1';
  const nested = (program: string) =>
    sbxExec(['--policy', policyFile, '--', 'sh', '-c', `${sbxBin} exec -q --deny-write -- ${program} ${secret}`], { env: late, cwd: world.dir });
  beforeAll(async () => {
    mkdirSync(nbin);
    copyFileSync('/bin/cat', join(nbin, 'mytool'));
    chmodSync(join(nbin, 'mytool'), 0o755);
    if (ownSupervisor) expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
  });
  afterAll(async () => {
    if (ownSupervisor) await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
  });

  it('does not get its override (outside it reads the secret); twin: the real mytool under the same nested exec keeps it', async () => {
    expectSecret(await run(join(nbin, 'mytool'), [secret], { env: late, cwd: world.dir }));
    const r = await nested(join(nbin, 'mytool'));
    expectNoSecret(r);
    expect(r.stderr).toContain(`sbx: denied commands ${nbin}/mytool (a program the sandbox may write`);
    expectSecret(await nested('mytool'));
  });
});

// helper-87 lead 2: a server a program under an override runs (an agent its tool starts)
// would run for any program of the session what only the override may do.
describe('a server a program under an override runs', () => {
  const sock = join(pub, 'override-server.sock');
  const serve = (clients: string) =>
    inside(
      [
        `myserver serve ${sock} >/dev/null & s=$!`,
        `for i in $(seq 50); do myserver run ${sock} true >/dev/null && break; sleep 0.1; done`,
        clients,
        // the server is the override's: the base policy may not signal it, its own command may
        `myserver run ${sock} 'kill $PPID' >/dev/null; wait $s`,
      ].join('\n'),
    );
  afterAll(() => rmSync(sock, { force: true }));

  it('serves its own override only: a program under the base policy is refused; twin: the override program as client reads the secret through it', async () => {
    const leak = join(pub, 'leak-base');
    const own = join(pub, 'leak-own');
    const r = await serve(`echo "base $(${fixture('cmd_server')} run ${sock} 'cat ${secret} > ${leak}')"; echo "own $(myserver run ${sock} 'cat ${secret} > ${own}')"`);
    expect(r.stdout).toMatch(/^base error connect: Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied unix .*override-server\.sock \(a server a commands: override runs: it serves that override's programs only\)/);
    expect(r.stdout).toMatch(/^own ok ran: /m);
    expect(readFileSync(own, 'utf8')).toContain(SECRET);
    expect(existsSync(leak)).toBe(false);
  });

  // The other way round: a server the sandbox runs would be handed what the override reads
  // (a psql override sends ~/.pgpass's password to whatever serves its socket).
  it("an override program does not reach a server the base policy runs; twin: a base-policy client does", async () => {
    const base = join(pub, 'base-server.sock');
    const cmd = fixture('cmd_server');
    const r = await inside(
      [
        `${cmd} serve ${base} >/dev/null & s=$!`,
        `for i in $(seq 50); do ${cmd} run ${base} true >/dev/null && break; sleep 0.1; done`,
        `echo "override $(myserver run ${base} true)"`,
        `echo "base $(${cmd} run ${base} true)"`,
        'kill $s; wait $s',
      ].join('\n'),
    );
    rmSync(base, { force: true });
    expect(r.stdout).toMatch(/^override error connect: Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied unix .*base-server\.sock \(a server of this session outside this commands: override/);
    expect(r.stdout).toMatch(/^base ok ran: true/m);
  });

  // The same on loopback TCP (a database's port): both ways.
  // `server` serves on a port of its choosing (`serve`, or the mode given); `quitWith $P quit
  // [ADDR]` ends it.
  const tcpServe = (server: string, clients: string, quitWith: string, quitAddr = '') =>
    inside(
      [
        `rm -f ${pub}/tcp-port; ${server.includes(' ') ? server : `${server} serve`} 0 > ${pub}/tcp-port & s=$!`,
        `until grep -q listening ${pub}/tcp-port 2>/dev/null; do sleep 0.05; done; P=$(cut -d' ' -f2 ${pub}/tcp-port)`,
        clients,
        `${quitWith} $P quit ${quitAddr} >/dev/null; wait $s`,
      ].join('\n'),
    );
  it('a TCP server an override program runs on loopback serves that override only; twin: the override program as client reads the secret', async () => {
    const r = await tcpServe('tcptool', `echo "base $(${pub}/tcpbase get $P ${secret})"; echo "own $(tcptool get $P ${secret})"`, 'tcptool get');
    expect(r.stdout).toMatch(/^base error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server a commands: override runs/);
    expect(r.stdout).toContain(`own got ${SECRET}`);
  });

  // helper-89 #04: the kernel delivers a broadcast (or multicast) datagram to local sockets too.
  it("a broadcast datagram to an override's UDP server is refused like one to its address; twin: the override program's own", async () => {
    const r = await tcpServe(
      'tcptool userve',
      `echo "base $(${pub}/tcpbase uget $P ${secret} 255.255.255.255)"; echo "base-lo $(${pub}/tcpbase uget $P ${secret} 127.0.0.1)"; echo "own $(tcptool uget $P ${secret} 127.0.0.1)"`,
      'tcptool uget',
      '127.0.0.1',
    );
    expect(r.stdout).toMatch(/^base error \[Errno 13\] Permission denied/m);
    expect(r.stdout).toMatch(/^base-lo error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net 255\.255\.255\.255:\d+ \(a server a commands: override runs/);
    expect(r.stdout).toContain(`own got ${SECRET}`);
  });

  // helper-89 #03: sbx's filtering proxy connects for the sandbox, as the supervisor.
  it("sbx's filtering proxy does not connect a base program to the override's TCP server; twin: the override program's own direct connect", async () => {
    const viaProxy = (script: string) =>
      sbxExec(['--policy', policyFile, '--allow-net=*.wild.test', '--allow-net=127.0.0.1', '--', 'sh', '-c', script], { env, cwd: world.dir });
    const r = await viaProxy(
      [
        `rm -f ${pub}/tcp-port; tcptool serve 0 > ${pub}/tcp-port & s=$!`,
        `until grep -q listening ${pub}/tcp-port 2>/dev/null; do sleep 0.05; done; P=$(cut -d' ' -f2 ${pub}/tcp-port)`,
        `echo "proxied $(${pub}/tcpbase pget $P ${secret})"; echo "own $(tcptool get $P ${secret})"`,
        'tcptool get $P quit >/dev/null; wait $s',
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/^proxied refused HTTP\/1\.1 403/m);
    expect(r.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ via proxy .*a server a commands: override runs/);
    expect(r.stdout).toContain(`own got ${SECRET}`);
  });

  // helper-90 #01: which server a connect reaches is the kernel's pick by address, not the
  // first the session bound on the port.
  it("a base program's decoy on 127.0.0.1:P does not open the override's server on [::1]:P; twin: the decoy itself is reached", async () => {
    // P is the port the kernel gave the override's server on ::1; on 127.0.0.1 a client socket
    // of anyone on the machine may hold it already: then another pair is tried.
    const r = await inside(
      [
        'for try in 1 2 3 4 5; do',
        `  rm -f ${pub}/tcp-port ${pub}/decoy-port; tcptool serve6 0 > ${pub}/tcp-port & s=$!`,
        `  until grep -q listening ${pub}/tcp-port 2>/dev/null; do sleep 0.05; done; P=$(cut -d' ' -f2 ${pub}/tcp-port)`,
        `  ${pub}/tcpbase serve $P > ${pub}/decoy-port & d=$!`,
        `  until grep -q listening ${pub}/decoy-port 2>/dev/null || ! kill -0 $d 2>/dev/null; do sleep 0.05; done`,
        `  grep -q listening ${pub}/decoy-port && break`,
        `  tcptool get6 $P quit >/dev/null; wait $s`,
        'done',
        `echo "base6 $(${pub}/tcpbase get6 $P ${secret})"`,
        `echo "decoy $(${pub}/tcpbase get $P /etc/hostname)"`,
        `${pub}/tcpbase get $P quit >/dev/null; wait $d`,
        `tcptool get6 $P quit >/dev/null; wait $s`,
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/^base6 error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net \[::1\]:\d+ \(a server a commands: override runs/);
    expect(r.stdout).toMatch(/^decoy got \S/m);
  });

  // helper-96 #01: the kernel's own lookup was asked as if the packet arrived on lo; IPv6
  // delivers one to an interface's address as arriving on that interface, so a server bound to
  // a scoped link-local address (which binds the device too) was not found, and an override's
  // program reached the base program's server.
  it("an override's program does not reach a base program's server on a scoped link-local address; twin: a base program does", async (ctx) => {
    const { networkInterfaces } = await import('node:os');
    const ll = Object.entries(networkInterfaces()).flatMap(([name, addrs]) =>
      (addrs ?? []).filter((a) => a.family === 'IPv6' && a.address.startsWith('fe80:')).map((a) => `${a.address}%${name}`),
    )[0];
    if (!ll) return ctx.skip('not applicable: no interface here has an IPv6 link-local address');
    const r = await inside(
      [
        `rm -f ${pub}/ll-port; ${pub}/tcpbase aserve 0 ${ll} > ${pub}/ll-port & s=$!`,
        `until grep -q listening ${pub}/ll-port 2>/dev/null || ! kill -0 $s 2>/dev/null; do sleep 0.05; done; P=$(cut -d' ' -f2 ${pub}/ll-port)`,
        `echo "override $(tcptool aget $P ${ll} /etc/hostname)"`,
        `echo "base $(${pub}/tcpbase aget $P ${ll} /etc/hostname)"`,
        `${pub}/tcpbase aget $P ${ll} quit >/dev/null; wait $s`,
      ].join('\n'),
    );
    expect(r.stdout, r.stderr).toMatch(/^override error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net \[fe80:[^\]]*\]:\d+ \(a server of this session outside this commands: override/);
    expect(r.stdout).toMatch(/^base got \S/m);
  });

  // helper-90 #03: the kernel gives an unbound UDP socket its port at the first send.
  it("a UDP socket that got its port from its first send is the session's: an override program's datagram to it is refused; twin: a base program's is answered", async () => {
    const r = await tcpServe(
      `${pub}/tcpbase ulisten`,
      `echo "base $(${pub}/tcpbase uget $P hello 127.0.0.1)"; echo "override $(tcptool uget $P hello 127.0.0.1)"`,
      `${pub}/tcpbase uget`,
      '127.0.0.1',
    );
    expect(r.stdout).toMatch(/^base got heard hello/m);
    expect(r.stdout).toMatch(/^override error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server of this session outside this commands: override/);
  });

  // helper-91 #02: a connected UDP socket sends with no decision of its own; its destination
  // was decided at its connect, when nothing served there yet.
  it("an override's UDP server cannot bind a port a base program's socket is already connected to; twin: a base server can", async () => {
    const connectedThenServed = (server: string, path: string) =>
      inside(
        [
          `P=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')`,
          `rm -f ${pub}/uconn; ${pub}/tcpbase uconn $P ${path} > ${pub}/uconn & c=$!`,
          `until grep -q connected ${pub}/uconn 2>/dev/null; do sleep 0.05; done`,
          `echo "server $(${server} userve $P | head -1)" &`,
          `wait $c; cat ${pub}/uconn; wait`,
        ].join('\n'),
      );
    const r = await connectedThenServed('tcptool', secret);
    expect(r.stdout).toMatch(/^server error \[Errno 98\] Address already in use/m);
    expect(r.stderr).toMatch(/sbx: denied net bind 0\.0\.0\.0:\d+ \(a socket of an sbx session across a commands: override's boundary is connected to it/);
    expect(r.stdout).toMatch(/^no answer$/m);
    const twin = await connectedThenServed(`${pub}/tcpbase`, '/etc/hostname');
    expect(twin.stdout).toMatch(/^server listening \d+/m);
    expect(twin.stdout).toMatch(/^got \S/m);
  });

  // A base program connecting again and again while the override's agent starts to listen
  // got through between the boundary's check and its connect (the agent's listen came in
  // between). The check and the connect are one step now, and so are a bind or listen and
  // its record.
  it("a base program retrying its connect while the override's server starts listening again and again never reaches it; twin: the override program's own retries do", async () => {
    const P = 20000 + Math.floor(Math.random() * 12000); // below the kernel's ephemeral range: no client's port
    const race = (client: string) => inside(`tcptool cycle ${P} 3 ${secret} & ${client} hammer ${P} 3; wait`);
    const r = await race(`${pub}/tcpbase`);
    expect(r.stdout).toMatch(/^nothing after \d+/m);
    expect(r.stdout).not.toContain(SECRET);
    expect(Number(/^nothing after (\d+)/m.exec(r.stdout)?.[1])).toBeGreaterThan(100);
    expect(r.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server a commands: override runs/);
    const twin = await race('tcptool');
    expect(twin.stdout).toContain(`got ${SECRET}`);
  });

  // The same through sbx's filtering proxy: it asked whether an override's server was there,
  // then connected later (a name to resolve, a connect in JavaScript).
  it("a base program retrying a CONNECT through sbx's proxy while the override's server starts listening again and again never reaches it; twin: a base server is reached through the proxy", async () => {
    const P = 20000 + Math.floor(Math.random() * 12000); // below the kernel's ephemeral range: no client's port
    const viaProxy = (script: string) =>
      sbxExec(['--policy', policyFile, '--allow-net=*.wild.test', '--allow-net=127.0.0.1', '--', 'sh', '-c', script], { env, cwd: world.dir });
    const r = await viaProxy(`tcptool cycle ${P} 3 ${secret} & ${pub}/tcpbase phammer ${P} 3; wait`);
    expect(r.stdout).toMatch(/^nothing after \d+/m);
    expect(r.stdout).not.toContain(SECRET);
    const twin = await viaProxy(`${pub}/tcpbase cycle ${P} 3 /etc/hostname & ${pub}/tcpbase phammer ${P} 3; wait`);
    expect(twin.stdout).toMatch(/^got \S+ after \d+/m);
  });

  // The record of what sessions bound had a bound, beyond which the oldest were forgotten: a
  // base program that sent from 5,000 fresh UDP sockets pushed the override's server out of
  // it, and the server passed for one outside sbx. Closed sockets are forgotten, open ones never.
  it("a base program that binds tens of thousands of sockets does not make sbx forget the override's server; twin: the override program still reads the secret", async () => {
    const flood = `python3 -c 'import socket\nfor i in range(33000):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", 9)); s.close()\nprint("flooded")'`;
    const r = await tcpServe('tcptool', `${flood}; echo "base $(${pub}/tcpbase get $P ${secret})"; echo "own $(tcptool get $P ${secret})"`, 'tcptool get');
    expect(r.stdout).toMatch(/^flooded$/m);
    expect(r.stdout).toMatch(/^base error \[Errno 13\] Permission denied/m);
    expect(r.stdout).toContain(`own got ${SECRET}`);
  });

  // helper-93 #07: the same for a port the kernel picks: a base program that bound port 0
  // again and again landed on the override client's destination port.
  it("a base program binding port 0 again and again never gets the port an override's UDP socket is connected to; twin: its thousands of port-0 binds work", { timeout: 60_000 }, async () => {
    const probe = (await import('node:dgram')).createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const P = probe.address().port; // an ephemeral port, free again
    probe.close();
    const r = await inside(`tcptool usecret ${P} 9 ${secret} > /dev/null & ${pub}/tcpbase ucatch ${P} 8; wait`);
    expect(r.stdout).toMatch(/^never after \d+/m);
    expect(r.stdout).not.toContain(SECRET);
    expect(Number(/^never after (\d+)/m.exec(r.stdout)?.[1])).toBeGreaterThan(1000);
  });

  it('an override program does not reach a TCP server the base policy runs on loopback; twin: a base-policy client does', async () => {
    const r = await tcpServe(`${pub}/tcpbase`, `echo "override $(tcptool get $P /etc/hostname)"; echo "base $(${pub}/tcpbase get $P /etc/hostname)"`, `${pub}/tcpbase get`);
    expect(r.stdout).toMatch(/^override error \[Errno 13\] Permission denied/m);
    expect(r.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server of this session outside this commands: override/);
    expect(r.stdout).toMatch(/^base got \S/m);
  });
});

// helper-91 #01: each session's engine knew only the servers its own processes bound, so an
// override's agent in one terminal passed for a server outside sbx in another. The record of
// what sessions bound is the supervisor's (one is started here when this file runs `sbx exec`
// in its own process, the unprivileged CI run).
describe("a server of one session seen from another session of the same supervisor", () => {
  const ownSupervisor = process.env.SBX_TEST_OWN_PROCESS === '1';
  beforeAll(async () => {
    if (ownSupervisor) expect((await run(sbxBin, ['daemon', 'start'], { env: world.env, cwd: world.dir })).code).toBe(0);
  });
  afterAll(async () => {
    if (ownSupervisor) await run(sbxBin, ['daemon', 'stop', '--force'], { env: world.env, cwd: world.dir });
  });
  // Session A runs `server` (a TCP server on a port of its choosing) until `done` appears, then
  // quits it with `quitWith`; session B runs `clients` with $P set meanwhile.
  async function acrossSessions(tag: string, server: string, quitWith: string, clients: string): Promise<{ a: Result; b: Result }> {
    const portFile = join(pub, `${tag}-port`);
    const done = join(pub, `${tag}-done`);
    rmSync(portFile, { force: true });
    rmSync(done, { force: true });
    const a = inside(
      [
        `${server} serve 0 > ${portFile} & s=$!`,
        `until grep -q listening ${portFile} 2>/dev/null; do sleep 0.05; done; P=$(cut -d' ' -f2 ${portFile})`,
        `i=0; until [ -e ${done} ] || [ $i -gt 600 ]; do sleep 0.05; i=$((i+1)); done`,
        `${quitWith} $P quit >/dev/null; wait $s`,
      ].join('\n'),
    );
    let b: Result;
    try {
      for (let i = 0; i < 600 && !(existsSync(portFile) && readFileSync(portFile, 'utf8').includes('listening')); i++) await new Promise((r) => setTimeout(r, 50));
      const port = readFileSync(portFile, 'utf8').split(' ')[1]!.trim();
      b = await inside(`P=${port}\n${clients}`);
    } finally {
      writeFileSync(done, ''); // session A ends whatever happened
    }
    return { a: await a, b };
  }

  it("an override's TCP server in one session is refused to another session's programs; twin: another session's base server is reached", async () => {
    const { b } = await acrossSessions('xs-override', 'tcptool', 'tcptool get', `echo "base $(${pub}/tcpbase get $P ${secret})"; echo "override $(tcptool get $P ${secret})"`);
    expect(b.stdout).toMatch(/^base error \[Errno 13\] Permission denied/m);
    expect(b.stdout).toMatch(/^override error \[Errno 13\] Permission denied/m);
    expect(b.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server a commands: override of another sbx session runs/);
    expect(b.stdout).not.toContain(SECRET);
    const twin = await acrossSessions('xs-base', `${pub}/tcpbase`, `${pub}/tcpbase get`, `echo "base $(${pub}/tcpbase get $P /etc/hostname)"`);
    expect(twin.b.stdout).toMatch(/^base got \S/m);
  });

  it("an override program does not reach another session's base TCP server; twin: that session's base client does", async () => {
    const { a, b } = await acrossSessions('xs-client', `${pub}/tcpbase`, `${pub}/tcpbase get`, `echo "override $(tcptool get $P /etc/hostname)"; echo "base $(${pub}/tcpbase get $P /etc/hostname)"`);
    expect(b.stdout).toMatch(/^override error \[Errno 13\] Permission denied/m);
    expect(b.stderr).toMatch(/sbx: denied net 127\.0\.0\.1:\d+ \(a server of another sbx session: an override's programs meet only their own servers/);
    expect(b.stdout).toMatch(/^base got \S/m);
    expect(a.code).toBe(0);
  });
});

/** The running python3's minor version (its site-packages directory is python3.<minor>). */
function pyMinor(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.version_info[1])'], { encoding: 'utf8' }).trim();
}

// Stop 39–41's open item: shared memory and queues were the session's, whatever policy made
// them. An override's program (a database client, a cloud CLI that reads what only it may)
// would leave what it read in a segment or a queue the rest of the session reads, and take
// from one what the rest of the session put there. The same boundary as its servers.
describe('shared memory and message queues a program under an override makes', () => {
  const key = () => `0x5b${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
  const madeId = (out: string) => /^made (\d+)$/m.exec(out)?.[1] ?? 'no-id';

  it("are its override's only: a base program is refused /dev/shm, the SysV segment by key and by id, and the queue; twin: the override's program reads each", async () => {
    const k = key();
    const name = `sbx-ovr-${process.pid}-a`;
    const r = await inside(
      `ipctool make ${name} ${k} ${secret} > pub/made-$$; id=$(sed -n 's/^made //p' pub/made-$$); cat pub/made-$$; rm pub/made-$$; ` +
        `echo BASE; ${join(pub, 'ipcbase')} read ${name} ${k} $id; echo OWN; ipctool read ${name} ${k} $id`,
    );
    const [made, base, own] = r.stdout.split(/^(?:BASE|OWN)$/m);
    expect(madeId(made!), r.stderr).toMatch(/^\d+$/);
    expect(base!.trim().split('\n'), r.stderr).toEqual(['file EACCES', 'key EACCES', 'id EACCES', 'queue EACCES']);
    expect(r.stderr).toMatch(/sbx: denied ipc .*\(made under a commands: override: it is that override's programs' only\)/);
    expect(own!.trim().split('\n')).toEqual([`file ${SECRET}`, `key ${SECRET}`, `id ${SECRET}`, `queue ${SECRET}`]);
  });

  it("the override's program uses none of the rest of the session's; twin: the base program that made them reads each", async () => {
    const k = key();
    const name = `sbx-ovr-${process.pid}-b`;
    const r = await inside(
      `${join(pub, 'ipcbase')} make ${name} ${k} ${join(pub, 'private.txt')} > pub/made-$$; id=$(sed -n 's/^made //p' pub/made-$$); cat pub/made-$$; rm pub/made-$$; ` +
        `echo OVR; ipctool read ${name} ${k} $id; echo BASE; ${join(pub, 'ipcbase')} read ${name} ${k} $id`,
    );
    const [made, ovr, base] = r.stdout.split(/^(?:OVR|BASE)$/m);
    expect(madeId(made!), r.stderr).toMatch(/^\d+$/);
    expect(ovr!.trim().split('\n'), r.stderr).toEqual(['file EACCES', 'key EACCES', 'id EACCES', 'queue EACCES']);
    expect(r.stderr).toMatch(/sbx: denied ipc .*\(made in this session outside this commands: override: an override's programs use only their own objects\)/);
    expect(base!.trim().split('\n')).toEqual(['file BASE-ONLY', 'key BASE-ONLY', 'id BASE-ONLY', 'queue BASE-ONLY']);
  });

  // helper-95 #02: the override's open of /dev/shm/NAME followed a symlink the base program put
  // there, out of /dev/shm, into a file it reads.
  it("a base program cannot put a symlink in /dev/shm for the override's program to write through; twin: a symlink beside it in a directory it writes is made", async () => {
    const k = key();
    const name = `sbx-ovr-${process.pid}-c`;
    const leak = join(pub, `shm-leak-${process.pid}`);
    const r = await inside(
      `ln -s ${leak} /dev/shm/${name} 2>/dev/null; echo "link=$?"; ln -s ${leak} ${pub}/shm-twin-${process.pid} && echo twin=0; ` +
        `ipctool make ${name} ${k} ${secret} > /dev/null; cat ${leak} 2>/dev/null; echo BASE; ${join(pub, 'ipcbase')} read ${name} ${k} 0`,
    );
    expect(r.stdout, r.stderr).toMatch(/^link=1$/m);
    expect(r.stdout).toMatch(/^twin=0$/m);
    expect(r.stderr).toMatch(/sbx: denied ipc \/dev\/shm\/\S+ \(a symlink in \/dev\/shm: a program opening that name would follow it out of \/dev\/shm\)/);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toMatch(/^file EACCES$/m);
  });
});
