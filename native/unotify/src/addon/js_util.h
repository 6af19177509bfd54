// Argument checking for the JS entry points: each failure throws a TypeError naming the
// function signature and the bad argument.
#pragma once
#include <napi.h>

#include <string>

#include "policy.h"

namespace sbx {

[[noreturn]] void throw_type(const Napi::Env& env, const char* sig, const std::string& what);
int arg_int(const Napi::CallbackInfo& info, size_t i, const char* sig, const char* name, int64_t lo, int64_t hi);
std::string arg_str(const Napi::CallbackInfo& info, size_t i, const char* sig, const char* name);
void need_args(const Napi::CallbackInfo& info, size_t n, const char* sig);
// CompiledPolicy (or a {default, rules} path section) from JS.
Policy policy_from_js(const Napi::Env& env, const Napi::Value& v, const char* sig);
PathSection section_from_js(const Napi::Env& env, const Napi::Value& v, const char* sig, const std::string& where);

}  // namespace sbx
