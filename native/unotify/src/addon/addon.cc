// The JS surface (native.d.ts): argument checks and conversions only; the work lives in
// the other files of this directory.
#include <fcntl.h>
#include <sys/file.h>
#include <napi.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dir_stamps.h"
#include "engine.h"
#include "exec_rules.h"
#include "fdpass.h"
#include "filter.h"
#include "js_util.h"
#include "port_squat.h"

// fdserver.cc (the supervisor's keeper socket; owned by its author).
void RegisterFdServer(Napi::Env env, Napi::Object exports);

namespace sbx {
namespace {

const napi_type_tag kEngineTag = {0x5b1d0c0e2f6a4e11ULL, 0x9c3b7d25a1e04f77ULL};

struct EngineBox {
  std::shared_ptr<Core> core;
};

Napi::Error sys_error(const Napi::Env& env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

std::shared_ptr<Core> engine_arg(const Napi::CallbackInfo& info, const char* sig) {
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<EngineBox>>().CheckTypeTag(&kEngineTag))
    throw_type(info.Env(), sig, "engine must be a handle from engineCreate");
  auto* box = v.As<Napi::External<EngineBox>>().Data();
  if (!box->core) throw_type(info.Env(), sig, "engine has been stopped");
  return box->core;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  need_args(info, 0, "probe()");
  KernelFeatures k = probe_kernel();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("kernel", k.kernel);
  o.Set("arch", k.arch);
  o.Set("seccompFilter", k.seccompFilter);
  o.Set("userNotify", k.userNotify);
  o.Set("waitKillableRecv", k.waitKillableRecv);
  o.Set("addfd", k.addfd);
  o.Set("addfdSend", k.addfdSend);
  o.Set("pidfdOpen", k.pidfdOpen);
  o.Set("pidfdGetfd", k.pidfdGetfd);
  o.Set("landlockAbi", k.landlockAbi);
  o.Set("ptraceOthers", k.ptraceOthers);
  return o;
}

// The syscall table (syscalls.def) as data, for tests and `sbx doctor`.
Napi::Value SyscallTable(const Napi::CallbackInfo& info) {
  need_args(info, 0, "syscallTable()");
  static const char* kActions[] = {"allow", "trap", "check", "eperm", "enosys"};
  static const char* kChecks[] = {"none", "ioctl", "fcntl", "setrlimit", "prlimit", "prctl", "seccomp",
                                  "clone", "unshare", "socket", "socketpair", "sendto", "setpgid",
                                  "setsockopt"};
  Napi::Env env = info.Env();
  Napi::Array rows = Napi::Array::New(env, SBX_NSYSCALLS);
  for (int i = 0; i < SBX_NSYSCALLS; i++) {
    const sbx_syscall& s = sbx_syscalls[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("nr", s.nr);
    o.Set("name", s.name);
    o.Set("action", kActions[s.action]);
    o.Set("check", kChecks[s.check]);
    o.Set("handler", s.handler);
    rows.Set(static_cast<uint32_t>(i), o);
  }
  return rows;
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  need_args(info, 0, "socketPair()");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw sys_error(info.Env(), "socketPair", errno);
  fcntl(sv[1], F_SETFD, 0);  // the child's end is inherited
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, sv[0]);
  a.Set(1u, sv[1]);
  return a;
}

Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  const char* sig = "recvFd(sock, timeoutMs)";
  need_args(info, 2, sig);
  int sock = arg_int(info, 0, sig, "sock", 0, INT32_MAX);
  int to = arg_int(info, 1, sig, "timeoutMs", 0, INT32_MAX);
  int fd = recv_fd(sock, to);
  if (fd == -ETIMEDOUT) throw sys_error(info.Env(), "recvFd: no fd within " + std::to_string(to) + " ms", ETIMEDOUT);
  if (fd == -ECONNRESET) throw sys_error(info.Env(), "recvFd: peer closed the socket", ECONNRESET);
  if (fd == -EBADMSG) throw sys_error(info.Env(), "recvFd: message carried no fd", EBADMSG);
  if (fd < 0) throw sys_error(info.Env(), "recvFd", -fd);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value StoredMaxPolicy(const Napi::CallbackInfo& info) {
  const char* sig = "storedMaxPolicy(memfd)";
  need_args(info, 1, sig);
  int fd = arg_int(info, 0, sig, "memfd", 0, INT32_MAX);
  return Napi::Number::New(info.Env(), ProcTable::max_stored_policy(fd));
}

Napi::Value SendFd(const Napi::CallbackInfo& info) {
  const char* sig = "sendFd(sock, fd, payload)";
  need_args(info, 3, sig);
  int sock = arg_int(info, 0, sig, "sock", 0, INT32_MAX);
  int fd = arg_int(info, 1, sig, "fd", 0, INT32_MAX);
  std::string payload = arg_str(info, 2, sig, "payload");
  int r = send_fd(sock, fd, payload);
  if (r < 0) throw sys_error(info.Env(), "sendFd", -r);
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  const char* sig = "close(fd)";
  need_args(info, 1, sig);
  int fd = arg_int(info, 0, sig, "fd", 0, INT32_MAX);
  if (close(fd) < 0 && errno != EINTR) throw sys_error(info.Env(), "close(" + std::to_string(fd) + ")", errno);
  return info.Env().Undefined();
}

// An exclusive flock held through the returned fd (CLOEXEC) until it is closed or the
// process dies; -1 when another open file holds it. The kernel drops it with its holder:
// no stale lock to take over.
Napi::Value LockExclusive(const Napi::CallbackInfo& info) {
  const char* sig = "lockExclusive(path)";
  need_args(info, 1, sig);
  std::string path = arg_str(info, 0, sig, "path");
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw sys_error(info.Env(), "open(" + path + ")", errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
    throw sys_error(info.Env(), "flock(" + path + ")", e);
  }
  return Napi::Number::New(info.Env(), fd);
}

std::vector<std::string> str_array(const Napi::CallbackInfo& info, size_t i, const char* sig, const char* name) {
  if (!info[i].IsArray()) throw_type(info.Env(), sig, std::string(name) + " must be an array of strings");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) throw_type(info.Env(), sig, std::string(name) + "[" + std::to_string(k) + "] must be a string");
    out.push_back(v.As<Napi::String>().Utf8Value());
    if (out.back().find('\0') != std::string::npos)
      throw_type(info.Env(), sig, std::string(name) + "[" + std::to_string(k) + "] contains a NUL byte");
  }
  return out;
}

Napi::Value Execve(const Napi::CallbackInfo& info) {
  const char* sig = "execve(path, argv, env)";
  need_args(info, 3, sig);
  std::string path = arg_str(info, 0, sig, "path");
  auto argv = str_array(info, 1, sig, "argv");
  auto env = str_array(info, 2, sig, "env");
  if (argv.empty()) throw_type(info.Env(), sig, "argv must not be empty");
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(&s[0]);
  for (auto& s : env) ev.push_back(&s[0]);
  av.push_back(nullptr);
  ev.push_back(nullptr);
  // Node marks its stdio close-on-exec; the new image must keep fds 0-2.
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  execve(path.c_str(), av.data(), ev.data());
  throw sys_error(info.Env(), "execve(" + path + ")", errno);
}

Napi::Function fn_opt(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig) {
  Napi::Value v = o.Get(key);
  if (!v.IsFunction()) throw_type(env, sig, std::string("options.") + key + " must be a function");
  return v.As<Napi::Function>();
}

int int_opt(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, int64_t lo, int64_t hi,
            int def, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return def;
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() != static_cast<double>(v.As<Napi::Number>().Int64Value()) ||
      v.As<Napi::Number>().Int64Value() < lo || v.As<Napi::Number>().Int64Value() > hi)
    throw_type(env, sig, std::string("options.") + key + " must be an integer in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
  return static_cast<int>(v.As<Napi::Number>().Int64Value());
}

// An array of positive integer pids (what protects the supervisor and keepers).
std::vector<int> pid_list(Napi::Env env, Napi::Value pp, const char* sig, const std::string& what) {
  if (!pp.IsArray()) throw_type(env, sig, what + " must be an array of positive integers");
  Napi::Array pa = pp.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < pa.Length(); i++) {
    Napi::Value v = pa.Get(i);
    if (!v.IsNumber() || v.As<Napi::Number>().Int64Value() <= 0 ||
        v.As<Napi::Number>().Int64Value() > INT32_MAX ||
        v.As<Napi::Number>().DoubleValue() != static_cast<double>(v.As<Napi::Number>().Int64Value()))
      throw_type(env, sig, what + "[" + std::to_string(i) + "] must be a positive integer");
    out.push_back(static_cast<int>(v.As<Napi::Number>().Int64Value()));
  }
  return out;
}

Napi::Value EngineCreate(const Napi::CallbackInfo& info) {
  const char* sig = "engineCreate(options)";
  Napi::Env env = info.Env();
  need_args(info, 1, sig);
  if (!info[0].IsObject()) throw_type(env, sig, "options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  EngineConfig cfg;
  int lfd = int_opt(env, o, "listenerFd", sig, 0, INT32_MAX, -1, true);
  cfg.strictPolicy = int_opt(env, o, "strictPolicy", sig, 0, INT32_MAX, 0, true);
  cfg.threads = int_opt(env, o, "threads", sig, 1, 16, 2, false);
  cfg.journalFd = int_opt(env, o, "journalFd", sig, 0, INT32_MAX, -1, false);
  cfg.protectedPids = pid_list(env, o.Get("protectedPids"), sig, "options.protectedPids");
  Napi::Value lp = o.Get("launcherPath");
  if (!lp.IsUndefined()) {
    if (!lp.IsString()) throw_type(env, sig, "options.launcherPath must be a string");
    cfg.launcherPath = lp.As<Napi::String>().Utf8Value();
  }
  Napi::Function onEvents = fn_opt(env, o, "onEvents", sig);
  Napi::Function onHint = fn_opt(env, o, "onHint", sig);
  Napi::Function onClosed = fn_opt(env, o, "onClosed", sig);
  cfg.listener = fcntl(lfd, F_DUPFD_CLOEXEC, 3);
  if (cfg.listener < 0) throw sys_error(env, "engineCreate: options.listenerFd " + std::to_string(lfd), errno);
  auto ev = Napi::ThreadSafeFunction::New(env, onEvents, "sbx-events", 0, 1);
  auto hint = Napi::ThreadSafeFunction::New(env, onHint, "sbx-hint", 0, 1);
  auto closed = Napi::ThreadSafeFunction::New(env, onClosed, "sbx-closed", 0, 1);
  auto* box = new EngineBox{std::make_shared<Core>(cfg, ev, hint, closed)};
  box->core->start();
  auto ext = Napi::External<EngineBox>::New(env, box, [](Napi::Env, EngineBox* b) {
    if (b->core) b->core->stop();
    delete b;
  });
  ext.TypeTag(&kEngineTag);
  return ext;
}

Napi::Value EngineSetPolicy(const Napi::CallbackInfo& info) {
  const char* sig = "engineSetPolicy(engine, policy)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  auto p = std::make_shared<Policy>(policy_from_js(info.Env(), info[1], sig));
  core->set_policy(std::move(p));
  return info.Env().Undefined();
}

Napi::Value EngineDropPolicy(const Napi::CallbackInfo& info) {
  const char* sig = "engineDropPolicy(engine, policyId)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  core->drop_policy(arg_int(info, 1, sig, "policyId", 0, INT32_MAX));
  return info.Env().Undefined();
}

Napi::Value EngineAssign(const Napi::CallbackInfo& info) {
  const char* sig = "engineAssign(engine, pid, policyId, followsCd, sealed)";
  need_args(info, 5, sig);
  auto core = engine_arg(info, sig);
  int pid = arg_int(info, 1, sig, "pid", 1, INT32_MAX);
  int pol = arg_int(info, 2, sig, "policyId", 0, INT32_MAX);
  if (!info[3].IsBoolean()) throw_type(info.Env(), sig, "followsCd must be a boolean");
  if (!info[4].IsBoolean()) throw_type(info.Env(), sig, "sealed must be a boolean");
  const bool sealed = info[4].As<Napi::Boolean>().Value();
  int r = core->assign(pid, pol, info[3].As<Napi::Boolean>().Value(), sealed);
  if (r == -ERANGE)
    throw sys_error(info.Env(),
                    "engineAssign: pid " + std::to_string(pid) +
                        ": its hard core-size limit (ulimit -Hc) leaves no room for sbx's process tags; raise it "
                        "(sbx keeps the soft limit at 0)",
                    ERANGE);
  if (r < 0) throw sys_error(info.Env(), "engineAssign: pid " + std::to_string(pid), -r);
  return info.Env().Undefined();
}

Napi::Value EngineProcess(const Napi::CallbackInfo& info) {
  const char* sig = "engineProcess(engine, pid)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  int pid = arg_int(info, 1, sig, "pid", 1, INT32_MAX);
  int pol = core->procs().member_policy(pid);
  if (pol < 0) return info.Env().Null();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("policy", pol);
  o.Set("followsCd", core->procs().follows_cd(pid));
  return o;
}

Napi::Value EngineSetProtectedPids(const Napi::CallbackInfo& info) {
  const char* sig = "engineSetProtectedPids(engine, pids)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  core->set_protected(pid_list(info.Env(), info[1], sig, "pids"));
  return info.Env().Undefined();
}

Napi::Value EngineReplyHint(const Napi::CallbackInfo& info) {
  const char* sig = "engineReplyHint(engine, hintId, reply)";
  need_args(info, 3, sig);
  auto core = engine_arg(info, sig);
  std::string id = arg_str(info, 1, sig, "hintId");
  char* end = nullptr;
  unsigned long long nid = strtoull(id.c_str(), &end, 10);
  if (id.empty() || *end) throw_type(info.Env(), sig, "hintId must be a decimal string from onHint");
  if (!info[2].IsObject()) throw_type(info.Env(), sig, "reply must be an object");
  Napi::Object r = info[2].As<Napi::Object>();
  Napi::Value c = r.Get("content"), e = r.Get("errno");
  bool has_c = !c.IsUndefined(), has_e = !e.IsUndefined();
  if (has_c == has_e) throw_type(info.Env(), sig, "reply must have exactly one of content or errno");
  if (has_c && !c.IsString()) throw_type(info.Env(), sig, "reply.content must be a string");
  int err = 0;
  if (has_e) {
    if (!e.IsNumber() || e.As<Napi::Number>().Int32Value() < 1 || e.As<Napi::Number>().Int32Value() > 4095)
      throw_type(info.Env(), sig, "reply.errno must be an integer in [1, 4095]");
    err = e.As<Napi::Number>().Int32Value();
  }
  int res = core->reply_hint(nid, has_c, has_c ? c.As<Napi::String>().Utf8Value() : std::string(), err);
  if (res == -ENOENT && false) throw sys_error(info.Env(), "engineReplyHint: unknown hint " + id, ENOENT);
  return Napi::Boolean::New(info.Env(), res == 0);
}

Napi::Value EngineStats(const Napi::CallbackInfo& info) {
  const char* sig = "engineStats(engine)";
  need_args(info, 1, sig);
  auto core = engine_arg(info, sig);
  uint64_t d, de, a;
  size_t pr;
  int64_t pe;
  core->stats(d, de, a, pr, pe);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("decisions", static_cast<double>(d));
  o.Set("denials", static_cast<double>(de));
  o.Set("audits", static_cast<double>(a));
  o.Set("processes", static_cast<double>(pr));
  o.Set("pending", static_cast<double>(pe));
  Napi::Object traps = Napi::Object::New(info.Env());
  for (const auto& t : core->traps_by_syscall()) traps.Set(t.first, static_cast<double>(t.second));
  o.Set("traps", traps);
  Napi::Object verified = Napi::Object::New(info.Env());
  verified.Set("afterExec", static_cast<double>(core->verifiedAfterExec.load()));
  verified.Set("firstSight", static_cast<double>(core->verifiedFirstSight.load()));
  o.Set("verified", verified);
  return o;
}

Napi::Value EngineTakeEvents(const Napi::CallbackInfo& info) {
  const char* sig = "engineTakeEvents(engine)";
  need_args(info, 1, sig);
  auto core = engine_arg(info, sig);
  bool inFlight = false;
  Napi::Array evs = events_to_js(info.Env(), core->take_events(inFlight));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("events", evs);
  o.Set("inFlight", inFlight);
  return o;
}

Napi::Value EngineSetNoticeFiles(const Napi::CallbackInfo& info) {
  const char* sig = "engineSetNoticeFiles(engine, paths)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  if (!info[1].IsArray()) throw_type(info.Env(), sig, "paths must be an array of absolute paths");
  Napi::Array a = info[1].As<Napi::Array>();
  std::vector<std::string> files;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString() || v.As<Napi::String>().Utf8Value().rfind('/', 0) != 0)
      throw_type(info.Env(), sig, "paths[" + std::to_string(i) + "] must be an absolute path");
    files.push_back(v.As<Napi::String>().Utf8Value());
  }
  core->set_notice_files(std::move(files));
  return info.Env().Undefined();
}

Napi::Value EngineOwnsPty(const Napi::CallbackInfo& info) {
  const char* sig = "engineOwnsPty(engine, path)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  std::string path = arg_str(info, 1, sig, "path");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw sys_error(info.Env(), "engineOwnsPty: " + path, errno);
  unsigned maj = major(st.st_rdev);
  if (!S_ISCHR(st.st_mode) || maj < 136 || maj > 143) return Napi::Boolean::New(info.Env(), false);
  int index = static_cast<int>((maj - 136) * 256 + minor(st.st_rdev));
  return Napi::Boolean::New(info.Env(), core->ptys().owns(index, st.st_dev, st.st_ino));
}

Napi::Value EnginePause(const Napi::CallbackInfo& info) {
  const char* sig = "enginePause(engine, askingTid)";
  need_args(info, 2, sig);
  auto core = engine_arg(info, sig);
  const int asking = arg_int(info, 1, sig, "askingTid", 1, INT32_MAX);
  // Stopping a busy session can take seconds on a loaded machine: done on a thread of its own,
  // so the JavaScript thread every session shares goes on meanwhile; the promise settles there.
  Napi::Env env = info.Env();
  auto deferred = std::make_shared<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
  Napi::Promise promise = deferred->Promise();
  auto done = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "enginePause", 0, 1);
  std::thread([core, asking, done, deferred]() mutable {
    std::string why = core->pauser().pause(core->procs(), asking);
    done.BlockingCall([deferred, why](Napi::Env e, Napi::Function) { deferred->Resolve(Napi::String::New(e, why)); });
    done.Release();
  }).detach();
  return promise;
}

Napi::Value EngineQuiet(const Napi::CallbackInfo& info) {
  const char* sig = "engineQuiet(engine)";
  need_args(info, 1, sig);
  auto core = engine_arg(info, sig);
  return Napi::String::New(info.Env(), core->pauser().quiet(core->procs()));
}

Napi::Value EngineResume(const Napi::CallbackInfo& info) {
  const char* sig = "engineResume(engine)";
  need_args(info, 1, sig);
  engine_arg(info, sig)->pauser().resume();
  return info.Env().Undefined();
}

Napi::Value EngineWatchRoot(const Napi::CallbackInfo& info) {
  const char* sig = "engineWatchRoot(engine, pid, terminalFds?)";
  if (info.Length() != 2) need_args(info, 3, sig);
  auto core = engine_arg(info, sig);
  const int pid = arg_int(info, 1, sig, "pid", 1, INT32_MAX);
  // Absent: the root has run nothing of the user's yet, its terminals are read from it.
  if (info.Length() < 3 || info[2].IsUndefined()) return core->watch_root(pid, nullptr), info.Env().Undefined();
  if (!info[2].IsArray()) throw_type(info.Env(), sig, "terminalFds must be an array of fds");
  Napi::Array a = info[2].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() != v.As<Napi::Number>().Int32Value() || v.As<Napi::Number>().Int32Value() < 0)
      throw_type(info.Env(), sig, "terminalFds must be an array of fds");
    fds.push_back(v.As<Napi::Number>().Int32Value());
  }
  core->watch_root(pid, &fds);
  return info.Env().Undefined();
}

Napi::Value EngineStop(const Napi::CallbackInfo& info) {
  const char* sig = "engineStop(engine, sessionOver)";
  need_args(info, 2, sig);
  if (!info[1].IsBoolean()) throw_type(info.Env(), sig, "sessionOver must be a boolean");
  const bool over = info[1].As<Napi::Boolean>().Value();
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<EngineBox>>().CheckTypeTag(&kEngineTag))
    throw_type(info.Env(), sig, "engine must be a handle from engineCreate");
  auto* box = v.As<Napi::External<EngineBox>>().Data();
  if (box->core) {
    box->core->stop(over);
    box->core.reset();  // helper threads keep their own reference until they finish
  }
  return info.Env().Undefined();
}

Napi::Value DecidePath(const Napi::CallbackInfo& info) {
  const char* sig = "decidePath(section, path)";
  need_args(info, 2, sig);
  PathSection s = section_from_js(info.Env(), info[0], sig, "section");
  std::string path = arg_str(info, 1, sig, "path");
  Decision d = decide_path(s, path);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("effect", d.allow ? "allow" : "deny");
  o.Set("rule", d.rule);
  return o;
}

Napi::Value Sha256Hex(const Napi::CallbackInfo& info) {
  const char* sig = "sha256Hex(data)";
  need_args(info, 1, sig);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_type(info.Env(), sig, "data must be a Uint8Array");
  auto a = info[0].As<Napi::Uint8Array>();
  return Napi::String::New(info.Env(), sha256_hex(sha256(a.Data(), a.ByteLength())));
}

// The engine's cached image hash of a file (exec_rules.cc), with the cache counters.
Napi::Value ImageDigest(const Napi::CallbackInfo& info) {
  const char* sig = "imageDigest(path)";
  need_args(info, 1, sig);
  std::string path = arg_str(info, 0, sig, "path");
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  Sha256 d{};
  bool ok = fd.ok() && image_digest(fd.get(), d);
  HashStats st = hash_stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("sha256", ok ? Napi::Value(Napi::String::New(info.Env(), sha256_hex(d))) : info.Env().Null());
  o.Set("hashed", static_cast<double>(st.hashed));
  o.Set("bytes", static_cast<double>(st.bytes));
  o.Set("hits", static_cast<double>(st.hits));
  return o;
}

std::vector<std::string> str_array(const Napi::CallbackInfo& info, const Napi::Value& v, const char* sig, const char* name) {
  if (!v.IsArray()) throw_type(info.Env(), sig, std::string(name) + " must be an array of strings");
  auto a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!a.Get(i).IsString()) throw_type(info.Env(), sig, std::string(name) + "[" + std::to_string(i) + "] must be a string");
    out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  return out;
}

Napi::Value SubcommandStarts(const Napi::CallbackInfo& info) {
  const char* sig = "subcommandStarts(argv, tool)";
  need_args(info, 2, sig);
  std::vector<std::string> argv = str_array(info, info[0], sig, "argv");
  if (!info[1].IsObject()) throw_type(info.Env(), sig, "tool must be an object");
  auto t = info[1].As<Napi::Object>();
  ToolOptions tool;
  tool.known = true;
  tool.value = str_array(info, t.Get("value"), sig, "tool.value");
  tool.flag = str_array(info, t.Get("flag"), sig, "tool.flag");
  auto starts = subcommand_starts(argv, tool);
  Napi::Array out = Napi::Array::New(info.Env(), starts.size());
  for (size_t i = 0; i < starts.size(); i++) out.Set(static_cast<uint32_t>(i), static_cast<double>(starts[i]));
  return out;
}

Napi::Value LoaderProgIndex(const Napi::CallbackInfo& info) {
  const char* sig = "loaderProgIndex(argv)";
  need_args(info, 1, sig);
  return Napi::Number::New(info.Env(), loader_prog_index(str_array(info, info[0], sig, "argv")));
}

Napi::Value ProcEntryAllowed(const Napi::CallbackInfo& info) {
  const char* sig = "procEntryAllowed(below, write, debuggable)";
  need_args(info, 3, sig);
  std::string below = arg_str(info, 0, sig, "below");
  if (!info[1].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(sig) + ": write must be a boolean");
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < below.size()) {
    size_t j = below.find('/', i);
    if (j == std::string::npos) j = below.size();
    if (j > i) parts.push_back(below.substr(i, j - i));
    i = j + 1;
  }
  const bool write = info[1].As<Napi::Boolean>().Value();
  if (!info[2].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(sig) + ": debuggable must be a boolean");
  const bool debuggable = info[2].As<Napi::Boolean>().Value();
  return Napi::Boolean::New(info.Env(), debuggable ? proc_debug_entry_allowed(parts, write) : proc_entry_allowed(parts, write));
}

Napi::Value ProxyRegister(const Napi::CallbackInfo& info) {
  const char* sig = "proxyRegister(port, open)";
  need_args(info, 2, sig);
  int port = arg_int(info, 0, sig, "port", 1, 65535);
  if (!info[1].IsBoolean()) throw_type(info.Env(), sig, "open must be a boolean");
  if (info[1].As<Napi::Boolean>().Value())
    proxy_port_open(port);
  else
    proxy_port_close(port);
  return info.Env().Undefined();
}

Napi::Value ProxyAdmits(const Napi::CallbackInfo& info) {
  const char* sig = "proxyAdmits(proxyPort, clientAddress, clientPort)";
  need_args(info, 3, sig);
  int port = arg_int(info, 0, sig, "proxyPort", 1, 65535);
  std::string addr = arg_str(info, 1, sig, "clientAddress");
  int cport = arg_int(info, 2, sig, "clientPort", 1, 65535);
  return Napi::Number::New(info.Env(), proxy_admits(port, addr, cport));
}

Napi::Value OverrideServerAt(const Napi::CallbackInfo& info) {
  const char* sig = "overrideServerAt(address, port)";
  need_args(info, 2, sig);
  std::string addr = arg_str(info, 0, sig, "address");
  int port = arg_int(info, 1, sig, "port", 1, 65535);
  return Napi::Boolean::New(info.Env(), override_server_at(addr, port));
}

Napi::Value ConnectUnlessOverride(const Napi::CallbackInfo& info) {
  const char* sig = "connectUnlessOverride(address, port, timeoutMs)";
  need_args(info, 3, sig);
  std::string addr = arg_str(info, 0, sig, "address");
  int port = arg_int(info, 1, sig, "port", 1, 65535);
  int timeout = arg_int(info, 2, sig, "timeoutMs", 0, 10000);
  return Napi::Number::New(info.Env(), connect_unless_override(addr, port, timeout));
}

// What lstat (follow false) or stat says of each path, in one call: a cached policy's facts are
// re-checked before every reuse (src/policy/expand.ts buildFactsHold), a few hundred paths, and
// one fs call each from Node costs several times the syscall.
// 0 absent or unreadable (any error), 1 regular file, 2 directory, 3 symlink, 4 anything else.
Napi::Value PathKinds(const Napi::CallbackInfo& info) {
  const char* sig = "pathKinds(paths, follow)";
  need_args(info, 2, sig);
  std::vector<std::string> paths = str_array(info, info[0], sig, "paths");
  if (!info[1].IsBoolean()) throw_type(info.Env(), sig, "follow must be a boolean");
  const bool follow = info[1].As<Napi::Boolean>().Value();
  auto out = Napi::Uint8Array::New(info.Env(), paths.size());
  for (size_t i = 0; i < paths.size(); i++) {
    struct stat st;
    // A NUL would cut the name short: Node refuses such a path, so it is not there.
    const bool cut = paths[i].find('\0') != std::string::npos;
    const int r = cut ? -1 : follow ? stat(paths[i].c_str(), &st) : lstat(paths[i].c_str(), &st);
    out[i] = r != 0 ? 0 : S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : S_ISLNK(st.st_mode) ? 3 : 4;
  }
  return out;
}

Napi::Value MountGeneration(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mount_generation()));
}

Napi::Value PathStamps(const Napi::CallbackInfo& info) {
  const char* sig = "pathStamps(paths)";
  need_args(info, 1, sig);
  std::vector<std::string> paths = str_array(info, info[0], sig, "paths");
  auto out = Napi::BigUint64Array::New(info.Env(), paths.size() * 4);
  for (size_t i = 0; i < paths.size(); i++) {
    uint64_t st[4] = {0, 0, 0, 0};
    dir_stamp(paths[i], st);  // zeros when not a stamped directory
    for (size_t k = 0; k < 4; k++) out[i * 4 + k] = st[k];
  }
  return out;
}

Napi::Value UnixPeer(const Napi::CallbackInfo& info) {
  const char* sig = "unixPeer(name)";
  need_args(info, 1, sig);
  std::string name = arg_str(info, 0, sig, "name");
  int pid = 0, uid = -1;
  int r = unix_server_of(name, pid, uid);
  Napi::Object o = Napi::Object::New(info.Env());
  if (r < 0) {
    o.Set("errno", -r);
    return o;
  }
  o.Set("pid", pid);
  o.Set("uid", uid);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("proxyRegister", Napi::Function::New(env, ProxyRegister, "proxyRegister"));
  exports.Set("proxyAdmits", Napi::Function::New(env, ProxyAdmits, "proxyAdmits"));
  exports.Set("overrideServerAt", Napi::Function::New(env, OverrideServerAt, "overrideServerAt"));
  exports.Set("connectUnlessOverride", Napi::Function::New(env, ConnectUnlessOverride, "connectUnlessOverride"));
  exports.Set("unixPeer", Napi::Function::New(env, UnixPeer, "unixPeer"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("syscallTable", Napi::Function::New(env, SyscallTable, "syscallTable"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("lockExclusive", Napi::Function::New(env, LockExclusive, "lockExclusive"));
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
  exports.Set("storedMaxPolicy", Napi::Function::New(env, StoredMaxPolicy, "storedMaxPolicy"));
  exports.Set("engineCreate", Napi::Function::New(env, EngineCreate, "engineCreate"));
  exports.Set("engineSetPolicy", Napi::Function::New(env, EngineSetPolicy, "engineSetPolicy"));
  exports.Set("engineDropPolicy", Napi::Function::New(env, EngineDropPolicy, "engineDropPolicy"));
  exports.Set("engineAssign", Napi::Function::New(env, EngineAssign, "engineAssign"));
  exports.Set("engineProcess", Napi::Function::New(env, EngineProcess, "engineProcess"));
  exports.Set("engineSetProtectedPids", Napi::Function::New(env, EngineSetProtectedPids, "engineSetProtectedPids"));
  exports.Set("engineReplyHint", Napi::Function::New(env, EngineReplyHint, "engineReplyHint"));
  exports.Set("engineStats", Napi::Function::New(env, EngineStats, "engineStats"));
  exports.Set("engineTakeEvents", Napi::Function::New(env, EngineTakeEvents, "engineTakeEvents"));
  exports.Set("engineSetNoticeFiles", Napi::Function::New(env, EngineSetNoticeFiles, "engineSetNoticeFiles"));
  exports.Set("engineOwnsPty", Napi::Function::New(env, EngineOwnsPty, "engineOwnsPty"));
  exports.Set("enginePause", Napi::Function::New(env, EnginePause, "enginePause"));
  exports.Set("engineQuiet", Napi::Function::New(env, EngineQuiet, "engineQuiet"));
  exports.Set("engineResume", Napi::Function::New(env, EngineResume, "engineResume"));
  exports.Set("engineWatchRoot", Napi::Function::New(env, EngineWatchRoot, "engineWatchRoot"));
  exports.Set("engineStop", Napi::Function::New(env, EngineStop, "engineStop"));
  exports.Set("decidePath", Napi::Function::New(env, DecidePath, "decidePath"));
  exports.Set("procEntryAllowed", Napi::Function::New(env, ProcEntryAllowed, "procEntryAllowed"));
  exports.Set("sha256Hex", Napi::Function::New(env, Sha256Hex, "sha256Hex"));
  exports.Set("imageDigest", Napi::Function::New(env, ImageDigest, "imageDigest"));
  exports.Set("subcommandStarts", Napi::Function::New(env, SubcommandStarts, "subcommandStarts"));
  exports.Set("loaderProgIndex", Napi::Function::New(env, LoaderProgIndex, "loaderProgIndex"));
  exports.Set("pathKinds", Napi::Function::New(env, PathKinds, "pathKinds"));
  exports.Set("pathStamps", Napi::Function::New(env, PathStamps, "pathStamps"));
  exports.Set("mountGeneration", Napi::Function::New(env, MountGeneration, "mountGeneration"));
  RegisterFdServer(env, exports);
  return exports;
}

}  // namespace
}  // namespace sbx

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return sbx::Init(env, exports); }
NODE_API_MODULE(sbx_unotify, InitModule)
