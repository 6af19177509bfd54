// See exec_rules.h.
#include "exec_rules.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <unordered_map>

#include "sys.h"

namespace sbx {

namespace {

struct Key {
  uint64_t dev, ino;
  int64_t size, mtime_s, mtime_ns, ctime_s, ctime_ns;
  bool operator==(const Key& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_s == o.mtime_s && mtime_ns == o.mtime_ns &&
           ctime_s == o.ctime_s && ctime_ns == o.ctime_ns;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<uint64_t>()(k.ino * 1000003u ^ k.dev) ^ std::hash<int64_t>()(k.ctime_ns ^ k.size);
  }
};

Key key_of(const struct stat& st) {
  return Key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec};
}

// One cache for the engine: a file is hashed once until it changes (any write moves
// mtime/ctime). Bounded: cleared when full (rebuilding costs one hash per image again).
constexpr size_t kCacheMax = 4096;
std::mutex g_mu;
std::unordered_map<Key, Sha256, KeyHash> g_cache;
HashStats g_stats;

bool hash_fd(int fd, Sha256& out, uint64_t& bytes) {
  Sha256Ctx c;
  static thread_local std::vector<char> buf(1 << 16);
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    c.update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  bytes = static_cast<uint64_t>(off);
  out = c.finish();
  return true;
}

int64_t ns_of(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// Lazily hashed facts about the image being decided.
struct Probe {
  int fd;
  struct stat st {};
  bool tried = false, ok = false;
  bool unknown = false;  // a comparison needed the content and it could not be read
  Sha256 digest{};
};

bool same_image(const ImageId& id, Probe& pr) {
  if (id.dev == pr.st.st_dev && id.ino == pr.st.st_ino) return true;
  // A copy has the size of its original: only then is the content worth hashing. This
  // caps the cost at one hash of a file as big as some image the policy names.
  if (id.size != pr.st.st_size) return false;
  if (!pr.tried) {
    pr.tried = true;
    pr.ok = image_digest(pr.fd, pr.digest);
  }
  if (!pr.ok) {
    pr.unknown = true;
    return false;
  }
  if (id.has_sha) return pr.digest == id.sha;
  // A big image the policy did not hash: hash the original now — only the version the
  // policy saw (else whoever can write it could change what the copy is compared with).
  Fd orig(open(id.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat ost;
  Sha256 od{};
  if (!orig.ok() || fstat(orig.get(), &ost) < 0 || ost.st_dev != id.dev || ost.st_ino != id.ino ||
      ost.st_size != id.size || ns_of(ost.st_mtim) != id.mtime_ns || ns_of(ost.st_ctim) != id.ctime_ns ||
      !image_digest(orig.get(), od)) {
    pr.unknown = true;
    return false;
  }
  return pr.digest == od;
}

bool has_deny_programs(const Policy& p) {
  for (const auto& r : p.exec.programs)
    if (r.deny) return true;
  return false;
}

bool args_at(const ProgramRule& r, const std::vector<std::string>& argv, size_t c) {
  if (c == std::string::npos || argv.size() < c + r.args.size()) return false;
  for (size_t i = 0; i < r.args.size(); i++)
    if (argv[c + i] != r.args[i]) return false;
  return true;
}

// git's dashed form: argv[0] `git-push` (git-core's programs) reads as `git push`. Twin of
// dashedForm (src/policy/exec-tools.ts).
std::vector<std::string> dashed_form(const std::vector<std::string>& argv) {
  if (argv.empty()) return argv;
  const size_t slash = argv[0].rfind('/');
  const std::string b = slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1);
  if (b.size() < 5 || b.compare(0, 4, "git-") != 0 || !(b[4] >= 'a' && b[4] <= 'z')) return argv;
  for (size_t i = 4; i < b.size(); i++)
    if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-')) return argv;
  std::vector<std::string> out{"git", b.substr(4)};
  out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Decision built_in_deny() { return Decision{false, -2}; }

ExecVerdict verdict(Decision d, const char* op, const std::string& target) {
  ExecVerdict v;
  v.d = d;
  v.op = op;
  v.target = target;
  return v;
}

ExecVerdict decide(const Policy& p, const ExecImage& img, int depth);

// `ld.so [options] PROG …`: decide on PROG, found like the loader finds it.
bool decide_loader_prog(const Policy& p, const ExecImage& img, int depth, ExecVerdict& out) {
  int k = loader_prog_index(img.argv);
  if (k == 0) return false;  // no program: the loader prints its help or fails
  const std::string who = img.path + " (the dynamic loader";
  if (k < 0) {
    out = verdict(built_in_deny(), "exec", who + " with options sbx cannot read with certainty, while exec rules deny programs)");
    return true;
  }
  const std::string& prog = img.argv[static_cast<size_t>(k)];
  // Without a "/" the loader searches the library path (--library-path, LD_LIBRARY_PATH,
  // the cache): which file that is cannot be proven here.
  if (prog.find('/') == std::string::npos || !img.caller || depth >= 2) {
    out = verdict(built_in_deny(), "exec", who + " running " + prog + ": sbx cannot prove which file that is)");
    return true;
  }
  Fd base;
  Resolved r;
  int re = prog[0] == '/' ? 0 : open_base(*img.caller, AT_FDCWD, base);
  if (re == 0) re = resolve(*img.caller, base.get(), prog, true, 0, false, r);
  if (re < 0 || !r.fd.ok() || r.unnamed) {
    out = verdict(built_in_deny(), "exec", who + " running " + prog + ": sbx cannot identify it)");
    return true;
  }
  ExecImage sub;
  sub.fd = r.fd.get();
  sub.path = r.path;
  sub.asked = prog;
  sub.argv.assign(img.argv.begin() + k, img.argv.end());
  sub.caller = img.caller;
  ExecVerdict v = decide(p, sub, depth + 1);
  if (v.d.allow) return false;
  out = v;
  out.target = v.target + " (run by the dynamic loader " + img.path + ")";
  return true;
}

ExecVerdict decide(const Policy& p, const ExecImage& img, int depth) {
  Probe pr;
  pr.fd = img.fd;
  // Without exec rules only the path is decided (read rules; exec paths are empty), so a
  // caller may give no fd (exec.cc then reads the image's name with one readlink).
  const bool has_rules = exec_rules_exist(p);
  if ((has_rules || img.fd >= 0) && (img.fd < 0 || fstat(img.fd, &pr.st) < 0))
    return verdict(built_in_deny(), "identity", img.path + " (the image cannot be examined)");

  // Anonymous images: nothing names them, so no rule can be applied to them.
  if (has_rules && (pr.st.st_nlink == 0 || !proven_path(img.fd, img.path)))
    return verdict(built_in_deny(), "identity",
                   img.path + " (an anonymous image — memfd, deleted file, or not reachable from sbx's root — "
                              "cannot be run while exec rules are in force)");

  Decision d = decide_path(p.read, img.path);
  if (!d.allow) return verdict(d, "exec", img.path);
  Decision e = decide_path(p.exec.paths, img.path);
  if (!e.allow) return verdict(e, "exec", img.path);

  // Only a policy that denies programs pays for identities (hashing, the loader).
  const bool deny_rules = has_deny_programs(p);
  if (deny_rules) {
    bool loader = false;
    for (const auto& l : p.exec.loaders) loader = loader || same_image(l, pr);
    ExecVerdict lv;
    if (loader && decide_loader_prog(p, img, depth, lv)) return lv;
  }

  // Program rules that apply to this image: by name, or (deny rules present) by identity.
  // git-core's `git-push` (a hard link to git, matched by identity) is `git push`.
  const std::vector<std::string> argv = dashed_form(img.argv);
  std::vector<const ProgramRule*> rules;
  std::vector<std::vector<size_t>> starts;
  std::vector<size_t> readings;
  bool by_identity_missed = false;
  for (const auto& r : p.exec.programs) {
    bool match = program_name_matches(r.name, img.path, img.asked);
    // Identity widens denies only: an allow matched by identity could be planted (a copy
    // of curl named like an allowed tool in a PATH directory the sandbox can write).
    if (!match && r.deny) {
      for (const auto& id : r.images) match = match || same_image(id, pr);
      if (!match && pr.unknown && r.deny) by_identity_missed = true;
    }
    if (!match) continue;
    rules.push_back(&r);
    starts.push_back(r.tool.known ? subcommand_starts(argv, r.tool) : std::vector<size_t>{1});
    for (size_t s : starts.back())
      if (std::find(readings.begin(), readings.end(), s) == readings.end())
        readings.push_back(s);
  }
  // A file this user could have prepared (a copy of a denied program made unreadable)
  // cannot be compared: refuse rather than guess. Someone else's unreadable file (a
  // system binary with mode 0711) cannot be the sandbox's copy.
  if (by_identity_missed && pr.st.st_uid == geteuid())
    return verdict(built_in_deny(), "identity",
                   img.path + " (sbx cannot read this image to compare it with the programs exec rules deny)");
  if (readings.empty()) readings.push_back(std::string::npos);

  // Every reading of the arguments is decided; any reading that denies, denies. In each:
  // the rule with the most arguments wins, deny on ties.
  const ProgramRule* best_allow = nullptr;
  for (size_t c : readings) {
    const ProgramRule* win = nullptr;
    for (size_t i = 0; i < rules.size(); i++) {
      const ProgramRule& r = *rules[i];
      if (!r.args.empty() && (std::find(starts[i].begin(), starts[i].end(), c) == starts[i].end() || !args_at(r, argv, c)))
        continue;
      if (!win || r.args.size() > win->args.size() || (r.args.size() == win->args.size() && r.deny && !win->deny)) win = &r;
    }
    if (win && win->deny) return verdict(Decision{false, win->rule, true}, "exec", img.path);
    if (win && (!best_allow || win->args.size() > best_allow->args.size())) best_allow = win;
  }
  return verdict(Decision{true, best_allow ? best_allow->rule : e.rule}, "exec", img.path);
}

}  // namespace

bool exec_uses_argv(const Policy& p) {
  for (const auto& r : p.exec.programs)
    if (r.deny || !r.args.empty()) return true;  // a deny: the loader's PROG is in argv
  return false;
}

bool exec_rules_exist(const Policy& p) {
  return !p.exec.programs.empty() || !p.exec.paths.rules.empty() || p.exec.paths.defDeny || !p.commands.empty();
}

bool image_digest(int fd, Sha256& out) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
  const Key k = key_of(st);
  {
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_cache.find(k);
    if (it != g_cache.end()) {
      g_stats.hits++;
      out = it->second;
      return true;
    }
  }
  // An O_PATH fd (or a write-only one) cannot be read: reopen our own fd read-only.
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return false;
  Fd re;
  int rfd = fd;
  if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY) {
    re.reset(reopen_fd(fd, O_RDONLY | O_CLOEXEC));
    if (!re.ok()) return false;
    rfd = re.get();
  }
  uint64_t bytes = 0;
  if (!hash_fd(rfd, out, bytes)) return false;
  struct stat after;
  // Written while we read: the digest describes no version of the file.
  if (fstat(fd, &after) < 0 || !(key_of(after) == k)) return false;
  std::lock_guard<std::mutex> l(g_mu);
  if (g_cache.size() >= kCacheMax) g_cache.clear();
  g_cache.emplace(k, out);
  g_stats.hashed++;
  g_stats.bytes += bytes;
  return true;
}

HashStats hash_stats() {
  std::lock_guard<std::mutex> l(g_mu);
  return g_stats;
}

std::vector<size_t> subcommand_starts(const std::vector<std::string>& argv, const ToolOptions& t) {
  std::vector<size_t> out;
  std::vector<char> seen(argv.size() + 3, 0);
  std::vector<size_t> todo{1};
  auto push = [&](size_t i) {
    if (i < seen.size() && !seen[i]) seen[i] = 1, todo.push_back(i);
  };
  seen[1] = 1;
  while (!todo.empty()) {
    size_t i = todo.back();
    todo.pop_back();
    if (i >= argv.size()) continue;  // options only: no subcommand in this reading
    const std::string& a = argv[i];
    if (a == "--") {
      push(i + 1);
      if (i + 1 < argv.size() && std::find(out.begin(), out.end(), i + 1) == out.end()) out.push_back(i + 1);
      continue;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
      continue;
    }
    if (contains(t.value, a)) {
      push(i + 2);
    } else if (contains(t.flag, a) || (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos)) {
      push(i + 1);  // a flag, or --name=value
    } else if (a[1] != '-' && a.size() > 2 && contains(t.value, a.substr(0, 2))) {
      push(i + 1);  // -nVALUE
    } else {
      // Not in the table: it may take a value or not (npm takes any --key value).
      push(i + 1);
      push(i + 2);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int loader_prog_index(const std::vector<std::string>& argv) {
  // glibc rtld and musl ldso, in their separate-argument forms (both accept these).
  static const std::vector<std::string> value = {"--library-path", "--inhibit-rpath",        "--audit",
                                                 "--preload",      "--argv0",                "--glibc-hwcaps-prepend",
                                                 "--glibc-hwcaps-mask"};
  static const std::vector<std::string> flag = {"--list",          "--verify",           "--inhibit-cache",
                                                "--list-tunables", "--list-diagnostics", "--help",
                                                "--version"};
  for (size_t i = 1; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (a.empty() || a[0] != '-') return static_cast<int>(i);
    if (contains(value, a)) {
      if (++i >= argv.size()) return 0;
      continue;
    }
    if (contains(flag, a)) continue;
    // `--x=y`, `--`, an unknown option: glibc takes it as the program's name, musl as an
    // option. Either way sbx cannot be sure which file runs.
    return -1;
  }
  return 0;
}

// A script the kernel ran through its interpreter (`#!/usr/bin/env node`): the interpreter's
// argv holds the script's path (AT_EXECFN, as execve was given it) at 1 or 2, after the
// interpreter's own argument; the script was asked to run with what follows. Its program and
// argument rules (`npm publish`) are decided on that argv too: the interpreter's reading
// sees `node` as the subcommand.
static bool script_argv(const ExecImage& img, std::vector<std::string>& out) {
  if (img.asked.empty()) return false;
  for (size_t i = 1; i <= 2 && i < img.argv.size(); i++) {
    if (img.argv[i] != img.asked) continue;
    out.assign(1, img.asked);
    out.insert(out.end(), img.argv.begin() + static_cast<long>(i) + 1, img.argv.end());
    return true;
  }
  return false;
}

ExecVerdict decide_exec_image(const Policy& p, const ExecImage& img) {
  ExecVerdict v = decide(p, img, 0);
  ExecImage script = img;
  if (!v.d.allow || !script_argv(img, script.argv)) return v;
  // Both readings are decided; either that denies, denies.
  ExecVerdict w = decide(p, script, 0);
  return w.d.allow ? v : w;
}

int command_override_for(const Policy& p, const ExecImage& img, bool scripts, bool* via_script) {
  if (via_script) *via_script = false;
  struct stat st;
  if (p.commands.empty() || img.fd < 0 || fstat(img.fd, &st) < 0 || st.st_nlink == 0) return -1;
  // The file, and the version of it the policy saw: rewritten in place (same inode, a
  // program named in a directory the sandbox writes) it is another program (ctime moves on
  // every write and cannot be set back).
  auto is = [&](const ImageId& id, const struct stat& s) {
    return id.dev == s.st_dev && id.ino == s.st_ino && id.size == s.st_size && id.mtime_ns == ns_of(s.st_mtim) &&
           id.ctime_ns == ns_of(s.st_ctim);
  };
  for (size_t i = 0; i < p.commands.size(); i++)
    for (const auto& id : p.commands[i].images)
      if (is(id, st)) return static_cast<int>(i);
  // A script: the kernel ran its interpreter; which file it reads is the path it was asked
  // to run. Only a path the policy found it as counts (a PATH entry: the persistence floor
  // keeps those in the home unwritable), and only while it is still that script.
  if (!scripts || img.asked.empty() || img.asked[0] != '/') return -1;
  for (size_t i = 0; i < p.commands.size(); i++) {
    for (const auto& sc : p.commands[i].scripts) {
      if (!is(sc.interpreter, st) || std::find(sc.paths.begin(), sc.paths.end(), img.asked) == sc.paths.end()) continue;
      Fd f(open(img.asked.c_str(), O_PATH | O_CLOEXEC));
      struct stat ss;
      if (f.ok() && fstat(f.get(), &ss) == 0 && is(sc.script, ss)) {
        if (via_script) *via_script = true;
        return static_cast<int>(i);
      }
    }
  }
  return -1;
}

}  // namespace sbx
