// Glob matching per compiled.ts: `*` any run except '/', `?` one char except '/',
// `**` as a whole segment = zero or more segments, `\` escapes the next character.
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

void compile_rule(PathRule& r) {
  r.gsegs.clear();
  r.gstar.clear();
  if (r.glob) split_glob(r.pattern, r.gsegs, r.gstar);
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

// One step of the matcher: from the path prefixes pattern segments [0,i) can reach
// (`reach`), those [0,i+1) can reach, over the first n path segments. `next` is scratch.
static void advance(const PathRule& r, size_t i, const std::vector<std::string_view>& ss, size_t n,
                    std::vector<char>& reach, std::vector<char>& next) {
  std::fill(next.begin(), next.end(), 0);
  if (r.gstar[i]) {
    bool any = false;
    for (size_t j = 0; j <= n; j++) {
      any = any || reach[j];
      next[j] = any;
    }
  } else {
    for (size_t j = 0; j < n; j++)
      if (reach[j] && seg_match(r.gsegs[i], ss[j])) next[j + 1] = 1;
  }
  reach.swap(next);
}

// Does the whole glob match the first n path segments? Dynamic programming over
// (pattern segment, path segment) so `**` stays linear-ish.
static bool match_prefix(const PathRule& r, const std::vector<std::string_view>& ss, size_t n) {
  const size_t P = r.gsegs.size();
  // reach[j] = pattern prefix [0,i) can match path prefix [0,j)
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  for (size_t i = 0; i < P; i++) advance(r, i, ss, n, reach, next);
  return reach[n];
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
  bool star = false;
  for (char c : r.gstar) star = star || c;
  if (!star && r.gsegs.size() != ss.size()) return false;
  return match_prefix(r, ss, ss.size());
}

// Depth of the shortest ancestor-or-self of the path the glob matches, or -1.
int glob_match_depth_rel(const PathRule& r, const std::vector<std::string_view>& ss, bool absolute) {
  // "/" is an ancestor of an absolute path; a relative name ("@abstract") has no empty ancestor.
  for (size_t n = absolute ? 0 : 1; n <= ss.size(); n++)
    if (match_prefix(r, ss, n)) return static_cast<int>(n);
  return -1;
}

// Could the glob match some path strictly below `dir`? True when, after matching all of
// dir's segments, part of the pattern is left (what is left may match deeper names).
bool glob_can_match_below(const PathRule& r, const std::string& dir) {
  auto ss = path_segments(dir);
  const size_t P = r.gsegs.size(), n = ss.size();
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  bool left = false;
  for (size_t i = 0; i < P; i++) {
    if (reach[n]) left = true;  // pattern segments i..P-1 remain for deeper levels
    advance(r, i, ss, n, reach, next);
  }
  // A trailing ** also matches deeper paths once everything else matched.
  return left || (reach[n] && P > 0 && r.gstar[P - 1]);
}

}  // namespace sbx
