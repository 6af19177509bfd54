// Glob matching per compiled.ts: `*` any run except '/', `?` one char except '/',
// `**` as a whole segment = zero or more segments, `\` escapes the next character.
#include <algorithm>
#include <string_view>

#include "policy.h"

namespace sbx {

// Splits on unescaped '/', keeping escapes in the segment text. A leading '/' is
// dropped; empty segments ("//") are skipped.
static void split_glob(const std::string& g, std::vector<std::string>& segs, std::vector<char>& star) {
  std::string cur;
  bool raw_star2 = true;  // segment consists of exactly two unescaped '*'
  auto flush = [&]() {
    if (!cur.empty()) {
      segs.push_back(cur);
      star.push_back(raw_star2 && cur == "**");
    }
    cur.clear();
    raw_star2 = true;
  };
  for (size_t i = 0; i < g.size(); i++) {
    char c = g[i];
    if (c == '\\' && i + 1 < g.size()) {
      cur += c;
      cur += g[++i];
      raw_star2 = false;
    } else if (c == '/') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
}

std::vector<std::string_view> path_segments(const std::string& path);

void compile_rule(PathRule& r) {
  r.gsegs.clear();
  r.gstar.clear();
  if (r.glob) split_glob(r.pattern, r.gsegs, r.gstar);
  r.anyStar = false;
  for (char c : r.gstar) r.anyStar = r.anyStar || c;
  r.depth = r.glob ? 0 : static_cast<int>(path_segments(r.pattern).size());
}

// One segment against one path segment (no '/' in either).
static bool seg_match(const std::string& p, std::string_view s) {
  size_t pi = 0, si = 0, star_p = std::string::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '*') {
        while (pi < p.size() && p[pi] == '*') pi++;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (c == '?') {
        pi++;
        si++;
        continue;
      }
      char lit = c;
      size_t adv = 1;
      if (c == '\\' && pi + 1 < p.size()) {
        lit = p[pi + 1];
        adv = 2;
      }
      if (lit == s[si]) {
        pi += adv;
        si++;
        continue;
      }
    }
    if (star_p == std::string::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

std::vector<std::string_view> path_segments(const std::string& path) {
  std::vector<std::string_view> out;
  std::string_view v(path);
  size_t i = 0;
  while (i < v.size()) {
    if (v[i] == '/') {
      i++;
      continue;
    }
    size_t j = v.find('/', i);
    if (j == std::string_view::npos) j = v.size();
    out.push_back(v.substr(i, j - i));
    i = j;
  }
  return out;
}

// The matcher: dynamic programming over (pattern segment, path segment) so `**` stays
// linear. reach[j] = pattern segments [0,i) match path segments [0,j); entry j depends only
// on path segments before j, so one pass over the whole path answers every prefix at once.
// Scratch lives on the stack for ordinary depths: a decision allocates nothing here.
namespace {
constexpr size_t kStackSegs = 64;
struct Reach {
  char small[2][kStackSegs + 1];
  std::vector<char> big[2];
  char* cur;
  char* nxt;
  explicit Reach(size_t n) {
    if (n + 1 <= sizeof small[0]) {
      cur = small[0], nxt = small[1];
    } else {
      big[0].assign(n + 1, 0), big[1].assign(n + 1, 0);
      cur = big[0].data(), nxt = big[1].data();
    }
    std::fill(cur, cur + n + 1, 0);
    cur[0] = 1;
  }
};
}  // namespace

// Runs pattern segments [0,P) over path segments [0,n): returns reach (valid until rc dies),
// or nullptr as soon as no prefix can match any more.
static const char* run_glob(const PathRule& r, const std::vector<std::string_view>& ss, size_t n, Reach& rc) {
  for (size_t i = 0; i < r.gsegs.size(); i++) {
    bool alive = false;
    if (r.gstar[i]) {
      bool any = false;
      for (size_t j = 0; j <= n; j++) {
        any = any || rc.cur[j];
        rc.nxt[j] = any;
      }
      alive = any;
    } else {
      rc.nxt[0] = 0;
      for (size_t j = 0; j < n; j++) {
        rc.nxt[j + 1] = rc.cur[j] && seg_match(r.gsegs[i], ss[j]);
        alive = alive || rc.nxt[j + 1];
      }
    }
    std::swap(rc.cur, rc.nxt);
    if (!alive) return nullptr;
  }
  return rc.cur;
}

// Does the whole glob match the first n path segments?
static bool match_prefix(const PathRule& r, const std::vector<std::string_view>& ss, size_t n) {
  Reach rc(n);
  const char* reach = run_glob(r, ss, n, rc);
  return reach && reach[n];
}

bool glob_match(const std::string& glob, const std::string& path) {
  PathRule r;
  r.glob = true;
  r.pattern = glob;
  compile_rule(r);
  auto ss = path_segments(path);
  return match_prefix(r, ss, ss.size());
}

bool glob_rule_matches_all(const PathRule& r, const std::vector<std::string_view>& ss) {
  // Without `**` a glob matches only paths with as many segments: most paths fail here.
  if (!r.anyStar && r.gsegs.size() != ss.size()) return false;
  return match_prefix(r, ss, ss.size());
}

// Depth of the shortest ancestor-or-self of the path the glob matches, or -1.
int glob_match_depth_rel(const PathRule& r, const std::vector<std::string_view>& ss, bool absolute) {
  const size_t n = ss.size();
  // Without `**` only the prefix with as many segments can match.
  if (!r.anyStar && r.gsegs.size() > n) return -1;
  Reach rc(n);
  const char* reach = run_glob(r, ss, n, rc);
  if (!reach) return -1;
  // "/" is an ancestor of an absolute path; a relative name ("@abstract") has no empty ancestor.
  for (size_t j = absolute ? 0 : 1; j <= n; j++)
    if (reach[j]) return static_cast<int>(j);
  return -1;
}

// Could the glob match some path strictly below `dir`? True when, after matching all of
// dir's segments, part of the pattern is left (what is left may match deeper names).
bool glob_can_match_below(const PathRule& r, const std::string& dir) {
  auto ss = path_segments(dir);
  const size_t P = r.gsegs.size(), n = ss.size();
  Reach rc(n);
  bool left = false;
  for (size_t i = 0; i < P; i++) {
    if (rc.cur[n]) left = true;  // pattern segments i..P-1 remain for deeper levels
    if (r.gstar[i]) {
      bool any = false;
      for (size_t j = 0; j <= n; j++) {
        any = any || rc.cur[j];
        rc.nxt[j] = any;
      }
    } else {
      rc.nxt[0] = 0;
      for (size_t j = 0; j < n; j++) rc.nxt[j + 1] = rc.cur[j] && seg_match(r.gsegs[i], ss[j]);
    }
    std::swap(rc.cur, rc.nxt);
  }
  // A trailing ** also matches deeper paths once everything else matched.
  return left || (rc.cur[n] && P > 0 && r.gstar[P - 1]);
}

}  // namespace sbx
