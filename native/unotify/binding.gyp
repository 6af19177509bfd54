{
  "variables": { "openssl_fips": "" },
  "target_defaults": {
    "cflags": ["-fvisibility=hidden", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-O2", "-Wall", "-Wextra"],
    "cflags_cc": ["-fvisibility=hidden", "-fstack-protector-strong", "-std=c++17", "-O2", "-Wall", "-Wextra"],
    "cflags_cc!": ["-fno-exceptions"],
    "ldflags": ["-Wl,-z,relro,-z,now"]
  },
  "targets": [
    {
      "target_name": "sbx_unotify",
      "sources": ["src/addon/accept.cc", "src/addon/addon.cc", "src/addon/bare_repo.cc", "src/addon/debug.cc", "src/addon/decide.cc", "src/addon/dir_stamps.cc", "src/addon/engine.cc", "src/addon/event_queue.cc", "src/addon/exec.cc", "src/addon/exec_rules.cc", "src/addon/exec_state.cc", "src/addon/dumpable.cc", "src/addon/sha256.cc",
                  "src/addon/fdpass.cc", "src/addon/fdserver.cc", "src/addon/fs_check.cc", "src/addon/fs_fdmeta.cc", "src/addon/fs_open.cc", "src/addon/fs_tty.cc",
                  "src/addon/fs_ops.cc", "src/addon/git_config.cc", "src/addon/hooks_path.cc", "src/addon/local_route.cc", "src/addon/net_boundary.cc", "src/addon/glob.cc", "src/addon/ipc.cc", "src/addon/ipc_table.cc", "src/addon/shm_files.cc", "src/addon/journal.cc", "src/addon/js_util.cc", "src/addon/memory.cc",
                  "src/addon/net.cc", "src/addon/net_sockopt.cc", "src/addon/net_registry.cc", "src/addon/outside_sockets.cc", "src/addon/path_resolve.cc", "src/addon/port_squat.cc", "src/addon/probe.cc", "src/addon/proc.cc", "src/addon/procs.cc", "src/addon/receiver_role.cc", "src/addon/root_links.cc", "src/addon/session_pause.cc", "src/addon/self_restrict.cc", "src/addon/terminal_release.cc", "src/addon/tree_walk.cc",
                  "src/addon/signals.cc", "src/addon/shm_region.cc", "src/addon/sys.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "sbx-launch",
      "type": "executable",
      "sources": ["src/launcher.c", "src/pty_relay.c"],
      "include_dirs": ["src"],
      "cflags": ["-fPIE"],
      "ldflags": ["-static-pie"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "sbx-fast",
      "type": "executable",
      "sources": ["src/fast.c"],
      "include_dirs": ["src"],
      "defines": ["SBX_NODE_PATH=<!(node -p \"JSON.stringify(process.execPath)\")"],
      "cflags": ["-fPIE"],
      "ldflags": ["-static-pie"]
    },
    {
      "target_name": "sbx-keeper",
      "type": "executable",
      "sources": ["src/keeper.c"],
      "include_dirs": ["src"],
      "cflags": ["-fPIE"],
      "ldflags": ["-static-pie"]
    }
  ]
}
