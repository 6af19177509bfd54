// Who runs under what (DESIGN invariant 4: a process's policy is fixed at its creation).
//
// Every sandboxed process carries a *tag*: the hard limit of its RLIMIT_CORE (the soft
// limit stays 0, so no core file is ever written). This table maps tags to policies; the
// kernel keeps each process's tag. Why a tag in the process and not a pid table placed by
// ancestry (walking PPid to a known ancestor):
//   - The kernel copies a parent's rlimits into the child at fork, under the parent's
//     task lock — the lock prlimit(2) takes too — and keeps them across exec and
//     reparenting. A child therefore carries its parent's tag *as of the fork*, whatever
//     the parent does afterwards: die at once (double fork), be SIGKILLed by a sibling,
//     fork from many threads at the moment its policy changes (the child gets the old or
//     the new tag, whole), or hand the child to init, a subreaper or its own parent
//     (CLONE_PARENT). Ancestry is never read, so none of that matters.
//   - Nothing inside can change a tag: the filter refuses setrlimit(RLIMIT_CORE) and
//     prlimit64 setting RLIMIT_CORE (the trapped form, on another pid, is refused by the
//     engine, proc.cc), and without CAP_SYS_RESOURCE a hard limit only goes down. Only
//     the engine moves tags (prlimit on a process of the same user needs no privilege).
//   - It costs no trap: fork, vfork and clone stay allowed by number; a process's first
//     decision reads its tag with one prlimit(2) (then cached per thread until the next
//     assignment).
// A policy change — the shell's cd (assign from JS), a `commands:` override at the exec
// stop (exec.cc) — gives the process a fresh tag below every tag handed out so far (tags
// only go down), bound to the new policy; children forked earlier keep theirs. A process
// whose tag this engine did not hand out, or whose limits it cannot read, is unplaced: it
// gets the session's strictest policy (`strict`), never a default.
//
// Tags are recorded in a region of the keeper's memfd (after the journal): a supervisor
// restarted after a kill -9 reads them back, so every running process — overrides
// included — keeps its policy, and what else is known of it (the shell that follows cd, a
// seal, a filter of its own, non-dumpable, the shells' environment blocks): nothing that
// protects a process lives in this engine's memory only. Tags are random per engine (a 2^48 range), so another
// session's processes are not taken for this one's.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "shm_region.h"
#include "sys.h"

namespace sbx {

class ProcTable {
 public:
  explicit ProcTable(int strictPolicy);
  ~ProcTable();
  ProcTable(const ProcTable&) = delete;
  ProcTable& operator=(const ProcTable&) = delete;
  // Records tags in [offset, offset+size) of fd (the keeper's memfd) and loads the ones a
  // previous engine recorded there. false: not usable (tags then live in memory only).
  bool open_store(int fd, size_t offset, size_t size);
  // Policy of the caller (a tid; `strict` when unplaced); its tgid in *tgid_out. *task_out
  // (when given): the serial of the pinned cache entry this answer came from, 0 when none.
  // Two lookups that return the same nonzero serial saw the same task: each cache entry
  // holds a pidfd taken when it was made and gets a serial never handed out again, and a
  // hit requires that pidfd to be alive (a tid names a new task only once the old one is
  // gone). Other tables may key per-task facts by it (exec_state.h) without a pidfd of
  // their own.
  // *pin_out (when given): that entry's pidfd if it is a process pidfd (tid leads its
  // group), else null.
  int lookup(int tid, int* tgid_out, uint64_t* task_out = nullptr, SharedFd* pin_out = nullptr);
  // Gives tgid a fresh tag bound to policy. followsCd: tgid is the interactive shell (its
  // policy follows its directory; it may act on any of its session's processes). 0 or
  // -errno (-ERANGE: the process's hard core limit leaves no room for tags).
  // sealed: tgid is an `sbx exec` that narrowed itself (src/supervisor/narrow.ts): it still
  // holds what its flags hide from its command (the environment --deny-env removes), so no
  // other process may read or debug it (debug.cc), its own children included.
  // A tag whose process holds a filter of its own passes that on: the fresh one is filtered too.
  int assign(int tgid, int policy, bool followsCd, bool sealed = false);
  // tgid is about to add a seccomp filter or Landlock ruleset of its own (self_restrict.cc): a
  // fresh tag, same policy, marked filtered. Every process forked from it after this carries
  // that tag (the kernel copies it with the filter), and every tag handed to one of them later
  // stays filtered, so an override is never given under a filter the sandbox wrote. 0 or -errno.
  int mark_filtered(int tgid, int policy);
  // tgid carries a filtered tag: it, or an ancestor before forking it, added a filter.
  bool filtered(int tgid);
  // tgid asked not to be dumpable (prctl PR_SET_DUMPABLE 0; dumpable.cc) or to be again: a
  // fresh tag, same policy, marked non-dumpable or not. The kernel passes non-dumpable to a
  // forked child, and so does the tag (fork is not trapped); it stays across exec and later
  // assignments (stricter than the kernel, which resets it at exec: the engine cannot tell a
  // failed exec from one that ran the same file). 0 or -errno.
  int set_dumpable(int tgid, int policy, bool dumpable);
  // tgid carries a non-dumpable tag (or its tag cannot be read).
  bool undumpable(int tgid);
  // Policy of tgid if it is this session's (its tag is one of ours), else -1.
  int member_policy(int tgid);
  // A pidfd on tgid if it is this session's: taken before the tag is read, so the answer is
  // about the process the pidfd holds (a pid reused after a scan fails the check). Invalid
  // when gone or not a member.
  Fd pin_member(int tgid);
  // Every process of the session alive now, found by its tag (a scan of /proc: children
  // count from their fork on, before any trap).
  std::vector<int> members_now();
  bool follows_cd(int tgid);
  // tgid holds the environment block an interactive shell of the session was started with:
  // a fork of it (a subshell, a pipeline's compound command, a background loop), which keeps
  // that block — variables the shell's hook hid included (the hook only unsets them) — after
  // the shell itself has exec'd another or exited. Known by the blocks recorded when a shell
  // exec'd (exec_starts), and by a live shell's own (same image, same block). A program the
  // shell execs (that shell's binary too) has a block of its own.
  bool holds_shell_environ(int tgid);
  // tgid execs (exec.cc, before the CONTINUE): a shell that execs another program in its
  // place no longer follows cd (the launcher's one exec into the shell aside).
  void exec_starts(int tgid);
  // Sealed by assign (and still that process)?
  bool sealed(int tgid);
  // The processes that follow cd (the session's interactive shells), alive now.
  std::vector<int> followers();
  // Every session's of this supervisor (each session has its engine and table): a directory
  // holding another terminal's shell is no more to be moved from here than its own.
  static std::vector<int> followers_of_every_session();
  int strict() const { return strict_; }
  size_t size();  // processes seen (thread-group leaders alive in the tgid cache)
  size_t tags();  // tags recorded
  // The highest policy id any live record in a keeper's memfd names (the tags a previous
  // engine of the session handed out), read without mapping or changing it; -1 when none.
  // A resumed supervisor hands out new ids above it, so no process that carries a tag of
  // its predecessor's can ever find a new policy under that id (whatever state it kept).
  static int max_stored_policy(int memfd);

 private:
  struct Tag {
    int policy;
    int owner;  // the process the tag was handed to
    uint64_t ownerStart;
    bool follows;
    int slot;  // in the store, -1 in memory only
    bool sealed = false;
    bool filtered = false;  // mark_filtered
    bool undumpable = false;  // set_dumpable
  };
  struct Rec;  // a store record (procs.cc)
  int tag_policy(int pid, bool* ok);
  // undumpable: 1 mark, 0 clear, -1 as the tag the process carries now. samePolicy: only a mark
  // (same policy): -EAGAIN when the process's tag is no longer under `policy`.
  int assign_tag(int tgid, int policy, bool followsCd, bool sealed, bool filtered, int undumpable, bool samePolicy);
  // Records a shell's environment block hash (in the store too, while there is room).
  void note_shell_environ_locked(uint64_t hash);
  uint64_t fresh_tag_locked(uint64_t hard);
  int store_put_locked(uint64_t tag, const Tag& t);
  void store_free_locked(int slot);
  void sweep_locked();
  // *serial: the pinned entry's, 0 if none; *pin: its pidfd when that is a process pidfd.
  int tgid_of(int tid, uint64_t* serial, SharedFd* pin);

  const int strict_;
  std::mutex assignMu_;  // one assignment at a time: tags are handed out in order
  std::mutex mu_;        // tags_, followers_, the store
  std::unordered_map<uint64_t, Tag> tags_;
  struct Follower {
    Fd pidfd;
    // Execs it may still make and stay the shell: 1 for a session's first process, placed
    // before it execs the shell (the launcher), 0 once that happened. A later exec in place
    // (`bash -ic 'cmd'` runs its last command so) is another program: not the shell.
    int execs_left = 0;
  };
  void drop_follower_locked(int tgid);
  std::unordered_map<int, Follower> followers_;
  // Environment blocks of the session's shells (hashes), recorded at each exec of one:
  // holds_shell_environ. Each → its slot in the store (-1: in memory only).
  std::unordered_map<uint64_t, int> shell_environs_;
  std::unordered_map<int, Follower> sealed_;  // the same pin, for sealed processes
  uint64_t next_ = 0;  // the next tag to hand out (0: not seeded yet)
  // The store: a header then fixed records in the mapped region.
  ShmStore store_;
  Rec* recs_ = nullptr;
  uint32_t freeHint_ = 0;      // every record below it is in use
  uint32_t sweepAt_ = 128;     // sweep before using a record at or past this index
  std::atomic<uint64_t>* storedNext_ = nullptr;
  // tid → tgid cache (a pidfd per entry against tid reuse), so a thread's syscalls do not
  // each read /proc/<tid>/status; it also keeps the policy read from the tag, valid while
  // gen_ is unchanged (only the engine moves a tag: every assignment bumps gen_).
  std::mutex idMu_;
  struct Id {
    int tgid;
    SharedFd pidfd;
    int policy = -1;
    uint64_t gen = 0;
    uint64_t serial = 0;
    bool process = false;  // pidfd is a process pidfd (tid leads its group), not a thread's
  };
  std::unordered_map<int, Id> ids_;
  std::atomic<uint64_t> gen_{1};
  uint64_t nextSerial_ = 1;  // under idMu_
};

}  // namespace sbx
