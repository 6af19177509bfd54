# sbx shell integration for bash — printed by `sbx hook bash`. In ~/.bashrc, near the top:
#   eval "$(sbx hook bash)"
# Protocol: docs/hook-protocol.md. The prompt path spawns nothing: an unchanged prompt is two
# string compares. A push is a builtin read of /proc/self/sbx/..., answered by the sandbox.
if [[ $- == *i* ]]; then

__sbx_bin=@SBX_BIN@
# bin/sbx's native client: run directly on the way into a session, it saves bin/sbx's sh start
# ('' without a native build, or gone since: bin/sbx then).
__sbx_fast=@SBX_FAST@
# Where pushes go: /proc/self/sbx, answered by the sandbox. Tests point it at canned replies,
# set in the rc file before the eval (never from the environment: an exported one is ignored).
[[ -n ${__sbx_proc-} && ${__sbx_proc@a} != *x* ]] || __sbx_proc=/proc/self/sbx

if [[ ${__sbx_loaded-} != "$$" ]]; then   # first load in this shell; a second eval keeps the state
  __sbx_loaded=$$
  __sbx_dir= __sbx_use=$'\1' __sbx_req= __sbx_used= __sbx_warned= __sbx_fresh= __sbx_reenv= __sbx_quiet=
  __sbx_deny=() __sbx_allow=() __sbx_reply=()
  unset __sbx_hidden
  declare -gA __sbx_hidden=()               # NAME -> value we removed from the environment
fi

# Every variable name, without a fork: ${!A@} ${!B@} ... expands to the names with that prefix.
__sbx_allnames='__sbx_names=('
for __sbx_c in {A..Z} {a..z} _; do __sbx_allnames+=" \"\${!${__sbx_c}@}\""; done
__sbx_allnames+=')'
unset __sbx_c

__sbx_say() { printf 'sbx: %s\n' "$*" >&2; }

# No session could start: ONE line with the cause and the fix ($1 may be sbx's own "sbx: …" +
# "hint: …" output), and a loud prompt marker until a new terminal starts sandboxed.
__sbx_off() {
  local why=${1#sbx: } fix=$2 l
  [[ $why == *$'\n'hint:\ * ]] && { l=${why#*$'\n'hint: }; fix=${l%%$'\n'*}; }
  why=${why%%$'\n'*}
  __sbx_say "NOT sandboxed: $why${fix:+; fix: $fix}"
  export SBX_PROMPT='sbx:NOT-SANDBOXED'
  __sbx_unsafe=1
}

# In an unsandboxed shell, every prompt says so, unless it already shows $SBX_PROMPT.
__sbx_mark() {
  case $PS1 in *SBX_PROMPT*|*sbx_prompt_info*|*'[sbx: NOT SANDBOXED]'*) ;; *) PS1="[sbx: NOT SANDBOXED] $PS1" ;; esac
}

# For PS1 prefer '${SBX_PROMPT:+[$SBX_PROMPT] }' (a $(...) forks); for starship use [env_var.SBX_PROMPT].
sbx_prompt_info() { [[ -n ${SBX_PROMPT-} ]] && printf '%s' "$SBX_PROMPT"; return 0; }

# Variables never hidden: the shell needs them to work, or they are sbx's and direnv's own.
__sbx_keep() {
  case $1 in PATH|HOME|USER|LOGNAME|SHELL|TERM|LANG|PWD|OLDPWD|SHLVL|_|SBX_*|DIRENV_*|__sbx*) return 0 ;; esac
  return 1
}

# Whether the env policy hides variable $1, as the policy model decides it: `*` is the only
# wildcard, the most specific pattern (most literal characters) wins, deny wins ties.
__sbx_env_denied() {
  local p t best=-1 r=1
  for p in "${__sbx_deny[@]}"; do
    [[ $1 == $p ]] || continue
    t=${p//\*}
    (( ${#t} > best )) && best=${#t} r=0
  done
  (( best < 0 )) && return 1
  for p in "${__sbx_allow[@]}"; do
    [[ $1 == $p ]] || continue
    t=${p//\*}
    (( ${#t} > best )) && best=${#t} r=1
  done
  return $r
}

# Hide exported variables the env policy denies, give back what it no longer denies. One
# combined pattern rejects most names at once; only candidates pay for the full decision.
__sbx_env_apply() {
  (( ${#__sbx_deny[@]} + ${#__sbx_hidden[@]} )) || return 0
  local n p any
  local -a __sbx_names
  local -A want=()
  for n in "${!__sbx_hidden[@]}"; do __sbx_env_denied "$n" && want[$n]=1; done
  if (( ${#__sbx_deny[@]} )); then
    printf -v any '%s|' "${__sbx_deny[@]}"
    any="@(${any%|})"   # [[ == ]] always knows extglob patterns
    # Candidates: ${!PREFIX@} per pattern with a literal prefix; all names (53 such scans) only
    # when a pattern starts with *.
    if [[ " ${__sbx_deny[*]}" == *' *'* ]]; then
      eval "$__sbx_allnames"
    else
      __sbx_names=()
      for p in "${__sbx_deny[@]}"; do
        p=${p%%\**}
        [[ $p == [A-Za-z_]* ]] && eval "__sbx_names+=(\"\${!$p@}\")"
      done
    fi
    for n in "${__sbx_names[@]}"; do
      [[ $n == $any && -z ${__sbx_hidden[$n]+x} ]] || continue
      __sbx_keep "$n" && continue
      p=${!n@a}
      [[ $p == *x* && $p != *r* ]] || continue   # only exported, writable variables
      __sbx_env_denied "$n" && want[$n]=1
    done
  fi
  for n in "${!__sbx_hidden[@]}"; do
    [[ -n ${want[$n]-} ]] && continue
    # Restore exactly what we took, unless the user has set the variable again since.
    [[ -n ${!n+x} ]] || export "$n=${__sbx_hidden[$n]}"
    unset '__sbx_hidden[$n]'
  done
  for n in "${!want[@]}"; do
    [[ -n ${__sbx_hidden[$n]+x} || -z ${!n+x} ]] && continue
    __sbx_hidden[$n]=${!n}
    unset "$n"
  done
}

# sbx's proxy variables while the policy needs its proxy ($@: NAME=VALUE from `proxy` lines);
# none: the user's own come back, exactly as they were (set or unset).
__sbx_proxy_apply() {
  local n kv
  if (( $# )); then
    if [[ -z ${__sbx_proxied-} ]]; then
      __sbx_proxy_saved=()
      for n in HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy; do
        [[ -n ${!n+x} ]] && __sbx_proxy_saved+=("$n=${!n}")
      done
      __sbx_proxied=1
    fi
    for kv in "$@"; do export "$kv"; done
  elif [[ -n ${__sbx_proxied-} ]]; then
    unset HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy
    for kv in "${__sbx_proxy_saved[@]}"; do export "$kv"; done
    __sbx_proxied= __sbx_proxy_saved=()
  fi
}

# Act on a reply (lines in __sbx_reply): prompt segment, notices, env policy.
__sbx_apply() {
  local line key val
  local -a proxy=()
  if [[ ${__sbx_reply[0]-} != 'sbx 1' ]]; then
    __sbx_say "unexpected reply from the sandbox ('${__sbx_reply[0]-}'): is the hook older than the supervisor? re-run: eval \"\$(sbx hook bash)\""
    return 1
  fi
  __sbx_deny=() __sbx_allow=() __sbx_fresh=
  for line in "${__sbx_reply[@]:1}"; do
    key=${line%% *} val=${line#*' '}
    [[ $key == "$line" ]] && val=
    case $key in
      policy) SBX_POLICY=$val ;;
      prompt) export SBX_PROMPT=$val ;;
      notice) [[ $val == sbx:* ]] && printf '%s\n' "$val" >&2 || __sbx_say "$val" ;;
      # Only names and * can match a variable name; anything else would be a glob of its own.
      env-deny) [[ $val == *[!A-Za-z0-9_*]* ]] || __sbx_deny+=("$val") ;;
      env-allow) [[ $val == *[!A-Za-z0-9_*]* ]] || __sbx_allow+=("$val") ;;
      # Kept only if this shell can see it now (else it would ask again at every prompt).
      fresh) [[ -e $val ]] && __sbx_fresh=$val ;;
      proxy) [[ $val == @(HTTP_PROXY|HTTPS_PROXY|ALL_PROXY|NO_PROXY|http_proxy|https_proxy|all_proxy|no_proxy)=* ]] && proxy+=("$val") ;;
    esac
  done
  __sbx_proxy_apply "${proxy[@]}"
  __sbx_env_apply
  return 0
}

# One push: $1 is the request under /proc/self/sbx/ ("cd/DIR", "use/FILE" or "leave"; DIR and FILE are absolute, so "cd//home/u/p").
__sbx_push() {
  if [[ -n ${SBX_MACOS_CTL-} ]]; then
    # macOS: the unsandboxed parent reads `cd DIR` lines from its FIFO (<> never blocks on open).
    [[ $1 == cd/* ]] && { printf 'cd %s\n' "${1#cd/}" 1<>"$SBX_MACOS_CTL"; } 2>&-
    return 0
  fi
  __sbx_reply=()
  { mapfile -t __sbx_reply <"$__sbx_proc/$1"; } 2>&-
  (( ${#__sbx_reply[@]} )) || return 1
  __sbx_apply
}

# The directory or direnv's `use sandbox` changed: tell the sandbox, unless it already knows.
__sbx_sync() {
  local use=${SBX_DIRENV_USE-} root req real
  __sbx_dir=$PWD __sbx_use=$use
  root=${DIRENV_DIR-}; root=${root#-}
  if [[ -n $use && ( -z $root || $PWD/ == "$root"/* ) ]]; then req=use/$use
  elif [[ -n $__sbx_used ]]; then req=leave
  else req=cd/$PWD
  fi
  if [[ $req == "$__sbx_req" ]]; then
    # First prompt after the push at load: hide what the rest of the rc file exported.
    [[ -n $__sbx_reenv ]] && { __sbx_reenv=; __sbx_env_apply; }
    return 0
  fi
  if __sbx_push "$req"; then
    __sbx_used=
    [[ $req == use/* ]] && __sbx_used=1
    [[ $req == leave ]] && req=cd/$PWD   # after leave the sandbox follows the cwd again
    __sbx_req=$req __sbx_warned= __sbx_reenv=
    return 0
  fi
  if [[ $req == cd/* ]]; then
    # $PWD may go through a symlink and the sandbox checks the real cwd: retry with it (rare, forks).
    real=$(builtin pwd -P 2>&-)
    if [[ -n $real && $real != "$PWD" ]] && __sbx_push "cd/$real"; then
      __sbx_req=$req __sbx_used= __sbx_warned=
      return 0
    fi
  fi
  __sbx_req=
  # Outside a session a failed push is expected (already reported at start); inside, say it once.
  if [[ -n ${SBX_SESSION-} && -z $__sbx_warned && -z $__sbx_quiet ]]; then
    __sbx_warned=1
    __sbx_say "the sandbox refused '${req%%/*} ${req#*/}': the policy did not follow (see: sbx log)"
    export SBX_PROMPT='sbx:??'
  fi
  return 1
}

__sbx_hook() {
  local s=$?
  [[ -z ${__sbx_unsafe-} ]] || __sbx_mark
  # The sandbox removed our marker: what it told us changed (a reload, `sbx trust`). Ask again.
  [[ -z $__sbx_fresh || -e $__sbx_fresh ]] || __sbx_req= __sbx_dir= __sbx_fresh=
  [[ $PWD == "$__sbx_dir" && ${SBX_DIRENV_USE-} == "$__sbx_use" ]] || __sbx_sync
  return $s
}

# cd/pushd/popd push at once, so `cd proj && make` runs under proj's policy (the prompt hook
# alone would be one command late). A cd function someone else defined is left alone.
for __sbx_c in cd pushd popd; do
  # `declare -F` first: no fork (a few ms of every new terminal) unless such a function exists.
  if ! declare -F $__sbx_c >/dev/null || [[ $(declare -f $__sbx_c) == *__sbx_hook* ]]; then
    eval "$__sbx_c() { builtin $__sbx_c \"\$@\" || return; __sbx_hook; }"
  fi
done
unset __sbx_c

# A change the wrappers do not see (`builtin cd`, zoxide's `z`, a cd() another tool defines
# after this line) is pushed before the next command runs, not at the next prompt: in
# `z repo && ./install` the install runs under repo's policy. A DEBUG trap runs in this shell
# before each command: one string compare, no process. "$_" passed and left last keeps `$_`
# (`mkdir d && cd $_`). A DEBUG trap someone set first is left alone (bash-preexec's).
__sbx_debug() { [[ $PWD == "$__sbx_dir" || -z $__sbx_dir ]] || __sbx_hook; }
__sbx_c=$(trap -p DEBUG)
[[ -n $__sbx_c ]] || trap '__sbx_debug "$_"' DEBUG
unset __sbx_c

# Prompt hook last, so direnv's hook (which prepends itself) has run when ours looks.
# bash 5.1 runs every element of a PROMPT_COMMAND array: ours goes in an element of its own, so a
# later `PROMPT_COMMAND='history -a'` in the rc file (which sets element 0) does not drop it.
if (( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501 )) && [[ ${PROMPT_COMMAND@a} != *a* ]]; then
  __sbx_c=${PROMPT_COMMAND-}
  unset PROMPT_COMMAND
  PROMPT_COMMAND=("$__sbx_c")   # element 0: what was there (maybe nothing); ours is appended after it
  unset __sbx_c
fi
if [[ ${PROMPT_COMMAND@a} == *a* ]]; then
  [[ ${PROMPT_COMMAND[*]} == *__sbx_hook* ]] || PROMPT_COMMAND+=(__sbx_hook)
else
  [[ ${PROMPT_COMMAND-} == *__sbx_hook* ]] || PROMPT_COMMAND="${PROMPT_COMMAND:+$PROMPT_COMMAND$'\n'}__sbx_hook"
fi

# Our markers never come from the environment: a sandboxed program may write what a new
# terminal starts with (an editor's terminal settings in the project), and these two would
# make the hook skip the sandbox. SBX_MACOS_CTL means something on macOS only.
if (( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404 )) && [[ ${__sbx_entered@a} == *x* ]]; then unset __sbx_entered; fi
# macOS has no /proc (OSTYPE can come from the environment); tests say macOS from the rc file
# with a non-exported __sbx_os.
[[ ${__sbx_os-} == darwin && ${__sbx_os@a} != *x* ]] || [[ ! -e /proc/self/status ]] || unset SBX_MACOS_CTL
# SBX_SESSION is proved, not inherited: only the sandbox answers ask/ping. A claimed session it
# does not answer for is none: this shell enters a real one below.
if [[ -n ${SBX_SESSION-} && -z ${__sbx_entered-} && -z ${SBX_MACOS_CTL-} ]] && ! { read -r __sbx_c <"$__sbx_proc/ask/ping"; } 2>/dev/null; then
  unset SBX_SESSION
fi
unset __sbx_c

# Not in a session yet: become one (once, at start — never on the prompt path). The same
# command line runs again inside the session, so `bash -ic CMD` and `bash -lic CMD` (how IDEs
# and `ssh host bash -ic` read the environment) run CMD, sandboxed, instead of a prompt.
if [[ -z ${SBX_SESSION-} && -z ${SBX_MACOS_CTL-} && -z ${__sbx_entered-} ]]; then
  __sbx_entered=1
  __sbx_start=$__sbx_bin
  [[ -n $__sbx_fast && -x $__sbx_fast ]] && __sbx_start=$__sbx_fast
  if [[ -n ${SBX_DISABLE-} ]]; then
    export SBX_PROMPT='sbx:off'
    __sbx_say 'NOT sandboxed: SBX_DISABLE is set in this terminal'"'"'s environment'
  elif [[ -n ${SBX_HOOK_REEXEC-} ]]; then
    __sbx_off "\`sbx shell\` started this shell but no session is set (SBX_SESSION unset)" 'report this as an sbx bug; open a new terminal meanwhile'
  elif [[ ! -x $__sbx_bin ]]; then
    # The hook was saved with sbx's path baked in and the checkout has moved or gone.
    __sbx_off "$__sbx_bin is gone (the sbx checkout was moved or deleted)" "put sbx back there, or re-install the hook from sbx's new place: eval \"\$(NEW_PLACE/bin/sbx hook bash)\" in ~/.bashrc"
  elif [[ ${__sbx_ready-} == "$$" ]] || __sbx_why=$("$__sbx_start" shell --check </dev/null 2>&1 >/dev/null); then
    # (__sbx_ready: the native `sbx hook` ran that check for this shell and printed the line setting it.)
    # Linux: this shell's own argv, whole (options, --rcfile, -c CMD and its $0 $1 …).
    __sbx_args=()
    { mapfile -d '' __sbx_args </proc/$$/cmdline; } 2>&-
    if (( ${#__sbx_args[@]} )); then
      # A login shell started as "-bash" says so only in argv[0]: keep it a login shell.
      [[ ${__sbx_args[0]} == -* ]] && __sbx_args=(--login "${__sbx_args[@]:1}") || __sbx_args=("${__sbx_args[@]:1}")
    else
      # No /proc (macOS): what bash tells of its command line.
      __sbx_args=(-i)
      shopt -q login_shell && __sbx_args=(--login -i)
      [[ -n ${BASH_EXECUTION_STRING+x} ]] && __sbx_args+=(-c "$BASH_EXECUTION_STRING" "$0" "$@")
    fi
    export SBX_HOOK_REEXEC=1
    exec "$__sbx_start" shell --follow-cd -- "$BASH" "${__sbx_args[@]}"
    unset SBX_HOOK_REEXEC
    __sbx_off "could not run $__sbx_bin shell" "run \`$__sbx_bin doctor\`"
  else
    # `sbx shell --check` says why on its first line and how to fix it on a `hint:` line.
    __sbx_off "$__sbx_why" ''
  fi
  unset __sbx_why __sbx_args __sbx_start
fi
unset SBX_HOOK_REEXEC

# In a session, say now where this shell is (a no-op when sourced again): the env rules, prompt
# segment and notices hold from the start, even if the rest of the rc file drops our prompt hook,
# and `bash -ic CMD` (no prompt ever comes) runs CMD with them. Quiet if it fails: the first
# prompt asks again and says so. That prompt applies the env rules once more, to what the rest
# of the rc file exported.
if [[ -n ${SBX_SESSION-} && -z ${SBX_MACOS_CTL-} && $PWD != "$__sbx_dir" ]]; then
  if [[ -n ${BASH_EXECUTION_STRING+x} ]]; then
    __sbx_hook
  else
    __sbx_quiet=1
    __sbx_hook
    __sbx_quiet= __sbx_dir= __sbx_reenv=1
  fi
fi

fi
unset __sbx_ready
