// Placeholder until the engine lands: exports nothing yet.
#include <napi.h>
static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(sbx_unotify, Init)
