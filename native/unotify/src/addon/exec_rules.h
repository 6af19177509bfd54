// What is decided about an exec image: exec rules identify images, not names.
//
// One entry point, decide_exec_image, called by the exec pre-check (the file the caller
// asked to run, resolved by us) and by the verification after the exec (the image the
// kernel loaded, /proc/<pid>/exe). It decides:
//   - anonymous images (memfd, deleted file, any image the engine cannot reach again from
//     its own root) are refused whenever the policy has exec rules;
//   - the dynamic loader (recognised by identity: src/policy resolved the loaders) is
//     decided on the program it is asked to run (`ld.so [options] PROG`);
//   - program rules match the image by name (as before) or by identity: dev/ino, then the
//     SHA-256 of the content (copies, hard links), hashed once per (dev, ino, size, mtime,
//     ctime) and only when the size equals a denied image's size;
//   - argument rules of a known tool (git, kubectl, docker, npm …) match the subcommand
//     after the tool's global options; every way to read them that could deny, denies.
#pragma once
#include <string>
#include <vector>

#include "path_resolve.h"
#include "policy.h"

namespace sbx {

struct ExecImage {
  int fd = -1;         // the image (any open mode; reopened read-only to hash)
  std::string path;    // its canonical path, or the procfs text of an unnamed object
  std::string asked;   // the path the program was asked to run as (its basename matches names)
  std::vector<std::string> argv;
  const Caller* caller = nullptr;  // whose cwd a loader's PROG is relative to (null: cannot resolve)
};

struct ExecVerdict {
  Decision d;
  const char* op = "exec";  // "identity" for an image that cannot be identified
  std::string target;       // what the violation names (path, plus why when built-in)
};

ExecVerdict decide_exec_image(const Policy& p, const ExecImage& img);

// The `commands:` override for a running image (img.fd: /proc/<pid>/exe; img.asked: its
// AT_EXECFN), by identity only: the image is one of the override's programs (dev/ino), or
// the interpreter of one of its scripts while the path the kernel was asked to run is one
// of the paths the script was found as and still names it. A program that is merely
// called like the override's name matches nothing. Scripts only when `scripts` (right
// after an exec). -1: none; else index in p.commands. `via_script`: set when it is a script's.
int command_override_for(const Policy& p, const ExecImage& img, bool scripts, bool* via_script = nullptr);

// Exec rules in force: exec.deny/allow (programs or paths), an exec default deny, commands:.
// Without them the decision needs only the image's path (ExecImage::fd may be -1).
bool exec_rules_exist(const Policy& p);
// Does the decision read argv (argument rules, the loader's PROG when programs are denied)?
bool exec_uses_argv(const Policy& p);

// The SHA-256 of an open file (cached by dev, ino, size, mtime, ctime). false when it
// cannot be read.
bool image_digest(int fd, Sha256& out);

// Where the subcommand may start in argv (indices), given a tool's global options. Every
// reading is returned: an option not in the table may or may not take a value.
std::vector<size_t> subcommand_starts(const std::vector<std::string>& argv, const ToolOptions& t);

// `ld.so [options] PROG args…`: the index of PROG, 0 when none is given (nothing runs),
// -1 when the options cannot be read with certainty (an unknown option, `--x=y`, `--`).
int loader_prog_index(const std::vector<std::string>& argv);

// Hash cost counters (tests and bench): files hashed, bytes hashed, cache hits.
struct HashStats {
  uint64_t hashed = 0, bytes = 0, hits = 0;
};
HashStats hash_stats();

}  // namespace sbx
