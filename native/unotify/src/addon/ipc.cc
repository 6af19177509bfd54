// SysV IPC and POSIX message queues: only objects the session made (ipc.h).
//
//   shmget/semget/msgget  made or looked up by the engine; an existing key is answered only
//                         when the session made its object, refused (EACCES) otherwise
//   shmat, shmctl, semop, semtimedop, semctl, msgsnd, msgrcv, msgctl
//                         the id must be a recorded object that is still the same object;
//                         then CONTINUE (the id is a register). The INFO commands and the
//                         *_STAT commands that take an index (what ipcs uses) read only
//                         what /proc/sysvipc shows, and pass for any id
//   mq_open, mq_unlink    the name is read once; the engine opens (or makes) the queue and
//                         injects the fd, or unlinks it, only for a queue the session made
//
// Objects live in the IPC namespace: the engine acts in its own, so a caller in another
// one is refused (sbx itself never puts one there; the filter refuses namespaces).
#include "ipc.h"

#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine.h"
#include "fs_check.h"
#include "memory.h"
#include "shm_files.h"
#include "sys.h"
#include "syscall_numbers.h"

namespace sbx {

namespace {

constexpr int kIpc64 = 0x100;  // IPC_64, or'ed into a ctl command by some libcs

union SemArg {
  int val;
  semid_ds* buf;
};

const char* kind_name(IpcKind k) {
  switch (k) {
    case IpcKind::Shm: return "shm";
    case IpcKind::Sem: return "sem";
    case IpcKind::Msg: return "msg";
    case IpcKind::Mq: return "mqueue";
    case IpcKind::ShmFile: return "shm-file";
  }
  return "ipc";
}

std::string hex_key(int key) {
  char b[16];
  snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(key));
  return b;
}

}  // namespace

const char* ipc_boundary(Notif& n, const IpcRecord& rec) {
  if (rec.policy < 0 || rec.policy == n.pol->id) return nullptr;
  if (n.core->override_base(rec.policy)) return " (made under a commands: override: it is that override's programs' only)";
  if (n.core->override_base(n.pol->id))
    return " (made in this session outside this commands: override: an override's programs use only their own objects)";
  return nullptr;
}

bool ipc_refused_across(Notif& n, const IpcRecord& rec, const std::string& what) {
  const char* why = ipc_boundary(n, rec);
  // A built-in refusal (rule -2) is never only audited: refuse() answers.
  return why && refuse(n, Decision{false, -2}, "ipc", what + why, EACCES);
}

namespace {

bool same_ipc_namespace(int tid) {
  static struct stat own;
  static const bool haveOwn = stat("/proc/self/ns/ipc", &own) == 0;
  struct stat st;
  return haveOwn && stat(("/proc/" + std::to_string(tid) + "/ns/ipc").c_str(), &st) == 0 && st.st_dev == own.st_dev &&
         st.st_ino == own.st_ino;
}

// The bits of a SysV id that name its slot in the kernel's table (ipcid_to_idx): 15, or 24
// when the kernel was booted with ipcmni_extend.
uint64_t slot_mask() {
  static const uint64_t mask = [] {
    std::string cmdline;
    const bool extended = read_file("/proc/cmdline", cmdline, 65536) && cmdline.find("ipcmni_extend") != std::string::npos;
    return (1ull << (extended ? 24 : 15)) - 1;
  }();
  return mask;
}

// The SysV object now at `id`, as IpcRecord fields. 0 or -errno (-EINVAL: none at that id).
// Asked by its slot with the *_STAT_ANY commands (4.17+), which need no read permission: an
// object whose mode hides it from its owner is still looked at, never taken on trust.
int stat_object(IpcKind k, int id, IpcRecord& now) {
  const int slot = static_cast<int>(static_cast<uint64_t>(id) & slot_mask());
  long r = -1;
  if (k == IpcKind::Shm) {
    shmid_ds ds{};
    r = shmctl(slot, SHM_STAT_ANY, &ds);
    now = IpcRecord{ds.shm_perm.__key, ds.shm_cpid};
  } else if (k == IpcKind::Sem) {
    semid_ds ds{};
    SemArg arg;
    arg.buf = &ds;
    r = semctl(slot, 0, SEM_STAT_ANY, arg);
    now = IpcRecord{ds.sem_perm.__key, 0};
  } else if (k == IpcKind::Msg) {
    msqid_ds ds{};
    r = msgctl(slot, MSG_STAT_ANY, &ds);
    now = IpcRecord{ds.msg_perm.__key, 0};
  }
  if (r < 0) return -errno;
  return r == id ? 0 : -EINVAL;  // the slot holds another object: ours is gone
}

// A record that no longer names its object: the object gone, or its id now another object's.
bool sysv_gone(IpcKind k, uint64_t ident, const IpcRecord& rec) {
  // Queues and /dev/shm files are dropped when removed through us (and at the session's end).
  if (k != IpcKind::Shm && k != IpcKind::Sem && k != IpcKind::Msg) return false;
  IpcRecord now;
  const int r = stat_object(k, static_cast<int>(ident), now);
  return r < 0 || now.key != rec.key || (k == IpcKind::Shm && now.cpid != rec.cpid);
}

// Is the SysV object at `id` one the session made (its record in *rec)? A stale record is dropped.
bool owned_now(Core& core, IpcKind k, int id, IpcRecord* out = nullptr) {
  IpcRecord rec;
  if (id < 0 || !core.ipc().find(k, static_cast<uint64_t>(id), &rec)) return false;
  if (out) *out = rec;
  if (!sysv_gone(k, static_cast<uint64_t>(id), rec)) return true;
  core.ipc().drop(k, static_cast<uint64_t>(id));
  return false;
}

bool record(Core& core, IpcKind k, uint64_t ident, const IpcRecord& rec) {
  const uint64_t mask = k == IpcKind::Mq ? 0 : slot_mask();
  if (core.ipc().add(k, ident, rec, mask)) return true;
  core.ipc().sweep(sysv_gone);
  return core.ipc().add(k, ident, rec, mask);
}

long remove_object(IpcKind k, int id) {
  if (k == IpcKind::Shm) return shmctl(id, IPC_RMID, nullptr);
  if (k == IpcKind::Sem) return semctl(id, 0, IPC_RMID);
  return msgctl(id, IPC_RMID, nullptr);
}

// IPC_RMID of one of ours, done here so the record goes with the object (a removal let
// through would leave a record that a later object in the same slot could match).
void remove_for(Notif& n, IpcKind k, int id) {
  std::lock_guard<std::mutex> g(n.core->ipc().get_lock());
  if (!n.valid()) return;
  if (remove_object(k, id) < 0) return void(reply_error(n.listener(), n.req.id, errno));
  n.core->ipc().drop(k, static_cast<uint64_t>(id));
  reply_value(n.listener(), n.req.id, 0);
}

long sysv_get(IpcKind k, int key, uint64_t arg, int flags) {
  if (k == IpcKind::Shm) return shmget(key, static_cast<size_t>(arg), flags);
  if (k == IpcKind::Sem) return semget(key, static_cast<int>(arg), flags);
  return msgget(key, flags);
}

// Makes the object for the caller and records it (made under its policy). The id, or -errno.
long make_object(Notif& n, IpcKind k, int key, uint64_t arg, int flags) {
  const long id = sysv_get(k, key, arg, flags);
  if (id < 0) return -errno;
  if (!record(*n.core, k, static_cast<uint64_t>(id), IpcRecord{key, k == IpcKind::Shm ? getpid() : 0, n.pol->id})) {
    remove_object(k, static_cast<int>(id));  // no room to remember it: the session could not use it
    return -ENOSPC;
  }
  return id;
}

// shmget(key, size, flags), semget(key, nsems, flags), msgget(key, flags).
void sysv_get_for(Notif& n, IpcKind k) {
  const auto& a = n.req.data.args;
  const int key = static_cast<int>(a[0]);
  const int flags = static_cast<int>(k == IpcKind::Msg ? a[1] : a[2]);
  const uint64_t arg = k == IpcKind::Msg ? 0 : a[1];
  if (!n.valid()) return;
  if (key == IPC_PRIVATE) {
    const long id = make_object(n, k, key, arg, flags);
    return void(reply_value(n.listener(), n.req.id, id));
  }
  // Under the lock: a key looked up then made, with IPC_EXCL so that one made meanwhile
  // outside is found again, never taken over.
  std::lock_guard<std::mutex> g(n.core->ipc().get_lock());
  for (int round = 0; round < 8; round++) {
    const long id = sysv_get(k, key, arg, flags & ~(IPC_CREAT | IPC_EXCL));
    if (id >= 0) {
      if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) return void(reply_error(n.listener(), n.req.id, EEXIST));
      IpcRecord rec;
      if (owned_now(*n.core, k, static_cast<int>(id), &rec)) {
        if (ipc_refused_across(n, rec, std::string(kind_name(k)) + " key " + hex_key(key))) return;
        return void(reply_value(n.listener(), n.req.id, id));
      }
      // A built-in refusal (rule -2) is never only audited: refuse() answers.
      refuse(n, Decision{false, -2}, "ipc", std::string(kind_name(k)) + " key " + hex_key(key) + " (made outside this sandbox)", EACCES);
      return;
    }
    if (errno != ENOENT || !(flags & IPC_CREAT)) return void(reply_error(n.listener(), n.req.id, errno));
    const long made = make_object(n, k, key, arg, flags | IPC_EXCL);
    if (made != -EEXIST) return void(reply_value(n.listener(), n.req.id, made));
  }
  reply_error(n.listener(), n.req.id, EAGAIN);
}

// The ctl commands that do not act on the object named by the id: the limits and usage
// (INFO) and the STAT commands that take an index into the kernel's table (ipcs): what
// /proc/sysvipc shows anyway.
bool index_or_info_cmd(IpcKind k, int cmd) {
  cmd &= ~kIpc64;
  if (cmd == IPC_INFO) return true;
  if (k == IpcKind::Shm) return cmd == SHM_INFO || cmd == SHM_STAT || cmd == SHM_STAT_ANY;
  if (k == IpcKind::Sem) return cmd == SEM_INFO || cmd == SEM_STAT || cmd == SEM_STAT_ANY;
  return cmd == MSG_INFO || cmd == MSG_STAT || cmd == MSG_STAT_ANY;
}

// shmat/shmctl/semop/semtimedop/semctl/msgsnd/msgrcv/msgctl: (id, ...); the ctl command is
// `cmdArg` (-1: not a ctl).
void sysv_use_for(Notif& n, IpcKind k, int cmdArg) {
  const auto& a = n.req.data.args;
  const int id = static_cast<int>(a[0]);
  if (cmdArg >= 0 && index_or_info_cmd(k, static_cast<int>(a[cmdArg]))) return void(reply_continue(n.listener(), n.req.id));
  IpcRecord rec;
  if (owned_now(*n.core, k, id, &rec)) {
    if (ipc_refused_across(n, rec, std::string(kind_name(k)) + " id " + std::to_string(id))) return;
    if (cmdArg >= 0 && (static_cast<int>(a[cmdArg]) & ~kIpc64) == IPC_RMID) return remove_for(n, k, id);
    if (n.valid()) reply_continue(n.listener(), n.req.id);
    return;
  }
  if (!n.valid()) return;
  refuse(n, Decision{false, -2}, "ipc", std::string(kind_name(k)) + " id " + std::to_string(id) + " (not made in this sandbox)", EACCES);
}

// The queue's inode: what tells a queue the session made from a later one of the same name.
int64_t queue_inode(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_ino) : -1;
}

// Is the queue with this name hash and inode the one the session recorded (its record in *rec)?
bool queue_recorded(Core& core, uint64_t hash, int64_t ino, IpcRecord* rec) {
  return core.ipc().find(IpcKind::Mq, hash, rec) && rec->key == ino;
}

bool queue_is_ours(Core& core, uint64_t hash, int fd, IpcRecord* rec) { return queue_recorded(core, hash, queue_inode(fd), rec); }

// An existing queue by name, for a look at its inode: read-only, or write-only when that is
// all its mode allows us.
Fd open_existing_queue(const std::string& name) {
  Fd fd(static_cast<int>(syscall(SYS_mq_open, name.c_str(), O_RDONLY, 0, nullptr)));
  if (!fd.ok()) fd = Fd(static_cast<int>(syscall(SYS_mq_open, name.c_str(), O_WRONLY, 0, nullptr)));
  return fd;
}

// mq_open(name, oflag, mode, attr): glibc passes the name without its leading '/'.
void mq_open_for(Notif& n) {
  const auto& a = n.req.data.args;
  std::string name;
  int err = read_string(n.caller.tid, a[0], name, NAME_MAX + 1);
  const int oflag = static_cast<int>(a[1]);
  const mode_t mode = static_cast<mode_t>(a[2]);
  mq_attr attr{};
  const bool withAttr = (oflag & O_CREAT) && a[3] != 0;
  if (err == 0 && withAttr) err = read_mem(n.caller.tid, a[3], &attr, sizeof attr);
  if (!n.valid()) return;
  if (err < 0) return void(reply_error(n.listener(), n.req.id, err == -ENAMETOOLONG ? ENAMETOOLONG : EFAULT));
  const uint64_t hash = ipc_name_hash(name);
  const std::string what = "mqueue /" + name;
  const bool cloexec = oflag & O_CLOEXEC;
  use_caller_umask(n);
  std::lock_guard<std::mutex> g(n.core->ipc().get_lock());
  for (int round = 0; round < 8; round++) {
    Fd fd(static_cast<int>(syscall(SYS_mq_open, name.c_str(), oflag & ~(O_CREAT | O_EXCL), 0, nullptr)));
    if (fd.ok()) {
      if ((oflag & O_CREAT) && (oflag & O_EXCL)) return void(reply_error(n.listener(), n.req.id, EEXIST));
      IpcRecord rec;
      if (!queue_is_ours(*n.core, hash, fd.get(), &rec)) {
        refuse(n, Decision{false, -2}, "ipc", what + " (made outside this sandbox)", EACCES);
        return;
      }
      if (ipc_refused_across(n, rec, what)) return;
      n.core->ipc().set_name(IpcKind::Mq, hash, name);  // known again after a restart
      return void(reply_fd(n.listener(), n.req.id, fd.release(), cloexec));
    }
    if (errno != ENOENT || !(oflag & O_CREAT)) return void(reply_error(n.listener(), n.req.id, errno));
    // Records are keyed by 64 bits of the name's SHA-256: a second name found to share them
    // would take the first queue's record, leaving that queue unreachable and not removed at
    // the session's end (a message planted for whoever opens its name next). Refused.
    if (n.core->ipc().name_clash(IpcKind::Mq, hash, name)) {
      refuse(n, Decision{false, -2}, "ipc", what + " (its name's hash is another queue's of this session)", EACCES);
      return;
    }
    Fd made(static_cast<int>(syscall(SYS_mq_open, name.c_str(), oflag | O_EXCL, mode, withAttr ? &attr : nullptr)));
    if (!made.ok() && errno == EEXIST) continue;  // made outside meanwhile: look again
    if (!made.ok()) return void(reply_error(n.listener(), n.req.id, errno));
    // Recorded before the fd is handed over: an engine killed in between leaves a record,
    // and the replayed call finds its queue.
    if (!record(*n.core, IpcKind::Mq, hash, IpcRecord{queue_inode(made.get()), 0, n.pol->id})) {
      syscall(SYS_mq_unlink, name.c_str());
      return void(reply_error(n.listener(), n.req.id, ENOSPC));
    }
    n.core->ipc().set_name(IpcKind::Mq, hash, name);
    return void(reply_fd(n.listener(), n.req.id, made.release(), cloexec));
  }
  reply_error(n.listener(), n.req.id, EAGAIN);
}

// mq_unlink(name): only a queue the session made, still the same queue.
void mq_unlink_for(Notif& n) {
  std::string name;
  const int err = read_string(n.caller.tid, n.req.data.args[0], name, NAME_MAX + 1);
  if (!n.valid()) return;
  if (err < 0) return void(reply_error(n.listener(), n.req.id, err == -ENAMETOOLONG ? ENAMETOOLONG : EFAULT));
  const uint64_t hash = ipc_name_hash(name);
  std::lock_guard<std::mutex> g(n.core->ipc().get_lock());
  Fd fd = open_existing_queue(name);
  if (!fd.ok() && errno == ENOENT) return void(reply_error(n.listener(), n.req.id, ENOENT));
  IpcRecord rec;
  if (!fd.ok() || !queue_is_ours(*n.core, hash, fd.get(), &rec)) {
    refuse(n, Decision{false, -2}, "ipc", "mqueue /" + name + " (made outside this sandbox)", EACCES);
    return;
  }
  if (ipc_refused_across(n, rec, "mqueue /" + name)) return;
  if (syscall(SYS_mq_unlink, name.c_str()) != 0) return void(reply_error(n.listener(), n.req.id, errno));
  n.core->ipc().drop(IpcKind::Mq, hash);
  reply_value(n.listener(), n.req.id, 0);
}

}  // namespace

namespace {
// The mqueue filesystem's device. Every mount of it in one IPC namespace is the same
// superblock, so one device number stands for /dev/mqueue and any other mount. It is learned
// by making a queue of the engine's own. When that fails (the user's RLIMIT_MSGQUEUE or the
// queue count spent), each device of a kernel filesystem (major 0) is looked up once in
// mountinfo instead: a mount of it there says whether it is mqueue. Never "unknown, so no".
struct MqueueFs {
  bool probed = false;
  dev_t dev = 0;
};

const MqueueFs& mqueue_probe() {
  static MqueueFs m;
  static std::once_flag once;
  std::call_once(once, [] {
    char name[64];
    snprintf(name, sizeof name, "/sbx-probe-%d-%lx", static_cast<int>(getpid()), static_cast<unsigned long>(time(nullptr)));
    mq_attr attr{};
    attr.mq_maxmsg = 1;
    attr.mq_msgsize = 1;
    Fd q(static_cast<int>(syscall(SYS_mq_open, name + 1, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr)));
    if (!q.ok()) return;
    syscall(SYS_mq_unlink, name + 1);
    struct stat st;
    if (fstat(q.get(), &st) != 0) return;
    m.probed = true;
    m.dev = st.st_dev;
  });
  return m;
}

// Whether a mount of device `dev` in mountinfo is of type mqueue. Fields: id parent
// major:minor root mountpoint options [optional…] - fstype source super-options.
bool mounted_as_mqueue(dev_t dev) {
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (!f) return false;
  char* line = nullptr;
  size_t cap = 0;
  bool found = false;
  while (!found && getline(&line, &cap, f) > 0) {
    unsigned major_no = 0, minor_no = 0;
    if (sscanf(line, "%*u %*u %u:%u", &major_no, &minor_no) != 2) continue;
    if (makedev(major_no, minor_no) != dev) continue;
    const char* sep = strstr(line, " - ");
    found = sep && strncmp(sep + 3, "mqueue ", 7) == 0;
  }
  free(line);
  fclose(f);
  return found;
}

// Devices already looked up (only when the probe failed); a handful of kernel filesystems.
bool mqueue_by_mountinfo(dev_t dev) {
  static std::mutex lock;
  static std::unordered_map<dev_t, bool> seen;
  std::lock_guard<std::mutex> g(lock);
  auto it = seen.find(dev);
  if (it != seen.end()) return it->second;
  const bool is = mounted_as_mqueue(dev);
  if (seen.size() < 1024) seen.emplace(dev, is);
  return is;
}
}  // namespace

bool mqueue_object(const struct stat& st) {
  const MqueueFs& m = mqueue_probe();
  if (m.probed) return st.st_dev == m.dev;
  return major(st.st_dev) == 0 && mqueue_by_mountinfo(st.st_dev);
}

bool mqueue_open_refused(Notif& n, const struct stat& st, const std::string& real) {
  if (S_ISDIR(st.st_mode)) return false;  // the filesystem's top: names are listed, nothing more
  const std::string name = real.substr(real.rfind('/') + 1);
  IpcRecord rec;
  if (queue_recorded(*n.core, ipc_name_hash(name), static_cast<int64_t>(st.st_ino), &rec)) return ipc_refused_across(n, rec, "mqueue /" + name);
  return refuse(n, Decision{false, -2}, "ipc", "mqueue /" + name + " (made outside this sandbox)", EACCES);
}

void ipc_session_ended(Core& core) {
  // No later sandbox may use them (they are this session's), and an outside program that
  // adopted one of their keys (a get without IPC_EXCL) must not keep a channel to a sandbox.
  // A shared-memory segment still attached outside lives until its last detach.
  // A queue left behind would be a message waiting for whoever opens that name next: a
  // daemon outside that mq_opens its queue without O_EXCL would read what the sandbox put
  // there. Each is unlinked by name once it is shown to be still ours (the same inode); one
  // whose name this supervisor never learned (made before a crash, not opened since) stays.
  std::lock_guard<std::mutex> g(core.ipc().get_lock());
  for (const auto& [rec, name] : core.ipc().named(IpcKind::Mq)) {
    Fd fd = open_existing_queue(name);
    if (fd.ok() && queue_inode(fd.get()) == rec.key) syscall(SYS_mq_unlink, name.c_str());
  }
  shm_session_ended(core);  // the session's /dev/shm files, likewise
  core.ipc().sweep([](IpcKind k, uint64_t id, const IpcRecord& rec) {
    const bool sysv = k == IpcKind::Shm || k == IpcKind::Sem || k == IpcKind::Msg;
    if (sysv && !sysv_gone(k, id, rec)) remove_object(k, static_cast<int>(id));
    return true;
  });
}

void handle_ipc(Notif& n) {
  if (!same_ipc_namespace(n.caller.tid)) {
    if (n.valid()) refuse(n, Decision{false, -2}, "ipc", "another IPC namespace", EPERM);
    return;
  }
  switch (n.req.data.nr) {
    case __NR_shmget: return sysv_get_for(n, IpcKind::Shm);
    case __NR_semget: return sysv_get_for(n, IpcKind::Sem);
    case __NR_msgget: return sysv_get_for(n, IpcKind::Msg);
    case __NR_shmat: return sysv_use_for(n, IpcKind::Shm, -1);
    case __NR_shmctl: return sysv_use_for(n, IpcKind::Shm, 1);
    case __NR_semop:
    case __NR_semtimedop: return sysv_use_for(n, IpcKind::Sem, -1);
    case __NR_semctl: return sysv_use_for(n, IpcKind::Sem, 2);
    case __NR_msgsnd:
    case __NR_msgrcv: return sysv_use_for(n, IpcKind::Msg, -1);
    case __NR_msgctl: return sysv_use_for(n, IpcKind::Msg, 1);
    case __NR_mq_open: return mq_open_for(n);
    case __NR_mq_unlink: return mq_unlink_for(n);
    default: return report_error(n, "ipc", std::to_string(n.req.data.nr), EPERM);
  }
}

}  // namespace sbx
