// Exec: decided twice, never with ptrace.
//
//  1. At the execve/execveat notification: the binary as resolved now is decided
//     (EACCES when denied); the caller's process is marked "exec pending" (exec_state.h),
//     then CONTINUE. A racing thread can still swap the path or a rename the file before
//     the kernel opens it, so this is only the early answer.
//  2. Before ANY trapped syscall of a process is decided (verify_before_decision, called
//     by Core::handle for every notification), a process that is pending or unknown to
//     this engine has the image the kernel is really running decided: /proc/<tid>/exe
//     (opened: the fd is the image), its argv (/proc/<tid>/cmdline, from its new stack) and
//     AT_EXECFN (auxv). A denied image is SIGKILLed before that syscall is answered; a
//     `commands:` override is applied (procs assign) so the syscall is decided under it.
//
// THE GUARANTEE: a denied program never gets a single decided syscall. Until its first
// trapped syscall it runs only what the filter allows by number (computation, I/O on fds
// it inherited, fork — whose child is unknown, so verified at its own first trapped
// syscall); no open, connect, exec, signal or other trapped call is ever answered for it.
//
// No tracer, so nothing depends on sbx being a process's tracer (debuggers work inside),
// and a supervisor that dies mid-exec costs nothing: the exec completes, the next engine
// starts with every process unknown and verifies each at first sight.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine.h"
#include "exec_rules.h"
#include "fs_check.h"
#include "memory.h"
#include "shm_files.h"

namespace sbx {

namespace {

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t z = s.find('\0', i);
    if (z == std::string::npos) z = s.size();
    out.push_back(s.substr(i, z - i));
    i = z + 1;
  }
  return out;
}

// The value of `name` in the environment block `env` (NUL-separated NAME=value, as in
// /proc/<pid>/environ; the last one wins, as getenv after a duplicate): false when unset.
bool env_lookup(const std::string& env, const std::string& name, std::string& value) {
  bool found = false;
  for (const std::string& kv : split_nul(env))
    if (kv.size() > name.size() && kv[name.size()] == '=' && kv.compare(0, name.size(), name) == 0) {
      value = kv.substr(name.size() + 1);
      found = true;
    }
  return found;
}

// The elements of a ':'-separated list (PATH, a search path), empty ones kept: they mean the
// working directory to execvp and python.
std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(':', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The filename the kernel executed (AT_EXECFN points into the new stack).
std::string exec_fn(int pid) {
  std::string auxv;
  if (!read_file("/proc/" + std::to_string(pid) + "/auxv", auxv, 8192)) return std::string();
  for (size_t i = 0; i + 16 <= auxv.size(); i += 16) {
    uint64_t k, v;
    memcpy(&k, auxv.data() + i, 8);
    memcpy(&v, auxv.data() + i + 8, 8);
    if (k == AT_EXECFN) {
      std::string fn;
      read_string(pid, v, fn, 4096);
      return fn;
    }
    if (k == AT_NULL) break;
  }
  return std::string();
}

void post_event(Notif& n, const char* kind, Decision d, const std::string& target, const char* op = "exec") {
  Event e;
  e.time = now_ms();
  e.kind = kind;
  e.policy = n.policyId;
  e.rule = d.rule;
  e.pid = n.caller.tgid;
  e.program = target;
  e.syscall = n.syscall;
  e.op = op;
  e.target = target;
  e.err = EACCES;
  n.core->emit(std::move(e));
}

// Reads argv[0..max) (pointer array in tracee memory) for the pre-check.
int read_argv(int tid, uint64_t p, std::vector<std::string>& argv, size_t max) {
  for (size_t i = 0; p && i < max; i++) {
    uint64_t ptr = 0;
    if (read_mem(tid, p + i * 8, &ptr, 8) < 0) return -EFAULT;
    if (!ptr) break;
    std::string s;
    int e = read_string(tid, ptr, s, 128 * 1024);
    if (e < 0) return e == -ENAMETOOLONG ? -E2BIG : e;
    argv.push_back(std::move(s));
  }
  return 0;
}

// SIGKILL for the caller's whole process, through a pidfd proven to be the caller's (its
// thread still waits in this notification), so a recycled pid is never hit.
void kill_caller(Notif& n) {
  Fd pidfd(sys_pidfd_open(n.caller.tgid, 0));
  if (pidfd.ok() && n.valid()) syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  reply_error(n.listener(), n.req.id, EACCES);  // in case it lands first: the call fails anyway
}

// The image decided under every policy the caller is within (a nested sbx exec adds one):
// the verdict of the first that denies, else of the innermost.
ExecVerdict decide_image(Notif& n, int fd, const std::string& path, const std::string& asked,
                         const std::vector<std::string>& argv) {
  ExecImage img;
  img.fd = fd;
  img.path = path;
  img.asked = asked;
  img.argv = argv;
  img.caller = &n.caller;
  ExecVerdict v;
  v.d = decide_all(n, [&](const Policy& p) {
    const Decision d = (v = decide_exec_image(p, img)).d;
    return d;
  });
  return v;
}

// Variables that point a tool at its configuration or at programs it runs (`CURL_HOME`'s
// .curlrc, `PIP_CONFIG_FILE`, `EDITOR`): harmless where they name what the sandbox cannot
// write (the terminal's own are floors in every policy), code of the sandbox's choosing where
// they name a place it writes. The names are src/policy/env-named-code.ts's
// CODE_NAMING_VARIABLES (a unit test compares the two): files and directories, refused when
// a path in the value is one the policy lets the sandbox write, or is relative; commands,
// refused unless harmless_command (a known pager or editor with plain options). The rest of
// that list is refused above whatever it names ("NODE_OPTIONS", "RUBYOPT", "PERL5OPT",
// "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", and the editors' "VIMINIT", "EXINIT") or is read by
// shells only ("PROMPT_COMMAND"). "CARGO_HOME" is not looked at: sbx points it at the
// sandbox's own cache in every launch (src/policy/launch-env.ts), so an override on cargo
// reads a config.toml there that the sandbox can write (README: commands:).
const char* const kConfigFileVariables[] = {
    "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "BASH_ENV", "ENV", "INPUTRC", "PYTHONSTARTUP", "PYTHONUSERBASE",
    "GOENV", "GOPATH", "DIRENV_CONFIG", "RUSTUP_HOME", "GRADLE_USER_HOME", "GEM_HOME", "BUNDLE_USER_HOME",
    "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "R_PROFILE_USER", "R_ENVIRON_USER", "PSQLRC", "MYVIMRC", "SCREENRC",
    "CURL_HOME", "WGETRC", "PIP_CONFIG_FILE", "NPM_CONFIG_USERCONFIG", "npm_config_userconfig", "NPM_CONFIG_GLOBALCONFIG",
    "npm_config_globalconfig", "NPM_CONFIG_PREFIX", "npm_config_prefix", "AWS_CONFIG_FILE", "KUBECONFIG", "DOCKER_CONFIG",
    "ANSIBLE_CONFIG", "STARSHIP_CONFIG", "XINITRC", "GNUPGHOME",
    // where git finds a repository's config, hooks and objects (`GIT_COMMON_DIR=evil`: a
    // relative one is wherever the caller chose to stand)
    "GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_INDEX_FILE",
    // where every program finds its user's configuration, data and terminal descriptions
    // (`HOME=evil`: less's .lesskey, python's user site-packages, below the caller's cwd)
    "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS", "TERMINFO",
    "TERMINFO_DIRS", "LOCPATH", "LESSHISTFILE"};
const char* const kCommandVariables[] = {
    "EDITOR", "VISUAL", "GIT_EDITOR", "SUDO_ASKPASS", "SSH_ASKPASS", "GIT_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND",
    "PAGER", "GIT_PAGER", "MANPAGER", "LESSOPEN", "LESSCLOSE", "BROWSER", "TERMINAL"};

// The policies whose sandboxes could have put a file somewhere (planters_of, below): a
// process's own, those it is narrowed within, the one its override came from, and every
// override any of them gives (a program under one is a process away). `unknown`: a chain
// that could not be walked (everything counts as written then).
struct Planters {
  std::vector<std::shared_ptr<const Policy>> all;
  // Overrides' policies: only what their own rules allow beyond their default (the default is
  // the policy they came from, asked in `all`; a nested exec's override has none of its floors).
  std::vector<std::shared_ptr<const Policy>> overrides;
  bool unknown = false;
};

// What walking a name finds (walk_name, below).
enum class Walked { kPlanted, kMissing, kFound };
Walked walk_name(const Planters& ps, const std::string& name);

// Does `value` name a place `p` lets the sandbox write (walked as the kernel would, not read as
// text: `/usr/../tmp/x`, `/proc/self/cwd`)? `relative`: a relative path counts (wherever it
// is, the cwd is the sandbox's to choose).
bool names_writable_place(const Planters& p, const std::string& raw, bool relative) {
  // URLs: a file: URL names the path after its authority; any other a host (dropped whole,
  // its path is the server's: `HTTPS_PROXY=http://127.0.0.1:8080` names no file).
  std::string value = raw;
  for (size_t k; (k = value.find("://")) != std::string::npos;) {
    size_t start = k;
    while (start > 0 && (std::isalnum(static_cast<unsigned char>(value[start - 1])) || strchr("+-.", value[start - 1]))) start--;
    size_t end = value.find_first_of(" \t\"',;", k + 3);
    if (end == std::string::npos) end = value.size();
    std::string scheme = value.substr(start, k - start);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string keep;
    if (scheme == "file") {
      const size_t path = value.find('/', k + 3);
      keep = path != std::string::npos && path < end ? value.substr(path, end - path) : std::string();
    }
    value.replace(start, end - start, keep);
  }
  size_t i = 0;
  while (i < value.size()) {
    const size_t end = value.find_first_of(" \t:=,;\"'", i);
    const std::string word = value.substr(i, end == std::string::npos ? std::string::npos : end - i);
    i = end == std::string::npos ? value.size() : end + 1;
    if (word.empty() || word[0] == '-') continue;  // an option's name
    if (word[0] != '/') {
      if (relative) return true;
      continue;
    }
    if (walk_name(p, word) == Walked::kPlanted) return true;
  }
  return false;
}

// Variables whose values name places a sandbox writes by design, that no program loads code
// from: the working directory, the temp dirs, sockets and displays, sbx's own, and what npm and
// direnv set to tell a script where it runs (not HOME or XDG_CONFIG_HOME: git finds its config
// there, and the real ones are floors, so only one a caller pointed elsewhere names a writable
// place; not npm_config_* or DIRENV_* as a whole: npm reads each as configuration —
// script-shell runs its scripts, node-options loads modules — and direnv runs DIRENV_BASH). Every
// other variable naming a place the sandbox may write keeps a program from its override: a
// list of the variables that load code is never complete (GSS_MECH_CONFIG names libraries,
// KRB5_CONFIG plugins, SSL_CERT_FILE the CAs a program trusts).
bool names_places_harmlessly(const std::string& name) {
  static const char* const exact[] = {"PWD", "OLDPWD", "PATH", "TMPDIR", "TMP", "TEMP", "TEMPDIR", "_", "SHELL", "XDG_CACHE_HOME",
                                      "SSH_AUTH_SOCK", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",
                                      "XAUTHORITY", "HISTFILE", "MAIL", "INIT_CWD", "VIRTUAL_ENV", "TERM",
                                      // sbx's own (src/policy/launch-env.ts): the sandbox's caches
                                      "CARGO_HOME", "GOMODCACHE", "GOPROXY", "YARN_CACHE_FOLDER", "BUN_INSTALL_CACHE_DIR",
                                      "GIT_TEMPLATE_DIR", "npm_config_cache", "npm_config_store_dir",
                                      // npm's and direnv's account of where a script runs: the project
                                      "npm_config_local_prefix", "npm_package_json", "DIRENV_DIR", "DIRENV_FILE",
                                      "DIRENV_DIFF", "DIRENV_WATCHES"};
  // Not LANG or LC_*: with a '/' glibc loads the locale's data from that path.
  static const char* const prefixes[] = {"SBX_", "npm_package_", "npm_lifecycle_"};
  for (const char* e : exact)
    if (name == e) return true;
  for (const char* p : prefixes)
    if (name.compare(0, strlen(p), p) == 0) return true;
  return false;
}

// The first variable of the environment `env` not on that list whose value names a place `p`
// lets the sandbox write, else empty.
std::string unlisted_place_variable(const Planters& p, const std::string& env) {
  for (const std::string& kv : split_nul(env)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || kv.find('/', eq) == std::string::npos) continue;
    const std::string name = kv.substr(0, eq);
    if (!names_places_harmlessly(name) && names_writable_place(p, kv.substr(eq + 1), false)) return name.substr(0, 64);
  }
  return std::string();
}

// A variable a program runs as a command line: its pager, editor or browser, by the name's
// end (the next tool's own — AWS_PAGER, GH_EDITOR, SYSTEMD_PAGER — counts without a list), or
// one of kCommandVariables.
bool names_command_variable(const std::string& name) {
  if (name == "LESSOPEN" || name == "LESSCLOSE") return false;  // less's filter: harmless_less_filter
  for (const char* end : {"PAGER", "EDITOR", "BROWSER"}) {
    const size_t k = strlen(end);
    if (name.size() >= k && name.compare(name.size() - k, k, end) == 0) return true;
  }
  for (const char* v : {"VISUAL", "TERMINAL", "FCEDIT"})
    if (name == v) return true;
  for (const char* v : kCommandVariables)
    if (name == v) return true;
  return false;
}

// less's one-letter options that neither run a command (`+cmd`, `!`), name a file it reads or
// writes (-k, -o, -O, -T, -t) nor take a value: `less -FRX`, and the LESS variable's value.
bool plain_less_options(const std::string& word, bool dash_optional = false) {
  if (dash_optional && !word.empty() && word[0] != '-') return plain_less_options("-" + word);  // LESS=FRX
  static const char kLetters[] = "RrFXSiIMmNnKQqseEcCgGwWJadfLu~xjzbhy0123456789";  // -x4, -j5: numbers
  static const char* const kLong[] = {"--RAW-CONTROL-CHARS", "--raw-control-chars", "--quit-if-one-screen", "--no-init",
                                      "--chop-long-lines", "--ignore-case", "--IGNORE-CASE", "--LONG-PROMPT",
                                      "--LINE-NUMBERS", "--mouse", "--use-color", "--quit-at-eof", "--QUIT-AT-EOF",
                                      "--squeeze-blank-lines", "--no-keypad", "--quiet", "--silent"};
  if (word.size() < 2 || word[0] != '-') return false;
  if (word[1] == '-') {
    for (const char* l : kLong)
      if (word == l) return true;
    return false;
  }
  for (size_t i = 1; i < word.size(); i++)
    if (!strchr(kLetters, word[i])) return false;
  return true;
}

// The first file named `name` with an x bit in a directory of `path` (as execvp finds it; a
// relative entry is refused: empty), else empty.
std::string on_path(const std::string& path, const std::string& name) {
  for (const std::string& dir : split_colons(path)) {
    if (dir.empty() || dir[0] != '/') return std::string();
    const std::string f = dir + "/" + name;
    if (access(f.c_str(), X_OK) == 0) return f;
  }
  return std::string();
}

// Is `path` an ELF program (not a script run by an interpreter that reads it)?
bool elf_program(const std::string& path) {
  if (path.empty()) return false;
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char magic[4];
  return fd.ok() && read(fd.get(), magic, 4) == 4 && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

// A command line a sandbox may have chosen that runs no code of its choosing: empty, or a
// known pager, editor or browser — a bare name (found on PATH and decided as planted at its
// exec) or an absolute path walked to no place the sandbox writes — with only the options
// known to read and run nothing (`less -R`, `emacsclient -t`); BROWSER's
// alternatives separated by ':'. Anything else — a shell or interpreter (`sh -c …`, `sh
// pg.sh`, `python3 -mevil`; `PAGER=sh` would run what it pages), an option that takes a
// script or a file (`vim -S`, `less -ofile`), quoting or redirection — is refused: which
// programs run what they are handed has no end, the pagers and editors people set do.
bool harmless_command(const Planters& p, const std::string& value, const std::string& env_path) {
  struct Known {
    const char* name;
    std::vector<const char*> options;  // exact words; less: plain_less_options
  };
  static const Known known[] = {
      {"less", {}}, {"more", {}}, {"most", {}}, {"pg", {}}, {"cat", {}}, {"bat", {"-p", "--plain"}}, {"batcat", {"-p", "--plain"}},
      {"lv", {}}, {"pager", {}}, {"editor", {}}, {"vi", {}}, {"vim", {}}, {"nvim", {}}, {"view", {}}, {"vim.basic", {}},
      {"vim.tiny", {}}, {"vim.nox", {}}, {"gvim", {"-f", "--nofork"}}, {"nano", {}}, {"rnano", {}}, {"pico", {}},
      {"emacs", {"-nw"}}, {"emacsclient", {"-t", "-nw", "-c", "--tty", "--create-frame"}}, {"micro", {}}, {"hx", {}},
      {"helix", {}}, {"kak", {}}, {"joe", {}}, {"jed", {}}, {"ne", {}}, {"mcedit", {}},
      {"code", {"--wait", "-w", "-n", "--new-window", "-r", "--reuse-window"}},
      {"code-insiders", {"--wait", "-w", "-n", "--new-window", "-r", "--reuse-window"}},
      {"codium", {"--wait", "-w", "-n", "--new-window", "-r", "--reuse-window"}},
      {"subl", {"--wait", "-w", "-n", "--new-window"}}, {"gedit", {"-s", "--standalone", "-w", "--wait"}}, {"kate", {"-b", "--block", "-n"}},
      {"kwrite", {}}, {"mousepad", {}}, {"xed", {"-w", "--wait"}}, {"zed", {"--wait"}}, {"xdg-open", {}}, {"firefox", {}},
      {"firefox-esr", {}}, {"chromium", {}}, {"chromium-browser", {}}, {"google-chrome", {}}, {"google-chrome-stable", {}},
      {"lynx", {}}, {"links", {}}, {"elinks", {}}, {"w3m", {}}, {"www-browser", {}}, {"x-www-browser", {}}, {"wslview", {}}};
  for (char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !strchr("._/-~: \t", c)) return false;  // quotes, $, |, <, ;, +, =
  size_t i = 0;
  while (i < value.size()) {  // each ':'-separated alternative (BROWSER's convention)
    size_t end = value.find(':', i);
    if (end == std::string::npos) end = value.size();
    std::vector<std::string> words;
    for (size_t j = i; j < end;) {
      const size_t w = value.find_first_of(" \t", j);
      const size_t stop = w == std::string::npos || w > end ? end : w;
      if (stop > j) words.push_back(value.substr(j, stop - j));
      j = stop + 1;
    }
    i = end + 1;
    if (words.empty()) continue;
    const std::string& prog = words[0];
    if (prog.find('/') != std::string::npos && (prog[0] != '/' || walk_name(p, prog) != Walked::kFound)) return false;
    // The file itself, not its name: a zsh function file named `zed` is zsh running a script.
    // A bare name found nowhere on PATH runs nothing (one a sandbox adds later on a PATH
    // entry it writes is planted at its exec).
    const std::string file = prog[0] == '/' ? prog : on_path(env_path, prog);
    if ((prog[0] == '/' || !file.empty()) && !elf_program(file)) return false;
    const std::string base = prog.substr(prog.rfind('/') == std::string::npos ? 0 : prog.rfind('/') + 1);
    const Known* k = nullptr;
    for (const Known& c : known)
      if (base == c.name) k = &c;
    if (!k) return false;
    for (size_t w = 1; w < words.size(); w++) {
      bool ok = base == "less" ? plain_less_options(words[w]) : false;
      for (const char* o : k->options) ok = ok || words[w] == o;
      if (!ok) return false;
    }
  }
  return true;
}

// LESSOPEN / LESSCLOSE: `[|[|]][-]/abs/program [%s …]` (its arguments only %s), the program
// walked to a file the sandbox cannot have written. Anything else (`|sh -c …`, a relative
// name) is a command line of the sandbox's choosing.
bool harmless_less_filter(const Planters& p, const std::string& value) {
  size_t i = value.find_first_not_of("|");
  if (i == std::string::npos || i > 2) return false;
  if (value[i] == '-') i++;
  std::vector<std::string> words;
  for (size_t j = i; j < value.size();) {
    const size_t w = value.find(' ', j);
    const size_t stop = w == std::string::npos ? value.size() : w;
    if (stop > j) words.push_back(value.substr(j, stop - j));
    j = stop + 1;
  }
  if (words.empty() || words[0][0] != '/' || walk_name(p, words[0]) != Walked::kFound) return false;
  for (char c : words[0])
    if (!std::isalnum(static_cast<unsigned char>(c)) && !strchr("._/-", c)) return false;
  // The filters made for it: `|-/bin/sh %s` would run what is paged as a script.
  const std::string base = words[0].substr(words[0].rfind('/') + 1);
  if (base != "lesspipe" && base != "lessfile" && base != "lesspipe.sh" && base != "src-hilite-lesspipe.sh") return false;
  for (size_t w = 1; w < words.size(); w++)
    if (words[w] != "%s") return false;
  return true;
}

// SHELL: one absolute path to a shell the sandbox cannot have written (`/bin/bash`), nothing
// else: programs run `$SHELL -c CMD` (less, vim, make's $(shell), script) with it unquoted.
bool harmless_shell(const Planters& p, const std::string& value) {
  if (value.empty() || value[0] != '/') return false;
  for (char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !strchr("._/-", c)) return false;
  const std::string base = value.substr(value.rfind('/') + 1);
  static const char* const kShells[] = {"sh", "bash", "dash", "zsh", "fish", "ksh", "ksh93", "mksh", "tcsh", "csh", "rbash", "nu", "xonsh", "elvish", "yash", "posh"};
  bool known = false;
  for (const char* k : kShells) known = known || base == k;
  return known && walk_name(p, value) == Walked::kFound;
}

// A variable named like a place or a search path for one (FPATH, TCL_LIBRARY, AWKPATH,
// PKG_CONFIG_PATH, COREPACK_HOME …): the next tool's own counts without a list.
bool path_like_name(const std::string& name) {
  static const char* const ends[] = {"PATH", "DIR", "DIRS", "HOME", "LIBRARY", "LIB", "LIBS", "FILE", "CONFIG", "PREFIX", "ROOT"};
  for (const char* e : ends) {
    const size_t k = strlen(e);
    if (name.size() >= k && name.compare(name.size() - k, k, e) == 0) return true;
  }
  return name == "GIO_EXTRA_MODULES";
}

// Does a ':'-separated element of `value` name a place relative to the working directory
// (`evil`, `./x`, `lib/tcl`)? Empty elements (a default) and URLs are not places.
bool has_relative_element(const std::string& value) {
  for (const std::string& e : split_colons(value)) {
    if (e.empty() || e[0] == '/' || e == "-") continue;  // `LESSHISTFILE=-`: none at all
    if (value.find("://") != std::string::npos) return false;  // a URL's ':' splits nothing here
    return true;
  }
  return false;
}

// The first configuration variable in the environment `env` naming a place `p` lets the
// sandbox write, or command variable not harmless_command: why, else empty. LESS holds
// less's options (`+!cmd` runs a command at start): plain ones only.
std::string config_injection(const Planters& p, const std::string& env) {
  std::string env_path;  // where a command variable's bare program name is found (harmless_command)
  env_lookup(env, "PATH", env_path);
  for (const std::string& kv : split_nul(env)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
    const std::string said = name.substr(0, 64);  // said in a denial: bounded
    for (const char* v : kConfigFileVariables)
      if (name == v && names_writable_place(p, value, true)) return said + " naming a place the sandbox writes";
    // A relative place is wherever the caller chose to stand: `FPATH=evil` gives zsh its
    // functions from there, `TCL_LIBRARY=evil` Tcl its init.tcl.
    if (path_like_name(name) && !names_places_harmlessly(name) && has_relative_element(value))
      return said + " naming a place relative to where the caller stands";
    if (names_command_variable(name) && !harmless_command(p, value, env_path))
      return said + " (a command line other than a known pager, editor or browser with plain options)";
    // less's input filter (Ubuntu's default `| /usr/bin/lesspipe %s`): a program by absolute
    // path the sandbox cannot write, handed the file's name, and nothing else.
    if ((name == "LESSOPEN" || name == "LESSCLOSE") && !harmless_less_filter(p, value))
      return said + " (other than lesspipe or lessfile by absolute path, with %s)";
    // The shell programs run their commands with (less runs its LESSOPEN filter as
    // `$SHELL -c …`, the value pasted in unquoted).
    if (name == "SHELL" && !harmless_shell(p, value)) return said + " (other than a shell by absolute path)";
    // less's options, from less's own variable or the ones systemd and man-db pass on as it.
    if (name == "LESS" || name == "MORE" || name == "SYSTEMD_LESS" || name == "MANLESS") {
      for (size_t i = 0; i < value.size();) {
        const size_t w = value.find_first_of(" \t", i);
        const std::string word = value.substr(i, w == std::string::npos ? std::string::npos : w - i);
        i = w == std::string::npos ? value.size() : w + 1;
        if (!word.empty() && !plain_less_options(word, true)) return said + " (options other than plain ones: a pager runs `+cmd`)";
      }
    }
  }
  return std::string();
}

// Variables that load code from outside the program into it — the dynamic loader's, glibc's
// iconv modules, OpenSSL's config (it loads engines and providers), the interpreters' (a
// script's override is its interpreter's), the JVM's agents, and the commands git, kubectl,
// docker, ssh and less run from what a variable names — when set in the process's initial
// environment: the first one's name, else empty. Read whole from /proc/<tid>/environ, the
// environment the kernel put on the new stack (what ld.so read); one that cannot be read
// whole counts as injected. A name ending in '*' is a prefix (bash's exported functions,
// git's config pairs).
//
// The interpreters whose variables keep growing (python, node, perl, lua, the loader) are
// refused by family: every variable of the prefix but the few known to load nothing. A list
// of names trails them (PYTHONPYCACHEPREFIX reads bytecode, PYTHONINSPECT runs what stdin
// types, PYTHONWARNINGS imports a module). src/policy/env-named-code.ts is the floors' list
// of the same kind of variable (whose files must not be writable): change both together.
// The configuration and command variables above are looked at first (refused only for what they name).
std::string loader_injection(int tid, const Planters& p) {
  static const char* const vars[] = {
      "GCONV_PATH",
      "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES",
      "PERLLIB",
      "RUBYOPT", "RUBYLIB", "RUBYPATH", "RUBYSHELL", "GEM_HOME", "GEM_PATH", "BUNDLE_GEMFILE",
      "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
      "PHPRC", "PHP_INI_SCAN_DIR", "R_PROFILE", "R_PROFILE_USER", "R_ENVIRON", "R_ENVIRON_USER", "R_LIBS", "R_LIBS_USER",
      "R_LIBS_SITE", "JULIA_LOAD_PATH", "JULIA_DEPOT_PATH", "ERL_LIBS", "ERL_AFLAGS", "ERL_ZFLAGS", "ERL_FLAGS",
      "ELIXIR_ERL_OPTIONS", "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "TCLLIBPATH", "GUILE_LOAD_PATH",
      "GUILE_LOAD_COMPILED_PATH",
      "BASH_ENV", "ENV", "BASH_FUNC_*", "ZDOTDIR", "SHELLOPTS", "BASHOPTS", "PS4",
      "GIT_CONFIG_*", "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_PROXY_COMMAND",
      "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR",
      "KUBECONFIG", "DOCKER_CONFIG", "SSH_ASKPASS", "SUDO_ASKPASS",
      // what the pager or editor a program runs (harmless_command) loads: key bindings, startup commands
      "LESSKEY", "LESSKEYIN", "LESSKEY_CONTENT", "LESSKEY_SYSTEM", "LESSKEYIN_SYSTEM", "LESSEDIT", "LESSMETACHARS",
      "LESSMETAESCAPE", "VIMINIT", "EXINIT",
      "GVIMINIT", "VIMRUNTIME", "VIM", "EMACSLOADPATH",
      // where python takes its program to be (macOS's, honoured on Linux): its home follows
      "__PYVENV_LAUNCHER__"};
  struct Family {
    const char* prefix;
    std::vector<const char*> harmless;
  };
  static const Family families[] = {
      {"LD_", {}},
      {"PYTHON",
       {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONIOENCODING", "PYTHONHASHSEED", "PYTHONUTF8",
        "PYTHONNOUSERSITE", "PYTHONFAULTHANDLER", "PYTHONOPTIMIZE", "PYTHONSAFEPATH", "PYTHONCOERCECLOCALE",
        "PYTHONDEVMODE", "PYTHONVERBOSE", "PYTHONNODEBUGRANGES", "PYTHONINTMAXSTRDIGITS", "PYTHONWARNDEFAULTENCODING",
        "PYTHONTRACEMALLOC", "PYTHONMALLOC", "PYTHONASYNCIODEBUG", "PYTHONPROFILEIMPORTTIME"}},
      {"NODE_",
       {"NODE_ENV", "NODE_EXTRA_CA_CERTS", "NODE_NO_WARNINGS", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_DEBUG",
        "NODE_PENDING_DEPRECATION", "NODE_DISABLE_COLORS", "NODE_PRESERVE_SYMLINKS", "NODE_UNIQUE_ID"}},
      {"PERL5", {}},
      {"LUA_", {}},
  };
  std::string env;
  if (!read_file("/proc/" + std::to_string(tid) + "/environ", env, kExecStringsMax)) return "an environment sbx cannot read whole";
  const std::string config = config_injection(p, env);
  if (!config.empty()) return config;
  for (const std::string& kv : split_nul(env)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = kv.substr(0, std::min<size_t>(eq, 64));  // said in a denial: bounded
    for (const char* v : vars) {
      const size_t k = strlen(v);
      if (v[k - 1] == '*' ? name.compare(0, k - 1, v, k - 1) == 0 : name == v) return name;
    }
    for (const Family& f : families) {
      if (name.compare(0, strlen(f.prefix), f.prefix) != 0) continue;
      bool ok = false;
      for (const char* h : f.harmless) ok = ok || name == h;
      if (!ok) return name;
    }
  }
  const std::string place = unlisted_place_variable(p, env);
  if (!place.empty()) return place + " naming a place the sandbox writes";
  return std::string();
}

// Is the caller's running image sbx's own launcher (by identity, not by name)? Read about
// the caller only if it still waits here.
bool runs_launcher(Notif& n, const std::string& proc) {
  Fd exe(open((proc + "/exe").c_str(), O_PATH | O_CLOEXEC));
  return exe.ok() && n.core->is_launcher(exe.get()) && n.valid();
}

// What the kernel itself answers for us (the sandbox's user, with the file capabilities a
// sandbox started as root keeps: CAP_DAC_OVERRIDE, CAP_FOWNER): mode bits, POSIX ACLs (a
// team's tool shared by `setfacl -m u:NAME:rwx`) and capabilities alike, for the entry itself.
bool kernel_lets_us(const std::string& path, int mode) {
  return syscall(SYS_faccessat2, AT_FDCWD, path.c_str(), mode, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
}

// CAP_FOWNER in our effective set (a sandbox started as root keeps it): sticky bits stop nothing.
bool have_cap_fowner() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  return syscall(SYS_capget, &h, d) == 0 && (d[CAP_FOWNER / 32].effective & (1u << (CAP_FOWNER % 32)));
}

// Can we replace the entry `entry` (null: none yet) of the directory `dir` (`dst`)? A directory
// of ours (its bits are ours to change back), or one the kernel lets us write and search —
// unless it is sticky and neither it nor the entry is ours (and we lack CAP_FOWNER).
bool entry_replaceable(const std::string& dir, const struct stat& dst, const struct stat* entry) {
  if (dst.st_uid == geteuid()) return true;
  if (!kernel_lets_us(dir, W_OK | X_OK)) return false;
  if (!(dst.st_mode & S_ISVTX)) return true;
  return (entry && entry->st_uid == geteuid()) || have_cap_fowner();
}

// A file with more than one name (pnpm's store, uv's cache, `cp -al`) is written through the
// other name, wherever that is: one the kernel lets us write counts as the sandbox's whatever
// the policy says of this name. Root's own files aside for a sandbox started as root: their
// other names are root's too (dpkg's hard links), and one a root sandbox could write is the
// hard-link limit the README states.
bool hard_linked_writable(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode) || st.st_nlink < 2) return false;
  if (geteuid() == 0 && st.st_uid == 0) return false;
  return st.st_uid == geteuid() || kernel_lets_us(path, W_OK);
}

// Does any of the planters' policies let a sandbox write `path` (writable_in_some_session)?
bool writable_to_any(const Planters& ps, const std::string& path) {
  if (ps.unknown) return true;
  for (const auto& p : ps.all)
    if (writable_in_some_session(p->write, path)) return true;
  for (const auto& p : ps.overrides) {
    const Decision d = decide_path(p->write, path);
    if (d.allow && d.rule != -1) return true;
  }
  return false;
}

// Could a process under one of `ps` have written the file or directory entry at `path` (or put
// another in its place), in this session or an earlier one? Its policy lets it write there
// (writable_in_some_session: a PATH floor inside a place the policy allows follows the
// session's PATH) and the entry is ours (the same user: its mode bits are the owner's to
// change back — a planted file made read-only is still the sandbox's; a symlink of ours in
// /tmp is ours to point elsewhere), a file the kernel lets us write, or one whose directory
// lets us replace it (entry_replaceable).
bool sandbox_may_write(const Planters& ps, const std::string& path) {
  if (in_fixed_dev(path)) return false;
  struct stat st, dst;
  const bool exists = lstat(path.c_str(), &st) == 0;
  if (exists && hard_linked_writable(path, st)) return true;
  if (!writable_to_any(ps, path)) return false;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  // The entry itself: ours, or a file the kernel lets us rewrite in place (a team's tool
  // writable to us by its group or other bits, or an ACL entry).
  // (A directory's permissions are about its entries: entry_replaceable, one level down.)
  if (exists && (st.st_uid == geteuid() || (S_ISREG(st.st_mode) && kernel_lets_us(path, W_OK)))) return true;
  return stat(dir.c_str(), &dst) == 0 && entry_replaceable(dir, dst, exists ? &st : nullptr);
}

// Could a process under `p` have chosen what the name `name` reaches? The name is walked as
// the kernel walks it, from the root, symlinks followed, here and now: planted when an entry
// on the way is the sandbox's to write (the file itself, or an entry or symlink it could have
// swapped), when the way passes through /proc (/proc/self/cwd is wherever the caller chose to
// be), or when it cannot be walked (a relative name, a loop, an error). A missing entry is
// planted when the policy lets the sandbox make it, else kMissing. Text alone proves nothing:
// `/usr/../tmp/x` and `//tmp/x` are /tmp/x.
Walked walk_name(const Planters& p, const std::string& name) {
  if (name.empty() || name[0] != '/') return Walked::kPlanted;
  std::vector<std::string> todo;  // components still to walk, the next one last
  const auto push_path = [&todo](const std::string& path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      if (j > i) parts.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_path(name);
  std::string cur;  // the real path walked so far ("" is the root)
  int links = 0;
  while (!todo.empty()) {
    const std::string c = todo.back();
    todo.pop_back();
    if (c == ".") continue;
    if (c == "..") {
      cur = cur.substr(0, cur.rfind('/') == std::string::npos ? 0 : cur.rfind('/'));
      continue;
    }
    const std::string at = cur + "/" + c;
    if (at == "/proc") return Walked::kPlanted;
    if (sandbox_may_write(p, at)) return Walked::kPlanted;
    struct stat st;
    if (lstat(at.c_str(), &st) != 0)
      return errno == ENOENT && !writable_to_any(p, at) ? Walked::kMissing : Walked::kPlanted;
    if (S_ISLNK(st.st_mode)) {
      const std::string target = read_link(at);
      if (++links > 40 || target.empty()) return Walked::kPlanted;
      if (target[0] == '/') cur.clear();
      push_path(target);
      continue;
    }
    cur = at;
  }
  return Walked::kFound;
}

// Could a process under `p` have chosen the program the name `name` (AT_EXECFN, or the image's
// own path) reached when the kernel ran it? (walk_name: a name that leads nowhere now counts.)
bool name_planted(const Planters& p, const std::string& name) { return walk_name(p, name) != Walked::kFound; }

// Python finds its home (the standard library by its landmarks, a venv's pyvenv.cfg and the
// site-packages whose .pth files it runs) beside the program its argv[0] names, not beside its
// image: argv[0] with a slash is that path (relative to the working directory); without, the
// first file by that name on PATH with an x bit (one env skipped, `#!/nonexistent`, counts
// too), else the working directory. So a python with an override reads code from wherever
// argv[0] leads. Other interpreters on Linux find theirs from /proc/self/exe. By the image's
// real name: the sandbox cannot rename a program it cannot write.
bool finds_home_by_argv0(const std::string& image) {
  const std::string base = image.substr(image.rfind('/') + 1);
  return base.compare(0, 6, "python") == 0 || base.compare(0, 4, "pypy") == 0;
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// Python's own search from the program argv[0] led to (`exe`, as named): a venv's pyvenv.cfg
// beside it or one directory up, a build tree's pybuilddir.txt beside it, then the standard
// library's landmark (lib/pythonX.Y/os.py) in each directory above the real program, the
// first found ending the search (every one up to the root when the version is not in the
// name). The first of these the sandbox under `p` could have put there, else empty.
std::string python_home_planted(const Planters& p, const std::string& exe) {
  const std::string dir = parent_dir(exe);
  for (const std::string& f : {dir + "/pyvenv.cfg", parent_dir(dir) + "/pyvenv.cfg", dir + "/pybuilddir.txt"})
    if (walk_name(p, f) == Walked::kPlanted) return f;
  char real[PATH_MAX];
  if (!realpath(exe.c_str(), real)) return exe + " (cannot be resolved)";
  const std::string image = real, base = image.substr(image.rfind('/') + 1);
  const std::string version = base.compare(0, 6, "python") == 0 ? base.substr(6) : std::string();  // "3.11"
  for (std::string at = parent_dir(image);; at = parent_dir(at)) {
    const std::string lib = (at == "/" ? std::string() : at) + "/lib";
    if (walk_name(p, lib) == Walked::kPlanted) return lib;
    struct stat st;
    if (version.find('.') != std::string::npos) {
      const std::string stdlib = lib + "/python" + version;
      if (walk_name(p, stdlib + "/os.py") == Walked::kPlanted) return stdlib;
      if (stat((stdlib + "/os.py").c_str(), &st) == 0) break;
    }
    if (at == "/") break;
  }
  return std::string();
}

// Where the python process `tid`'s argv[0] leads (above), when the sandbox under `p` could have
// put something there or on the way, or where python then looks for its home
// (python_home_planted): that name; else empty. Read from the new stack the kernel made,
// before any of the program's code ran.
std::string argv0_home_planted(const Planters& p, int tid) {
  const std::string proc = "/proc/" + std::to_string(tid);
  std::string cmd, env;
  if (!read_file(proc + "/cmdline", cmd, kExecStringsMax) || !read_file(proc + "/environ", env, kExecStringsMax))
    return "its argv[0] or PATH (unreadable)";
  const std::vector<std::string> argv = split_nul(cmd);
  const std::string name = argv.empty() || argv[0].empty() ? "python3" : argv[0];  // CPython's default name
  if (name.find('/') != std::string::npos) return name_planted(p, name) ? name : python_home_planted(p, name);
  std::string path;
  if (!env_lookup(env, "PATH", path)) return name + " (no PATH: found in the working directory)";
  for (const std::string& dir : split_colons(path)) {
    if (dir.empty() || dir[0] != '/') return (dir.empty() ? "." : dir) + "/" + name + " (a relative PATH entry)";
    const std::string candidate = dir + "/" + name;
    const Walked w = walk_name(p, candidate);
    if (w == Walked::kPlanted) return candidate;
    struct stat st;
    if (w == Walked::kFound && stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return python_home_planted(p, candidate);
  }
  return name + " (not on PATH: found in the working directory)";
}

// What only the kernel sets about the image a process runs, changed by every exec that
// succeeds: the file (dev/ino of /proc/<pid>/exe) and the layout it was given (code, data,
// brk, stack, argv and environment areas: /proc/<pid>/stat fields 26-28 and 45-51, which a
// process cannot set without CAP_SYS_RESOURCE). Empty when unreadable.
std::string image_fingerprint(int tid) {
  // The thread's own view (a thread group leader that exited shows no exe and zeros).
  const std::string proc = "/proc/" + std::to_string(tid) + "/task/" + std::to_string(tid);
  struct stat st;
  std::string out = stat((proc + "/exe").c_str(), &st) == 0 ? std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) : "?";
  std::string line;
  if (!read_file(proc + "/stat", line, 4096)) return std::string();
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::string();
  size_t at = close + 2;  // field 3 starts here
  for (int field = 3; at < line.size(); field++) {
    const size_t end = line.find(' ', at);
    if ((field >= 26 && field <= 28) || (field >= 45 && field <= 51)) out += " " + line.substr(at, end - at);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

Planters planters_of(Notif& n, const std::shared_ptr<const Policy>& base) {
  Planters ps;
  std::vector<std::shared_ptr<const Policy>> mains{n.pol};
  for (int w = n.pol->within, depth = 0; w >= 0; depth++) {
    std::shared_ptr<const Policy> outer = depth < 8 ? n.core->policy(w) : nullptr;
    if (!outer) {
      ps.unknown = true;
      break;
    }
    mains.push_back(outer);
    w = outer->within;
  }
  if (base) mains.push_back(base);
  for (const auto& p : mains) {
    ps.all.push_back(p);
    for (const auto& c : p->commands) {
      std::shared_ptr<const Policy> o = n.core->policy(c.policy);
      if (o) ps.overrides.push_back(o);
      else ps.unknown = true;
    }
  }
  return ps;
}

enum class Verdict { kAllow, kKill, kRefuse, kGone };

// A pager, editor or text browser (by its image's name): a program that runs commands its
// user types (less's `!`, vim's `:!`, nano's ^T, lynx's `!`).
bool runs_what_it_is_typed(const std::string& image) {
  const std::string base = image.substr(image.rfind('/') + 1);
  static const char* const exact[] = {"less", "more", "most", "pg", "lv", "vi", "view", "ex", "nvim", "gvim", "nano", "rnano",
                                      "pico", "emacsclient", "micro", "hx", "helix", "kak", "joe", "jed", "ne", "mcedit",
                                      "lynx", "links", "elinks", "w3m", "ed", "red"};
  for (const char* e : exact)
    if (base == e) return true;
  return base.compare(0, 3, "vim") == 0 || base.compare(0, 5, "emacs") == 0;
}

// The running image of the caller's process, decided under its policy. Overrides applied.
Verdict verify_image(Notif& n, bool pending) {
  const std::string proc = "/proc/" + std::to_string(n.caller.tid);
  // A process under a `commands:` override: the policy it came from (below: the override is
  // kept only for a program the sandbox cannot have written, after an exec or in a fork made
  // before the image was verified).
  const auto base = n.core->override_base(n.policyId);
  // With exec rules (anywhere in the chain, or in the policy an override came from: is this
  // the override's own program?) the image is decided by identity: open it, read-only so
  // identity rules can hash it, O_PATH when it is exec-only. Without, only its path is
  // decided: one readlink gives the same text (the same access check as the open).
  const bool identity = base || chain_any(n, exec_rules_exist);
  Fd exe;
  std::string path;
  if (identity) {
    exe.reset(open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
    if (!exe.ok()) exe.reset(open((proc + "/exe").c_str(), O_PATH | O_CLOEXEC));
    path = exe.ok() ? fd_path(exe.get()) : std::string();
  } else {
    path = read_link(proc + "/exe");
  }
  std::string asked;
  std::vector<std::string> argv;
  bool argv_read = true;
  // Names (AT_EXECFN, argv) matter only to program rules and overrides, here or in a policy
  // this one is nested in; argv only to argument rules and the loader's PROG.
  if (!path.empty() && (base || chain_any(n, exec_uses_names))) {
    asked = exec_fn(n.caller.tid);
    if (chain_any(n, exec_uses_argv)) {
      std::string cmd;
      argv_read = read_file(proc + "/cmdline", cmd, kExecStringsMax);
      argv = split_nul(cmd);
    }
  }
  // Everything above was read about the caller's process only if it still waits here.
  if (!n.valid()) return Verdict::kGone;
  // Argument rules and the loader's PROG are decided on the whole argv or not at all.
  if (!argv_read) {
    n.core->denials++;
    post_event(n, "deny", Decision{false, -2}, path + " (its arguments could not be read whole: argument rules cannot decide it)");
    return pending ? Verdict::kKill : Verdict::kRefuse;
  }
  if (path.empty()) {
    // Unreadable image (an exec of a file we may not read makes the process non-dumpable):
    // after an exec, fail closed as a denial; a process met for the first time (it may have
    // made itself non-dumpable) is not killed, but nothing is decided for it either.
    post_event(n, "error", Decision{false, -2}, proc + "/exe");
    if (pending) n.core->denials++;
    return pending ? Verdict::kKill : Verdict::kRefuse;
  }
  // sbx's own launcher, met before it execs the session's program: it was started by sbx
  // outside the sandbox (its exec came before the filter), so no policy decided it.
  // Without an fd (no exec rules) it is looked for only when the path is refused below.
  if (!pending && exe.ok() && n.core->is_launcher(exe.get())) return Verdict::kAllow;
  // A process met for the first time that this engine cannot place (its tag changed from
  // outside, its policy dropped) runs under the strict policy, whose exec rules are meant
  // for what it starts next (system programs only): it keeps running, with the strictest
  // rights, as it did before verification existed. After an exec it is decided as usual.
  if (!pending && n.policyId == n.core->procs().strict()) return Verdict::kAllow;
  // An image swapped in after the exec's early check: another program's /dev/shm object.
  if (pending && under_dev_shm(path) && shm_image_refused(n, proc + "/exe")) {
    n.core->denials++;
    return Verdict::kKill;
  }
  const ExecVerdict v = decide_image(n, exe.get(), path, asked, argv);
  const Decision d = v.d;
  if (!d.allow && !pending && !exe.ok() && runs_launcher(n, proc)) return Verdict::kAllow;
  if (!d.allow) {
    // Audit mode lifts only the policy's own rules (engine.cc refuse): an image that cannot
    // be identified, a floor and an enclosing policy's refusal are refused in it too.
    if (!n.pol->audit || !d.own || d.rule == kOuterRule) {
      n.core->denials++;
      post_event(n, "deny", d, v.target, v.op);
      return Verdict::kKill;
    }
    n.core->audits++;
    post_event(n, "audit", d, v.target);
  }
  // A `commands:` override: a fresh tag for this process (procs.h); children it forked
  // before are unknown, so they get theirs at their own first trapped syscall. Not
  // applied: never run it under the policy it came from (the override may be narrower).
  ExecImage img;
  img.fd = exe.get();
  img.path = path;
  img.asked = asked;
  // Scripts only right after an exec: AT_EXECFN is memory the process itself can write,
  // so a process met for the first time (a fork child) proves nothing with it. A binary's
  // fork made before its first trapped call gets its override (a narrowing one must reach
  // it); no code but the program's ran there: a debugger's write into an image that gets an
  // override is refused until it is verified (override_write_refusal).
  bool via_script = false;
  const int ci = command_override_for(*n.pol, img, pending, &via_script);
  int ov = ci >= 0 ? n.pol->commands[static_cast<size_t>(ci)].policy : -1;
  // An override's program or script the sandbox may write (under the policy it runs under, or
  // the one that policy's override came from) does not get it: the policy recorded whatever
  // file of that name it found when it was built, which may be one the sandbox put there (a
  // writable PATH entry, a project's bin/), and a script is read by name, bit by bit, while
  // it runs (bash re-reads after each command): verified now, rewritten a moment later. It
  // runs under the policy it was started under, like any program.
  // Only where an override is given or kept (the rest of the exec path never asks).
  const Planters planters = ov >= 0 || base ? planters_of(n, base) : Planters{};
  const auto plantable = [&](const std::string& file) { return name_planted(planters, file); };
  std::string planted, why;
  if (ov >= 0) {
    if (via_script && plantable(asked)) {
      planted = asked;
      why = "a script the sandbox may write: its interpreter reads it by name while it runs";
    } else if (plantable(path)) {
      planted = path;
      why = "a program the sandbox may write: it could have put its own there before the policy was built";
    }
  }
  // A process under an override that runs another program keeps the override (npm's node,
  // make's compilers) — unless the sandbox could have written that program: `#!/usr/bin/env
  // node` runs whatever `node` comes first on a PATH the caller set, and the override would
  // go to a file of the sandbox's choosing. Then it runs under the session's strictest policy,
  // decided there again: neither the override (it may widen) nor the policy it came from (an
  // override may narrow: a program denied the network must not get it back by running a file
  // it wrote). The same for a fork met first (the planted image forked before its first
  // trapped call), unless it runs the override's own program.
  const int own = !pending && base ? command_override_for(*base, img, false) : -1;
  const bool overrides_own = own >= 0 && base->commands[static_cast<size_t>(own)].policy == n.policyId;
  if (planted.empty() && ov < 0 && base && !overrides_own) {
    // The image, and for a script the file it reads (AT_EXECFN: the name the kernel ran; a
    // relative one, found through a relative PATH entry, cannot be placed: not kept either).
    planted = plantable(path)                               ? path
              : pending && !asked.empty() && plantable(asked) ? asked
                                                              : std::string();
    if (!planted.empty()) why = planted[0] == '/' ? "a file the sandbox may write" : "found through a relative name";
  }
  // A python given an override, or keeping one: its home is where its argv[0] leads, checked
  // against the policy that could have planted it there (the one the override would widen).
  if (planted.empty() && pending && (ov >= 0 || (base && !overrides_own)) && finds_home_by_argv0(path)) {
    planted = argv0_home_planted(planters, n.caller.tid);
    if (!n.valid()) return Verdict::kGone;
    if (!planted.empty()) why = "where python's argv[0] leads, a place the sandbox may write: python reads its home from there";
  }
  // Moves the caller to `policy` and decides its image again there, which may have exec rules
  // this one has not: the image then by identity (an fd), read while the caller still waits.
  const auto place_again = [&](int policy) -> Verdict {
    if (!exe.ok()) {
      exe.reset(open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
      if (!exe.ok()) exe.reset(open((proc + "/exe").c_str(), O_PATH | O_CLOEXEC));
      if (!n.valid()) return Verdict::kGone;
    }
    if (n.core->procs().assign(n.caller.tgid, policy, false) < 0) {
      post_event(n, "error", Decision{false, -2}, path);
      return Verdict::kKill;
    }
    n.policyId = n.core->procs().lookup(n.caller.tid, &n.caller.tgid, &n.caller.task, &n.caller.pin);
    if (!n.core->has_policy(n.policyId)) n.policyId = n.core->procs().strict();
    n.pol = n.core->policy(n.policyId);
    if (!n.pol) return Verdict::kRefuse;
    const ExecVerdict again = decide_image(n, exe.get(), path, asked, argv);
    if (!again.d.allow) {
      n.core->denials++;
      post_event(n, "deny", again.d, again.target, again.op);
      return Verdict::kKill;
    }
    return Verdict::kAllow;
  };
  if (!planted.empty()) {
    ov = -1;  // not the override it was to get either
    post_event(n, "deny", Decision{false, -2},
               planted + " (" + why + ": it runs under the session's strictest policy, not a commands: override)", "commands");
    n.core->denials++;
    if (const Verdict v = place_again(n.core->procs().strict()); v != Verdict::kAllow) return v;
  } else if (ov < 0 && base && !overrides_own && runs_what_it_is_typed(path)) {
    // A pager, editor or text browser the override's program runs (git's less, its $EDITOR)
    // does what its terminal or stdin types — `!cmd` in less, `:!` in vim — and both may be
    // the sandbox's (a pipe, a pty it made its terminal). It needs none of the override's
    // rights: it runs under the policy the override came from, the sandbox's own anyway.
    if (const Verdict v = place_again(base->id); v != Verdict::kAllow) return v;
  }
  if (ov >= 0) {
    // The real program, with code of someone else's choosing loaded into it by the dynamic
    // loader: that code would run with the override's rights. Killed, like a denied image.
    const std::string var = loader_injection(n.caller.tid, planters);
    // Asked after everything above was read: a debugger that wrote the process before that
    // (its environment, AT_EXECFN) was recorded before its write was carried out.
    const bool written = n.core->execs().tainted(n.caller.tgid);
    // Under a seccomp filter or Landlock ruleset a sandboxed process added (self_restrict.cc):
    // it answers before sbx, and would steer the program with the override's rights.
    const bool filtered = n.core->procs().filtered(n.caller.tgid);
    if (!n.valid()) return Verdict::kGone;
    if (!var.empty() || written || filtered) {
      n.core->denials++;
      post_event(n, "deny", Decision{false, -2},
                 path + (written    ? std::string(" (its memory was opened or written by a debugger before sbx verified it: it cannot "
                                                  "get its commands: override)")
                         : filtered ? std::string(" (it runs under a seccomp filter or Landlock ruleset a sandboxed process added: "
                                                  "it cannot get its commands: override)")
                                    : " (run with " + var + ": code from outside the program would get its commands: override)"));
      return Verdict::kKill;
    }
    // Traced (strace -f, gdb) by a debugger under a policy the override could widen: the
    // tracer would steer a process with more rights than its own (debug.cc). Killed, like a
    // denied image; the ptrace requests after it would be refused anyway.
    if (const char* why = traced_refusal(*n.core, n.caller.tid, n.caller.tgid, ov)) {
      n.core->denials++;
      post_event(n, "deny", Decision{false, -2}, path + " (traced: " + why + ")");
      return Verdict::kKill;
    }
    if (n.core->procs().assign(n.caller.tgid, ov, false) < 0) {
      post_event(n, "error", Decision{false, -2}, path);
      return Verdict::kKill;
    }
    n.policyId = n.core->procs().lookup(n.caller.tid, &n.caller.tgid, &n.caller.task, &n.caller.pin);
    if (!n.core->has_policy(n.policyId)) n.policyId = n.core->procs().strict();
    n.pol = n.core->policy(n.policyId);
    if (!n.pol) return Verdict::kRefuse;
  }
  return Verdict::kAllow;
}

// Set-id bits or file capabilities: the program would gain privileges, which no_new_privs
// forbids (it runs without them). Only said in an event, never decided on: the file
// capability answer is remembered per file version (dev, ino, ctime: setting an xattr moves
// ctime), so a program run again costs nothing more than the caller's fstat, not a path
// walk through /proc/self/fd. `st`: fd's.
bool gains_privileges(int fd, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return false;
  if (st.st_mode & (S_ISUID | S_ISGID)) return true;
  struct Key {
    dev_t dev;
    ino_t ino;
    int64_t ctime_ns;
    bool operator==(const Key& o) const { return dev == o.dev && ino == o.ino && ctime_ns == o.ctime_ns; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.ino * 1000003u ^ k.dev ^ static_cast<uint64_t>(k.ctime_ns)); }
  };
  static std::mutex mu;
  static std::unordered_map<Key, bool, KeyHash> seen;
  const Key k{st.st_dev, st.st_ino, static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
  {
    std::lock_guard<std::mutex> g(mu);
    auto it = seen.find(k);
    if (it != seen.end()) return it->second;
  }
  // fd is O_PATH (fgetxattr refuses those): go through its /proc/self/fd link.
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  const bool caps = getxattr(self.c_str(), "security.capability", nullptr, 0) > 0;
  std::lock_guard<std::mutex> g(mu);
  if (seen.size() >= 4096) seen.clear();
  seen.emplace(k, caps);
  return caps;
}

}  // namespace

const char* override_write_refusal(Core& core, int tgid) {
  if (core.execs().verified(tgid)) return nullptr;
  const int id = core.procs().member_policy(tgid);
  const auto pol = id >= 0 ? core.policy(id) : nullptr;
  if (!pol || pol->commands.empty()) return nullptr;
  Fd exe(open(("/proc/" + std::to_string(tgid) + "/exe").c_str(), O_PATH | O_CLOEXEC));
  struct stat st;
  if (!exe.ok() || fstat(exe.get(), &st) != 0) return "its image cannot be examined before sbx verifies it";
  ExecImage img;
  img.fd = exe.get();
  if (command_override_for(*pol, img, false) >= 0) return "its program gets a commands: override once sbx verifies it";
  // A script's: its interpreter is the image (which script it reads is known only at the check).
  for (const auto& c : pol->commands)
    for (const auto& sc : c.scripts)
      if (sc.interpreter.dev == st.st_dev && sc.interpreter.ino == st.st_ino) return "it may be a script that gets a commands: override once sbx verifies it";
  return nullptr;
}

// Has an exec replaced the address space of the process `tid` belongs to since `m` was taken
// (ExecTable::Mark)? Never yes for an exec that failed: what that process wrote into its own
// memory (AT_EXECFN) would be trusted.
bool exec_replaced_image(ExecTable& execs, const ExecTable::Mark& m, int tid) {
  if (!m.mem || !m.mem->ok()) return m.fingerprint != image_fingerprint(tid);
  char byte;
  if (pread(m.mem->get(), &byte, 1, static_cast<off_t>(m.probe)) == 0) return true;  // gone
  if (m.sharer <= 0) return false;  // alive, and no other process had it: still ours
  // A vfork child's: alive in its parent. Still shared, no exec. The answer is about the
  // parent we pinned only if it is alive after kcmp, and about its first address space only
  // if it exec'd nothing meanwhile (before kcmp, or after: its exec is marked before it runs).
  if (execs.exec_epoch(m.sharer) != m.sharer_epoch) return false;
  const long r = syscall(SYS_kcmp, tid, m.sharer, KCMP_VM, 0, 0);
  return pidfd_alive(m.sharer_pin->get()) && execs.exec_epoch(m.sharer) == m.sharer_epoch && (r == 1 || r == 2);
}

// The mark of the address space the exec by `tid` leaves (ExecTable::Mark).
ExecTable::Mark exec_mark(ExecTable& execs, int tid, uint64_t probe) {
  ExecTable::Mark mark;
  Fd mem(open(("/proc/" + std::to_string(tid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem.ok()) {
    mark.fingerprint = image_fingerprint(tid);
    return mark;
  }
  mark.mem = std::make_shared<const Fd>(std::move(mem));
  mark.probe = probe;
  const int parent = proc_ppid(tid);
  // Not shared (a fork's child, every exec but a vfork child's): no pin needed. Shared: asked
  // again below, once the parent is pinned, so the answer is about that process.
  if (parent <= 0 || syscall(SYS_kcmp, tid, parent, KCMP_VM, 0, 0) != 0) return mark;
  auto pin = std::make_shared<const Fd>(sys_pidfd_open(parent, 0));
  const uint64_t epoch = execs.exec_epoch(parent);
  if (pin->ok() && syscall(SYS_kcmp, tid, parent, KCMP_VM, 0, 0) == 0 && pidfd_alive(pin->get()) && execs.exec_epoch(parent) == epoch) {
    mark.sharer = parent;
    mark.sharer_pin = std::move(pin);
    mark.sharer_epoch = epoch;
  }
  return mark;
}

bool verify_before_decision(Notif& n) {
  ExecTable& t = n.core->execs();
  const ExecTable::Seen seen = t.check(n.caller.tgid, n.caller.task);
  if (seen.state == ExecTable::State::kVerified) return true;
  // An exec that failed (ENOEXEC, EACCES, E2BIG…) left the old image, and its memory —
  // AT_EXECFN, the environment — is what its own code wrote: decided as a process met for
  // the first time (nothing granted on what it says), not as one right after an exec. Told
  // apart by the old address space itself (exec_replaced_image): alive and still this
  // process's, the exec did not happen.
  const bool pending = seen.state == ExecTable::State::kPending && exec_replaced_image(t, seen.before, n.caller.tid);
  (pending ? n.core->verifiedAfterExec : n.core->verifiedFirstSight)++;
  switch (verify_image(n, pending)) {
    case Verdict::kAllow:
      t.settle(n.caller, seen);
      return true;
    case Verdict::kKill:
      kill_caller(n);
      return false;
    case Verdict::kRefuse:
      reply_error(n.listener(), n.req.id, EACCES);
      return false;
    case Verdict::kGone:
      return false;
  }
  return false;
}

void handle_exec(Notif& n) {
  const auto& a = n.req.data.args;
  const bool at = n.req.data.nr == SYS_execveat;
  const int dirfd = at ? static_cast<int>(a[0]) : AT_FDCWD;
  const uint64_t pathp = at ? a[1] : a[0], argvp = at ? a[2] : a[1];
  const int flags = at ? static_cast<int>(a[4]) : 0;
  std::string path;
  std::vector<std::string> argv;
  int e = read_string(n.caller.tid, pathp, path);
  if (e < 0) return void(reply_error(n.listener(), n.req.id, -e));
  // argv only for a policy that decides on it (the kernel reports a bad argv itself). The
  // first 64 arguments: this is the early answer only; the new image's whole argv is decided
  // at verification (a rule past them is missed here, never wrongly applied).
  if (chain_any(n, exec_uses_argv) && (e = read_argv(n.caller.tid, argvp, argv, 64)) < 0)
    return void(reply_error(n.listener(), n.req.id, -e));
  if (!n.valid()) return;

  // Pre-check: the binary as resolved now (a racing thread can still change the buffers or
  // the file, which is why the new image is decided again before its first trapped syscall).
  Fd base;
  Resolved r;
  int re = -ENOENT;
  if (path.empty() && (flags & AT_EMPTY_PATH)) {
    re = resolve_fd(n.caller, dirfd, r);
  } else if (!path.empty()) {
    if (path[0] != '/') re = open_base(n.caller, dirfd, base);
    if (path[0] == '/' || re == 0) re = resolve(n.caller, base.get(), path, !(flags & AT_SYMLINK_NOFOLLOW), 0, false, r);
  }
  // What resolution read about the caller (its cwd, fds, /proc/self) belongs to it only if
  // it still waits here; a walk from our root read nothing of it (checked above already).
  if (!(re == 0 && r.from_root) && !n.valid()) return;
  // Refused by resolution itself (another process's /proc/<pid>/exe, an unprovable name).
  if (re == -EACCES && r.refused_op) return void(refuse(n, Decision{false, -2}, r.refused_op, r.refused, EACCES));
  // Nothing to run (execvp walking PATH): answer like the kernel. A file created right
  // after we looked is the same as one created after the exec (verified all the same).
  if (re == -ENOENT || re == -ENOTDIR || re == -ELOOP || re == -ENAMETOOLONG)
    return void(reply_error(n.listener(), n.req.id, -re));
  if (re == 0 && r.fd.ok()) {
    const std::string bin = resolved_path(r);
    // No exec rules in the chain: the path alone is decided (the fd proved it; no fstat).
    const ExecVerdict v = decide_image(n, chain_any(n, exec_rules_exist) ? r.fd.get() : -1, bin, path, argv);
    if (refuse(n, v.d, v.op, v.target, EACCES)) return;
    struct stat st;
    if (fstat(r.fd.get(), &st) != 0) return void(reply_error(n.listener(), n.req.id, EACCES));
    // Another program's /dev/shm object is not run either: its image is its content.
    if (shm_refused(n, r.fd.get(), st, bin)) return;
    // A set-id or file-capability program runs, but without its privileges (no_new_privs):
    // say so, once per program, so `sudo` failing is not a mystery (the supervisor prints it).
    if (gains_privileges(r.fd.get(), st)) {
      Event ev;
      ev.time = now_ms();
      ev.kind = "privileged";
      ev.policy = n.policyId;
      ev.rule = -2;
      ev.pid = n.caller.tgid;
      ev.program = bin;
      ev.syscall = n.syscall;
      ev.op = "exec";
      ev.target = bin;
      n.core->emit(std::move(ev));
    }
  }
  // Marked before the CONTINUE: the new image cannot reach a trapped syscall before it.
  ExecTable::Mark mark = exec_mark(n.core->execs(), n.caller.tid, n.req.data.instruction_pointer);
  if (!n.valid()) return;  // what the mark holds is the caller's only if it still waits
  n.core->execs().mark_pending(n.caller, std::move(mark));
  // The shell execs another program in its place: that one does not follow cd. Recorded
  // before the CONTINUE (and in the keeper's store), so a supervisor restarted before the new
  // image traps cannot take it for the shell.
  n.core->procs().exec_starts(n.caller.tgid);
  reply_continue(n.listener(), n.req.id);
}

}  // namespace sbx
