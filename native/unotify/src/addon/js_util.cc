// See js_util.h.
#include "js_util.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace sbx {

void throw_type(const Napi::Env& env, const char* sig, const std::string& what) {
  throw Napi::TypeError::New(env, std::string(sig) + ": " + what);
}

void need_args(const Napi::CallbackInfo& info, size_t n, const char* sig) {
  if (info.Length() != n)
    throw_type(info.Env(), sig, "expected " + std::to_string(n) + " argument(s), got " + std::to_string(info.Length()));
}

static bool is_int(const Napi::Value& v, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi);
}

int arg_int(const Napi::CallbackInfo& info, size_t i, const char* sig, const char* name, int64_t lo, int64_t hi) {
  if (!is_int(info[i], lo, hi))
    throw_type(info.Env(), sig,
               std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(info[i].As<Napi::Number>().Int64Value());
}

std::string arg_str(const Napi::CallbackInfo& info, size_t i, const char* sig, const char* name) {
  if (!info[i].IsString()) throw_type(info.Env(), sig, std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

namespace {

Napi::Object obj(const Napi::Env& env, const Napi::Value& v, const char* sig, const std::string& where) {
  if (!v.IsObject() || v.IsArray()) throw_type(env, sig, where + " must be an object");
  return v.As<Napi::Object>();
}

Napi::Array arr(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw_type(env, sig, where + "." + key + " must be an array");
  return v.As<Napi::Array>();
}

int num(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, const std::string& where,
        int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!is_int(v, lo, hi))
    throw_type(env, sig, where + "." + key + " must be an integer in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
  return static_cast<int>(v.As<Napi::Number>().Int64Value());
}

std::string str(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, const std::string& where) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw_type(env, sig, where + "." + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool effect(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, const std::string& where) {
  std::string e = str(env, o, key, sig, where);
  if (e != "allow" && e != "deny") throw_type(env, sig, where + "." + key + " must be 'allow' or 'deny'");
  return e == "deny";
}

std::vector<PathRule> path_rules(const Napi::Env& env, const Napi::Array& a, const char* sig, const std::string& where) {
  std::vector<PathRule> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string w = where + "[" + std::to_string(i) + "]";
    Napi::Object r = obj(env, a.Get(i), sig, w);
    PathRule pr;
    pr.rule = num(env, r, "rule", sig, w, -2, INT32_MAX);
    pr.deny = effect(env, r, "effect", sig, w);
    std::string m = str(env, r, "match", sig, w);
    if (m != "subtree" && m != "glob" && m != "exact") throw_type(env, sig, w + ".match must be 'subtree', 'glob' or 'exact'");
    pr.glob = m != "subtree";
    pr.exact = m == "exact";
    pr.pattern = str(env, r, "pattern", sig, w);
    if (pr.pattern.empty()) throw_type(env, sig, w + ".pattern must not be empty");
    Napi::Value f = r.Get("floor");
    if (!f.IsBoolean() && !f.IsUndefined()) throw_type(env, sig, w + ".floor must be a boolean");
    pr.floor = f.IsBoolean() && f.As<Napi::Boolean>().Value();
    Napi::Value dep = r.Get("deputy");
    if (!dep.IsBoolean() && !dep.IsUndefined()) throw_type(env, sig, w + ".deputy must be a boolean");
    pr.deputy = dep.IsBoolean() && dep.As<Napi::Boolean>().Value();
    Napi::Value bi = r.Get("builtin");
    if (!bi.IsBoolean() && !bi.IsUndefined()) throw_type(env, sig, w + ".builtin must be a boolean");
    pr.builtin = bi.IsBoolean() && bi.As<Napi::Boolean>().Value();
    compile_rule(pr);
    out.push_back(std::move(pr));
  }
  return out;
}

uint64_t u64(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig, const std::string& where) {
  std::string v = str(env, o, key, sig, where);
  if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos)
    throw_type(env, sig, where + "." + key + " must be a decimal string (got " + v + ")");
  errno = 0;
  unsigned long long n = strtoull(v.c_str(), nullptr, 10);
  if (errno) throw_type(env, sig, where + "." + key + " is out of range (got " + v + ")");
  return n;
}

// One image identity ({dev, ino, size, sha256, path}) at `w`.
ImageId image(const Napi::Env& env, const Napi::Value& v, const char* sig, const std::string& w) {
  Napi::Object im = obj(env, v, sig, w);
  ImageId id;
  id.path = str(env, im, "path", sig, w);
  if (id.path.empty() || id.path[0] != '/') throw_type(env, sig, w + ".path must be an absolute path (got " + id.path + ")");
  id.dev = u64(env, im, "dev", sig, w);
  id.ino = u64(env, im, "ino", sig, w);
  id.mtime_ns = static_cast<int64_t>(u64(env, im, "mtimeNs", sig, w));
  id.ctime_ns = static_cast<int64_t>(u64(env, im, "ctimeNs", sig, w));
  Napi::Value sz = im.Get("size");
  if (!sz.IsNumber() || sz.As<Napi::Number>().DoubleValue() < 0 ||
      sz.As<Napi::Number>().DoubleValue() != std::floor(sz.As<Napi::Number>().DoubleValue()))
    throw_type(env, sig, w + ".size must be a non-negative integer");
  id.size = sz.As<Napi::Number>().Int64Value();
  if (!im.Get("sha256").IsUndefined()) {
    std::string h = str(env, im, "sha256", sig, w);
    if (!sha256_from_hex(h, id.sha)) throw_type(env, sig, w + ".sha256 must be 64 lower-case hex digits (got " + h + ")");
    id.has_sha = true;
  }
  return id;
}

// Optional array of image identities.
std::vector<ImageId> images(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig,
                            const std::string& where) {
  std::vector<ImageId> out;
  if (o.Get(key).IsUndefined()) return out;
  Napi::Array a = arr(env, o, key, sig, where);
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(image(env, a.Get(i), sig, where + "." + key + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<std::string> strings(const Napi::Env& env, const Napi::Object& o, const char* key, const char* sig,
                                 const std::string& where) {
  std::vector<std::string> out;
  Napi::Array a = arr(env, o, key, sig, where);
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value s = a.Get(k);
    if (!s.IsString()) throw_type(env, sig, where + "." + key + "[" + std::to_string(k) + "] must be a string");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

}  // namespace

PathSection section_from_js(const Napi::Env& env, const Napi::Value& v, const char* sig, const std::string& where) {
  Napi::Object o = obj(env, v, sig, where);
  PathSection s;
  s.defDeny = effect(env, o, "default", sig, where);
  s.rules = path_rules(env, arr(env, o, "rules", sig, where), sig, where + ".rules");
  return s;
}

Policy policy_from_js(const Napi::Env& env, const Napi::Value& v, const char* sig) {
  Napi::Object o = obj(env, v, sig, "policy");
  Policy p;
  p.id = num(env, o, "id", sig, "policy", 0, INT32_MAX);
  std::string mode = str(env, o, "mode", sig, "policy");
  if (mode != "enforce" && mode != "audit") throw_type(env, sig, "policy.mode must be 'enforce' or 'audit'");
  p.audit = mode == "audit";
  Napi::Value w = o.Get("within");
  if (!w.IsUndefined()) p.within = num(env, o, "within", sig, "policy", 0, INT32_MAX);
  p.read = section_from_js(env, o.Get("read"), sig, "policy.read");
  p.write = section_from_js(env, o.Get("write"), sig, "policy.write");
  p.unix_ = section_from_js(env, o.Get("unix"), sig, "policy.unix");
  Napi::Object ex = obj(env, o.Get("exec"), sig, "policy.exec");
  p.exec.paths.defDeny = effect(env, ex, "default", sig, "policy.exec");
  p.exec.paths.rules = path_rules(env, arr(env, ex, "paths", sig, "policy.exec"), sig, "policy.exec.paths");
  Napi::Array progs = arr(env, ex, "programs", sig, "policy.exec");
  for (uint32_t i = 0; i < progs.Length(); i++) {
    std::string w = "policy.exec.programs[" + std::to_string(i) + "]";
    Napi::Object r = obj(env, progs.Get(i), sig, w);
    ProgramRule pr;
    pr.rule = num(env, r, "rule", sig, w, -2, INT32_MAX);
    pr.deny = effect(env, r, "effect", sig, w);
    pr.name = str(env, r, "name", sig, w);
    pr.args = strings(env, r, "args", sig, w);
    pr.images = images(env, r, "images", sig, w);
    if (!r.Get("tool").IsUndefined()) {
      Napi::Object t = obj(env, r.Get("tool"), sig, w + ".tool");
      pr.tool.known = true;
      pr.tool.value = strings(env, t, "value", sig, w + ".tool");
      pr.tool.flag = strings(env, t, "flag", sig, w + ".tool");
    }
    p.exec.programs.push_back(std::move(pr));
  }
  p.exec.loaders = images(env, ex, "loaders", sig, "policy.exec");
  Napi::Object net = obj(env, o.Get("net"), sig, "policy.net");
  p.net.defDeny = effect(env, net, "default", sig, "policy.net");
  if (!net.Get("proxyPort").IsUndefined()) p.net.proxyPort = num(env, net, "proxyPort", sig, "policy.net", 0, 65535);
  Napi::Array nr = arr(env, net, "rules", sig, "policy.net");
  for (uint32_t i = 0; i < nr.Length(); i++) {
    std::string w = "policy.net.rules[" + std::to_string(i) + "]";
    Napi::Object r = obj(env, nr.Get(i), sig, w);
    NetRule rule;
    rule.rule = num(env, r, "rule", sig, w, -2, INT32_MAX);
    rule.deny = effect(env, r, "effect", sig, w);
    rule.family = num(env, r, "family", sig, w, 4, 6);
    if (rule.family != 4 && rule.family != 6) throw_type(env, sig, w + ".family must be 4 or 6");
    std::string addr = str(env, r, "address", sig, w);
    if (inet_pton(rule.family == 4 ? AF_INET : AF_INET6, addr.c_str(), rule.addr) != 1)
      throw_type(env, sig, w + ".address is not an IPv" + std::to_string(rule.family) + " address (got " + addr + ")");
    rule.prefix = num(env, r, "prefix", sig, w, 0, rule.family == 4 ? 32 : 128);
    rule.portLo = num(env, r, "portLo", sig, w, 0, 65535);
    rule.portHi = num(env, r, "portHi", sig, w, 0, 65535);
    if (rule.portLo > rule.portHi) throw_type(env, sig, w + ".portLo must be <= portHi");
    p.net.rules.push_back(rule);
  }
  Napi::Array cmds = arr(env, o, "commands", sig, "policy");
  for (uint32_t i = 0; i < cmds.Length(); i++) {
    std::string w = "policy.commands[" + std::to_string(i) + "]";
    Napi::Object r = obj(env, cmds.Get(i), sig, w);
    CommandOverride c;
    c.rule = num(env, r, "rule", sig, w, -2, INT32_MAX);
    c.name = str(env, r, "name", sig, w);
    c.policy = num(env, r, "policy", sig, w, 0, INT32_MAX);
    c.images = images(env, r, "images", sig, w);
    if (!r.Get("scripts").IsUndefined()) {
      Napi::Array sc = arr(env, r, "scripts", sig, w);
      for (uint32_t k = 0; k < sc.Length(); k++) {
        std::string sw = w + ".scripts[" + std::to_string(k) + "]";
        Napi::Object so = obj(env, sc.Get(k), sig, sw);
        CommandScript cs;
        cs.paths = strings(env, so, "paths", sig, sw);
        for (const auto& path : cs.paths)
          if (path.empty() || path[0] != '/') throw_type(env, sig, sw + ".paths must be absolute paths (got " + path + ")");
        cs.script = image(env, so.Get("script"), sig, sw + ".script");
        cs.interpreter = image(env, so.Get("interpreter"), sig, sw + ".interpreter");
        c.scripts.push_back(std::move(cs));
      }
    }
    p.commands.push_back(std::move(c));
  }
  return p;
}

}  // namespace sbx
