// SysV IPC objects and POSIX message queues this session made (DESIGN invariant 5: no
// unsandboxed process as a deputy).
//
// SysV objects (shared memory, semaphores, message queues) and POSIX message queues are
// shared by every process of the user in the IPC namespace: a daemon outside that reads
// commands from a queue with a known key, or keeps a secret in a segment, would be one
// msgsnd or shmat away. So the engine makes every object a sandboxed process asks for
// itself (the get, mq_open) and records it here; a key, id or name that names an object
// made outside the session is refused, and so is every operation on an id not recorded
// here. Ids are registers (nothing a racing thread can change), so an allowed operation
// CONTINUEs; names are read once and the queue is opened by the engine and injected.
//
// Records live in a region of the keeper's memfd (after the process tags): a supervisor
// restarted after a kill -9 reads them back, so a session keeps its objects.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "shm_region.h"

struct stat;

namespace sbx {

struct Notif;

// ShmFile: a file in /dev/shm (shm_files.h): ident its inode, key its birth time.
enum class IpcKind : uint32_t { Shm = 1, Sem = 2, Msg = 3, Mq = 4, ShmFile = 5 };

// Records never outlive their object unnoticed: the session's own removals (IPC_RMID,
// mq_unlink) are done by the engine, which drops the record; a new object the engine makes
// drops any other record of its slot in the kernel's table (one object per slot at a time),
// in every session this supervisor serves: a sibling sandbox that makes objects until the
// kernel hands a slot's id around again leaves no session a record of the old object.
// What is left — an object of ours removed by someone outside, its id later handed to an
// object made outside — is caught by identity: SysV, the key (fixed for an object's life)
// and, for shared memory, the creator's pid (the engine's); mq, the queue's inode.
struct IpcRecord {
  int64_t key = 0;   // SysV key; mq: the inode number
  int32_t cpid = 0;  // shm: creator pid; otherwise 0
  // The engine policy id of the program that made it (-1: not known, a record an older
  // engine stored): an object made under a `commands:` override is that override's programs'
  // only, and an override's programs use no other object of the session (ipc_boundary).
  int32_t policy = -1;
};

class IpcTable {
 public:
  IpcTable();  // joins the process's tables: a new object of any of them is seen by all
  ~IpcTable();
  // Records in [offset, offset+size) of fd (the keeper's memfd); loads what a previous
  // engine recorded there. false: not usable (records then live in memory only).
  bool open_store(int fd, size_t offset, size_t size);
  // ident: the SysV id, or the hash of an mq name (ipc_name_hash). false: no room (the
  // store and the in-memory bound are full; sweep() first). slotMask (SysV): the bits of an
  // id that name its slot in the kernel's table — a slot holds one object at a time, so a
  // record of another id in the new object's slot is stale and goes.
  bool add(IpcKind kind, uint64_t ident, const IpcRecord& rec, uint64_t slotMask = 0);
  bool find(IpcKind kind, uint64_t ident, IpcRecord* rec);
  void drop(IpcKind kind, uint64_t ident);
  // The name a queue of ours (Mq) was opened by, kept in memory only (the store holds its
  // hash): the session's end unlinks its queues by name (ipc_session_ended). A supervisor
  // restarted after a crash learns a name again when the session next opens that queue.
  void set_name(IpcKind kind, uint64_t ident, const std::string& name);
  // Is there a record of (kind, ident) under another known name (two names, one hash)?
  bool name_clash(IpcKind kind, uint64_t ident, const std::string& name);
  // Every record of `kind` whose name is known: (record, name).
  std::vector<std::pair<IpcRecord, std::string>> named(IpcKind kind);
  // Drops every record `gone` says no longer names a live object of ours.
  void sweep(const std::function<bool(IpcKind, uint64_t, const IpcRecord&)>& gone);
  // Held while a get looks a key up and makes its object: two of the session's threads
  // asking for the same new key at once get the same object.
  std::mutex& get_lock() { return getMu_; }

 private:
  struct Rec;
  using Key = std::pair<uint32_t, uint64_t>;
  struct Entry {
    IpcRecord rec;
    int slot;  // in the store; -1 in memory only
    std::string name;  // Mq: the queue's name, when known (set_name)
  };
  int store_put_locked(IpcKind kind, uint64_t ident, const IpcRecord& rec);
  // Drops this table's records in that id's slot, the id itself included: another session's
  // engine was just handed it for a new object (see add).
  void drop_slot(IpcKind kind, uint64_t ident, uint64_t slotMask);
  std::mutex mu_;
  std::mutex getMu_;
  std::map<Key, Entry> live_;
  ShmStore store_;
  Rec* recs_ = nullptr;
};

uint64_t ipc_name_hash(const std::string& name);

// The reason the caller may not use an object of its session made under `rec.policy` (the
// same boundary as a `commands:` override's servers, net_boundary.h: either side is an
// override's and they are not the same one), or nullptr. An override's program (a database
// client, a cloud CLI that reads the credentials only it may) would otherwise share memory or
// a queue with the programs the policy keeps from them.
const char* ipc_boundary(Notif& n, const IpcRecord& rec);
// Refuses (answers, with a denial line naming `what`) when ipc_boundary gives a reason.
bool ipc_refused_across(Notif& n, const IpcRecord& rec, const std::string& what);

// The mqueue filesystem (/dev/mqueue where it is mounted; every mount of it in this IPC
// namespace is one filesystem): its files are the queues themselves, and an fd opened on one
// is a queue descriptor. Is `st` an object of it (the queues' filesystem, found once by making
// a queue of our own)?
bool mqueue_object(const struct stat& st);
// An existing entry opened through that filesystem: its top directory passes (a listing); a
// queue must be the session's (its name's record, the same inode); else refused like mq_open.
bool mqueue_open_refused(Notif& n, const struct stat& st, const std::string& real);

}  // namespace sbx
