# sbx library for direnv: `use sandbox [FILE]` in an .envrc applies FILE (default .sbx.yaml,
# relative to the .envrc) as this directory's sandbox policy; leaving the directory lifts it.
#
# Install one of two ways:
#   1. source it from ~/.config/direnv/direnvrc:
#        echo "source $(sbx hook direnv --path)" >> ~/.config/direnv/direnvrc
#   2. or copy it into direnv's library folder (direnv sources every lib/*.sh):
#        sbx hook direnv > ~/.config/direnv/lib/sbx.sh
# The shell also needs the sbx hook (eval "$(sbx hook bash)" etc.): direnv only exports
# SBX_DIRENV_USE; the hook sees it after direnv runs and pushes /proc/self/sbx/use/FILE, and
# pushes /proc/self/sbx/leave when direnv unloads it. The supervisor reads FILE itself.

use_sandbox() {
  local file
  # Only the sbx hook applies it: a shell without the hook (no session) would run unsandboxed
  # while direnv says "using sandbox". Say so, and fail the .envrc.
  if [[ -z ${SBX_SESSION-} ]]; then
    log_error "sbx: use sandbox: NOT sandboxed: this shell has no sbx session; add eval \"\$(sbx hook bash)\" (or zsh, or: sbx hook fish | source) to your rc file"
    return 1
  fi
  file=$(expand_path "${1:-.sbx.yaml}")
  # Reload (and so re-push) when the policy file appears, changes or goes away.
  watch_file "$file"
  if [[ ! -f $file ]]; then
    log_error "sbx: use sandbox: $file: no such file (the sandbox policy is unchanged)"
    return 1
  fi
  export SBX_DIRENV_USE="$file"
}
