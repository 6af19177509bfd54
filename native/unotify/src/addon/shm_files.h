// POSIX shared memory and named semaphores (shm_open, sem_open): files in /dev/shm that
// programs outside the sandbox share too (DESIGN invariant 5: no unsandboxed process as a
// deputy). A browser's or a daemon's segment there holds its data, and a name a daemon will
// open later is a message waiting for it. So, like SysV objects (ipc.h), a session reaches
// only the /dev/shm objects it made: the engine records each object it creates there
// (inode and birth time, which no later object shares) in the session's IpcTable — opened,
// made by mkdir, mknod, symlink, O_TMPFILE or a Unix socket's bind — and refuses every open,
// exec, unlink, rename, link, truncate, chmod, chown, utimes or xattr of another object there
// (by path or through an fd handed in) with `sbx: denied ipc /dev/shm/NAME (made outside this
// sandbox)`. New names go only in /dev/shm itself or a directory the session made, at most 16
// deep, and what is left of the session's objects is removed when it ends. /dev/shm itself
// stays listable but unchangeable (names and metadata are visible: stat is not trapped).
#pragma once
#include <string>

#include "sys.h"

struct stat;

namespace sbx {

struct Notif;
class Core;

// Is this object (stat of it, its proven path) in /dev/shm, below its top directory?
bool shm_object(const struct stat& st, const std::string& real);
// Is it /dev/shm itself?
bool shm_top(const struct stat& st);
// Is this proven path below /dev/shm/ by that name?
bool under_dev_shm(const std::string& real);
// For an existing object: refuses (and answers) when it is in /dev/shm and not the session's.
// fd: the object itself, or -1 with (dirfd, name) naming it (not followed).
bool shm_refused(Notif& n, int fd, int dirfd, const char* name, const std::string& real);
// The same for an open fd whose stat the caller has already taken (no syscall unless in /dev/shm).
bool shm_refused(Notif& n, int fd, const struct stat& st, const std::string& real);
// Is the directory dirfd (its proven path `dir`) /dev/shm itself or one below it?
bool shm_place(const struct stat& dir_st, const std::string& dir);
// A running image (/proc/<tid>/exe) that is another program's /dev/shm object (a denial line).
bool shm_image_refused(Notif& n, const std::string& exe);
// Before creating `real` in directory `dirfd` (its stat dir_st): refuses when that directory
// is in /dev/shm and neither /dev/shm itself nor one the session made, or the name would lie
// deeper than the limit.
bool shm_create_refused(Notif& n, int dirfd, const struct stat& dir_st, const std::string& real);
// A symlink about to be made, moved or hard-linked at `real` in directory `dirfd`: refused
// when that directory is /dev/shm or one below it (a program opening that name would follow it
// out, and write where the sandbox reads).
bool shm_symlink_refused(Notif& n, int dirfd, const std::string& real);
// The same, and never a name in the mqueue filesystem (mq_open makes queues, and records
// them): the one check the path calls that make a name go through (open, mkdir, mknod,
// symlink, link, rename).
bool ipc_create_refused(Notif& n, int dirfd, const struct stat& dir_st, const std::string& real);
// A directory of /dev/shm renamed to `dest` takes its tree along: refused when that tree
// would then reach deeper than the limit (the session's end must reach all of it), or holds a
// symlink (shm_symlink_refused).
bool shm_move_refused(Notif& n, int dirfd, const char* name, const std::string& real, const std::string& dest);
// After creating `real`: records the new object if it is in /dev/shm (fd, or dirfd+name), as
// made under the caller's policy. false: it could not be recorded (the records are full):
// the caller removes it again.
bool shm_record(Notif& n, const std::string& real, int fd, int dirfd = -1, const char* name = nullptr);
// Before an unlink, or a rename that may replace (dirfd, name): the object, if it is one of
// ours (held by an O_PATH fd). After the call, shm_forget drops its record when the object
// has no name left (its link count, read from the object itself, is 0): a name made by a
// link meanwhile, or a rename onto itself, keeps it.
struct ShmGoing {
  bool ours = false;
  unsigned long long ino = 0;
  Fd held;
};
ShmGoing shm_going(Core& core, int dirfd, const char* name, const std::string& real);
void shm_forget(Core& core, const ShmGoing& g);
// The session ended: its objects still in /dev/shm are removed (ipc_session_ended).
void shm_session_ended(Core& core);

}  // namespace sbx
