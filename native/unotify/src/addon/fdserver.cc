// fdserver: a native accept thread for the supervisor's keeper socket.
//
// Node cannot receive SCM_RIGHTS, so keepers (which hand over a session's seccomp
// listener and journal memfd) connect here. For each connection the thread reads the
// first message — one newline-terminated JSON line, fds attached — plus the peer's
// SO_PEERCRED, and hands {fd, fds, payload, pid, uid} to JS. JS then owns the connection
// fd (it wraps it in a net.Socket) and every received fd.
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

constexpr size_t kMaxPayload = 1024 * 1024 + 64 * 1024;  // a registration carries a state of up to 1 MiB (keeper.c MAX_STATE)
constexpr int kMaxFds = 8;
constexpr int kFirstMessageTimeoutMs = 2000;

struct Connection {
  int fd = -1;
  std::vector<int> fds;
  std::string payload;
  pid_t pid = 0;
  uid_t uid = 0;
};

void CloseConnection(Connection* c) {
  for (int f : c->fds) close(f);
  if (c->fd >= 0) close(c->fd);
  delete c;
}

struct Server {
  int listenFd = -1;
  int wakeRead = -1;
  int wakeWrite = -1;
  std::thread thread;
  Napi::ThreadSafeFunction tsfn;
  std::atomic<bool> closed{false};
};

// Reads until a '\n' arrives (or the peer stops), collecting SCM_RIGHTS fds on the way.
bool ReadFirstMessage(Connection* c) {
  char buf[4096];
  auto deadlineLeft = kFirstMessageTimeoutMs;
  while (c->payload.size() < kMaxPayload) {
    struct pollfd p = {c->fd, POLLIN, 0};
    int pr = poll(&p, 1, deadlineLeft);
    if (pr <= 0) return false;  // timeout or error: drop the client
    deadlineLeft = 500;         // later pieces of one line arrive back to back
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* in = reinterpret_cast<const int*>(CMSG_DATA(cm));
      for (size_t i = 0; i < count; i++) c->fds.push_back(in[i]);
    }
    if (msg.msg_flags & MSG_CTRUNC) return false;  // more fds than we accept: refuse
    c->payload.append(buf, static_cast<size_t>(n));
    auto nl = c->payload.find('\n');
    // A stream socket may coalesce later lines with the first: JS gets all of it.
    if (nl != std::string::npos) return true;
  }
  return false;
}

void AcceptLoop(Server* s) {
  for (;;) {
    struct pollfd p[2] = {{s->listenFd, POLLIN, 0}, {s->wakeRead, POLLIN, 0}};
    int pr = poll(p, 2, -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;  // fdServerClose
    if (!(p[0].revents & POLLIN)) continue;
    int cfd = accept4(s->listenFd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    auto* c = new Connection();
    c->fd = cfd;
    struct ucred cred = {};
    socklen_t len = sizeof cred;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      c->pid = cred.pid;
      c->uid = cred.uid;
    }
    // Only our own user (or root) may hand sessions over.
    if ((c->uid != geteuid() && c->uid != 0) || !ReadFirstMessage(c)) {
      CloseConnection(c);
      continue;
    }
    napi_status st = s->tsfn.BlockingCall(c, [](Napi::Env env, Napi::Function cb, Connection* conn) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("fd", conn->fd);
      Napi::Array fds = Napi::Array::New(env, conn->fds.size());
      for (size_t i = 0; i < conn->fds.size(); i++) fds.Set(static_cast<uint32_t>(i), conn->fds[i]);
      o.Set("fds", fds);
      o.Set("payload", conn->payload);
      o.Set("pid", static_cast<double>(conn->pid));
      o.Set("uid", static_cast<double>(conn->uid));
      conn->fd = -1;  // ownership moved to JS
      conn->fds.clear();
      delete conn;
      cb.Call({o});
    });
    if (st != napi_ok) CloseConnection(c);
  }
}

void Finalize(Napi::Env, Server* s) {
  // Thread already joined by Close, or the process is exiting.
  (void)s;
}

Napi::Value FdServerCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "fdServerCreate(path: string, onConnection: function)");
  std::string path = info[0].As<Napi::String>();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    throw Napi::TypeError::New(env, "fdServerCreate: path is empty or longer than 107 bytes: " + path);
  memcpy(addr.sun_path, path.c_str(), path.size());

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Napi::Error::New(env, std::string("fdServerCreate: socket: ") + strerror(errno));
  mode_t old = umask(0177);  // socket file 0600 from birth
  int rc = bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  int bindErr = errno;
  umask(old);
  if (rc < 0) {
    close(fd);
    throw Napi::Error::New(env, "fdServerCreate: bind " + path + ": " + strerror(bindErr));
  }
  if (listen(fd, 128) < 0) {
    int e = errno;
    close(fd);
    throw Napi::Error::New(env, "fdServerCreate: listen " + path + ": " + strerror(e));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) < 0) {
    int e = errno;
    close(fd);
    throw Napi::Error::New(env, std::string("fdServerCreate: pipe: ") + strerror(e));
  }
  auto* s = new Server();
  s->listenFd = fd;
  s->wakeRead = wake[0];
  s->wakeWrite = wake[1];
  s->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "sbx-fdserver", 0, 1);
  s->thread = std::thread(AcceptLoop, s);
  return Napi::External<Server>::New(env, s, Finalize);
}

Napi::Value FdServerClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(env, "fdServerClose(server: FdServerHandle)");
  Server* s = info[0].As<Napi::External<Server>>().Data();
  if (s->closed.exchange(true)) return env.Undefined();
  char b = 1;
  while (write(s->wakeWrite, &b, 1) < 0 && errno == EINTR) {
  }
  // The loop may be inside BlockingCall waiting for this (JS) thread: abort the TSFN first
  // so that call returns instead of deadlocking the join.
  s->tsfn.Abort();
  s->thread.join();
  close(s->listenFd);
  close(s->wakeRead);
  close(s->wakeWrite);
  return env.Undefined();
}

Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "memfdCreate(name: string, size: number)");
  std::string name = info[0].As<Napi::String>();
  int64_t size = info[1].As<Napi::Number>().Int64Value();
  if (size < 0) throw Napi::TypeError::New(env, "memfdCreate: size must be >= 0");
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, std::string("memfdCreate: ") + strerror(errno));
  if (ftruncate(fd, size) < 0) {
    int e = errno;
    close(fd);
    throw Napi::Error::New(env, std::string("memfdCreate: ftruncate: ") + strerror(e));
  }
  return Napi::Number::New(env, fd);
}

// Node marks fds 0-2 close-on-exec at startup (uv_disable_stdio_inheritance), so a
// process image replaced with execve would lose its stdio without this.
Napi::Value FdSetInheritable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "fdSetInheritable(fd: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
    throw Napi::Error::New(env, "fdSetInheritable(" + std::to_string(fd) + "): " + strerror(errno));
  return env.Undefined();
}

}  // namespace

// Called once from the addon's Init.
void RegisterFdServer(Napi::Env env, Napi::Object exports) {
  exports.Set("fdServerCreate", Napi::Function::New(env, FdServerCreate, "fdServerCreate"));
  exports.Set("fdServerClose", Napi::Function::New(env, FdServerClose, "fdServerClose"));
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("fdSetInheritable", Napi::Function::New(env, FdSetInheritable, "fdSetInheritable"));
}
