# sbx shell integration for zsh — printed by `sbx hook zsh`. In ~/.zshrc, near the top:
#   eval "$(sbx hook zsh)"
# Protocol: docs/hook-protocol.md. The prompt path spawns nothing: an unchanged prompt is two
# string compares. A push is a builtin read of /proc/self/sbx/..., answered by the sandbox.
if [[ -o interactive ]]; then

typeset -g __sbx_bin=@SBX_BIN@
# bin/sbx's native client: run directly on the way into a session, it saves bin/sbx's sh start
# ('' without a native build, or gone since: bin/sbx then).
typeset -g __sbx_fast=@SBX_FAST@
# Where pushes go: /proc/self/sbx, answered by the sandbox. Tests point it at canned replies,
# set in the rc file before the eval (never from the environment: an exported one is ignored).
[[ -n ${__sbx_proc-} && ${(t)__sbx_proc} != *export* ]] || typeset -g __sbx_proc=/proc/self/sbx

if [[ ${__sbx_loaded-} != "$$" ]]; then  # first load in this shell; a second eval keeps the state
  typeset -g __sbx_loaded=$$
  typeset -g __sbx_dir= __sbx_use=$'\1' __sbx_req= __sbx_used= __sbx_warned= __sbx_fresh= __sbx_reenv= __sbx_quiet=
  typeset -ga __sbx_deny=() __sbx_allow=() __sbx_reply=()
  unset __sbx_hidden
  typeset -gA __sbx_hidden=()               # NAME -> value we removed from the environment
fi
zmodload zsh/parameter 2>/dev/null

__sbx_say() { print -r -- "sbx: $*" >&2 }

# No session could start: ONE line with the cause and the fix ($1 may be sbx's own "sbx: …" +
# "hint: …" output), and a loud prompt marker until a new terminal starts sandboxed.
__sbx_off() {
  local why=${1#sbx: } fix=$2 l
  [[ $why == *$'\n'hint:\ * ]] && { l=${why#*$'\n'hint: }; fix=${l%%$'\n'*} }
  why=${why%%$'\n'*}
  __sbx_say "NOT sandboxed: $why${fix:+; fix: $fix}"
  export SBX_PROMPT='sbx:NOT-SANDBOXED'
  typeset -g __sbx_unsafe=1
}

# In an unsandboxed shell, every prompt says so, unless it already shows $SBX_PROMPT.
__sbx_mark() {
  case $PROMPT in (*SBX_PROMPT*|*sbx_prompt_info*|*'[sbx: NOT SANDBOXED]'*) ;; (*) PROMPT="[sbx: NOT SANDBOXED] $PROMPT" ;; esac
}

# For PROMPT prefer '${SBX_PROMPT:+[$SBX_PROMPT] }' with prompt_subst ($(...) forks);
# for starship use [env_var.SBX_PROMPT].
sbx_prompt_info() { [[ -n ${SBX_PROMPT-} ]] && print -rn -- "$SBX_PROMPT"; return 0 }

# Variables never hidden: the shell needs them to work, or they are sbx's and direnv's own.
__sbx_keep() {
  case $1 in (PATH|HOME|USER|LOGNAME|SHELL|TERM|LANG|PWD|OLDPWD|SHLVL|_|SBX_*|DIRENV_*|__sbx*) return 0 ;; esac
  return 1
}

# Whether the env policy hides variable $1, as the policy model decides it: `*` is the only
# wildcard, the most specific pattern (most literal characters) wins, deny wins ties.
__sbx_env_denied() {
  local p t
  local -i best=-1 r=1
  for p in $__sbx_deny; do
    [[ $1 == ${~p} ]] || continue
    t=${p//\*}
    (( ${#t} > best )) && best=${#t} r=0
  done
  (( best < 0 )) && return 1
  for p in $__sbx_allow; do
    [[ $1 == ${~p} ]] || continue
    t=${p//\*}
    (( ${#t} > best )) && best=${#t} r=1
  done
  return $r
}

# Hide exported variables the env policy denies, give back what it no longer denies. One
# combined pattern picks the candidates in C; only they pay for the full decision.
__sbx_env_apply() {
  emulate -L zsh
  (( ${#__sbx_deny} + ${#__sbx_hidden} )) || return 0
  local n p any="(${(j:|:)__sbx_deny})"
  local -A want
  for n in ${(k)__sbx_hidden}; do __sbx_env_denied $n && want[$n]=1; done
  if (( ${#__sbx_deny} )); then
    for n in ${(M)${(k)parameters}:#${~any}}; do
      (( ${+__sbx_hidden[$n]} )) && continue
      __sbx_keep $n && continue
      p=${parameters[$n]-}
      [[ $p == *-export* && $p != *readonly* && $p != *special* ]] || continue
      __sbx_env_denied $n && want[$n]=1
    done
  fi
  for n in ${(k)__sbx_hidden}; do
    (( ${+want[$n]} )) && continue
    # Restore exactly what we took, unless the user has set the variable again since.
    (( ${+parameters[$n]} )) || export $n=${__sbx_hidden[$n]}
    unset "__sbx_hidden[$n]"
  done
  for n in ${(k)want}; do
    (( ${+__sbx_hidden[$n]} || ! ${+parameters[$n]} )) && continue
    __sbx_hidden[$n]=${(P)n}
    unset $n
  done
}

# sbx's proxy variables while the policy needs its proxy ($@: NAME=VALUE from `proxy` lines);
# none: the user's own come back, exactly as they were (set or unset).
__sbx_proxy_apply() {
  emulate -L zsh
  local n kv
  if (( $# )); then
    if [[ -z ${__sbx_proxied-} ]]; then
      typeset -ga __sbx_proxy_saved=()
      for n in HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy; do
        (( ${+parameters[$n]} )) && __sbx_proxy_saved+=("$n=${(P)n}")
      done
      typeset -g __sbx_proxied=1
    fi
    for kv in "$@"; do export "$kv"; done
  elif [[ -n ${__sbx_proxied-} ]]; then
    unset HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy
    for kv in "${__sbx_proxy_saved[@]}"; do export "$kv"; done
    typeset -g __sbx_proxied=
    __sbx_proxy_saved=()
  fi
}

# Act on a reply (lines in __sbx_reply): prompt segment, notices, env policy.
__sbx_apply() {
  emulate -L zsh
  local line key val
  local -a proxy
  if [[ ${__sbx_reply[1]-} != 'sbx 1' ]]; then
    __sbx_say "unexpected reply from the sandbox ('${__sbx_reply[1]-}'): is the hook older than the supervisor? re-run: eval \"\$(sbx hook zsh)\""
    return 1
  fi
  __sbx_deny=() __sbx_allow=() __sbx_fresh=
  for line in ${__sbx_reply[2,-1]}; do
    key=${line%% *} val=${line#* }
    [[ $key == $line ]] && val=
    case $key in
      (policy) typeset -g SBX_POLICY=$val ;;
      (prompt) export SBX_PROMPT=$val ;;
      (notice) [[ $val == sbx:* ]] && print -r -- $val >&2 || __sbx_say $val ;;
      # Only names and * can match a variable name; anything else would be a glob of its own.
      (env-deny) [[ $val == *[^A-Za-z0-9_*]* ]] || __sbx_deny+=($val) ;;
      (env-allow) [[ $val == *[^A-Za-z0-9_*]* ]] || __sbx_allow+=($val) ;;
      # Kept only if this shell can see it now (else it would ask again at every prompt).
      (fresh) [[ -e $val ]] && __sbx_fresh=$val ;;
      (proxy) [[ $val == (HTTP_PROXY|HTTPS_PROXY|ALL_PROXY|NO_PROXY|http_proxy|https_proxy|all_proxy|no_proxy)=* ]] && proxy+=($val) ;;
    esac
  done
  __sbx_proxy_apply "${proxy[@]}"
  __sbx_env_apply
  return 0
}

# One push: $1 is the request under /proc/self/sbx/ ("cd/DIR", "use/FILE" or "leave"; DIR and FILE are absolute, so "cd//home/u/p").
__sbx_push() {
  emulate -L zsh
  if [[ -n ${SBX_MACOS_CTL-} ]]; then
    # macOS: the unsandboxed parent reads `cd DIR` lines from its FIFO (<> never blocks on open).
    [[ $1 == cd/* ]] && { print -r -- "cd ${1#cd/}" 1<>$SBX_MACOS_CTL } 2>&-
    return 0
  fi
  __sbx_reply=()
  # 2>/dev/null, not 2>&-: zsh reports a failed redirection even then, and the "write error" on
  # a closed stderr aborts the rest of the rc file when the hook pushes at load.
  { IFS=$'\n' read -r -d '' -A __sbx_reply <$__sbx_proc/$1 } 2>/dev/null
  (( ${#__sbx_reply} )) || return 1
  __sbx_apply
}

# The directory or direnv's `use sandbox` changed: tell the sandbox, unless it already knows.
__sbx_sync() {
  emulate -L zsh
  local use=${SBX_DIRENV_USE-} root=${DIRENV_DIR#-} req real=${PWD:A}
  __sbx_dir=$PWD __sbx_use=$use
  if [[ -n $use && ( -z $root || $PWD/ == $root/* || $real/ == $root/* ) ]]; then req=use/$use
  elif [[ -n $__sbx_used ]]; then req=leave
  else req=cd/$real   # the sandbox checks the real cwd, so resolve symlinks (no fork: :A)
  fi
  if [[ $req == $__sbx_req ]]; then
    # First prompt after the push at load: hide what the rest of the rc file exported.
    [[ -n $__sbx_reenv ]] && { __sbx_reenv=; __sbx_env_apply }
    return 0
  fi
  if __sbx_push $req; then
    __sbx_used=
    [[ $req == use/* ]] && __sbx_used=1
    [[ $req == leave ]] && req=cd/$real   # after leave the sandbox follows the cwd again
    __sbx_req=$req __sbx_warned= __sbx_reenv=
    return 0
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
  [[ $PWD == $__sbx_dir && ${SBX_DIRENV_USE-} == $__sbx_use ]] || __sbx_sync
  return $s
}

# precmd last, so direnv's hook (which prepends itself) has run when ours looks; chpwd pushes
# at once, so `cd proj && make` already runs under proj's policy.
typeset -ga precmd_functions chpwd_functions
(( ${precmd_functions[(Ie)__sbx_hook]} )) || precmd_functions+=(__sbx_hook)
(( ${chpwd_functions[(Ie)__sbx_hook]} )) || chpwd_functions+=(__sbx_hook)

# Our markers never come from the environment: a sandboxed program may write what a new
# terminal starts with (an editor's terminal settings in the project), and these two would
# make the hook skip the sandbox. SBX_MACOS_CTL means something on macOS only.
[[ ${(t)__sbx_entered-} == *export* ]] && unset __sbx_entered
# macOS has no /proc; tests say macOS from the rc file with a non-exported __sbx_os.
[[ ${__sbx_os-} == darwin && ${(t)__sbx_os} != *export* ]] || [[ ! -e /proc/self/status ]] || unset SBX_MACOS_CTL
# SBX_SESSION is proved, not inherited: only the sandbox answers ask/ping. A claimed session it
# does not answer for is none: this shell enters a real one below.
if [[ -n ${SBX_SESSION-} && -z ${__sbx_entered-} && -z ${SBX_MACOS_CTL-} ]] && ! { read -r __sbx_c <$__sbx_proc/ask/ping } 2>/dev/null; then
  unset SBX_SESSION
fi
unset __sbx_c

# Not in a session yet: become one (once, at start — never on the prompt path). The same
# command line runs again inside the session, so `zsh -ic CMD` (how IDEs and `ssh host zsh -ic`
# read the environment) runs CMD, sandboxed, instead of a prompt.
if [[ -z ${SBX_SESSION-} && -z ${SBX_MACOS_CTL-} && -z ${__sbx_entered-} ]]; then
  typeset -g __sbx_entered=1
  typeset -g __sbx_start=$__sbx_bin
  [[ -n $__sbx_fast && -x $__sbx_fast ]] && __sbx_start=$__sbx_fast
  if [[ -n ${SBX_DISABLE-} ]]; then
    export SBX_PROMPT='sbx:off'
    __sbx_say "NOT sandboxed: SBX_DISABLE is set in this terminal's environment"
  elif [[ -n ${SBX_HOOK_REEXEC-} ]]; then
    __sbx_off "\`sbx shell\` started this shell but no session is set (SBX_SESSION unset)" 'report this as an sbx bug; open a new terminal meanwhile'
  elif [[ ! -x $__sbx_bin ]]; then
    # The hook was saved with sbx's path baked in and the checkout has moved or gone.
    __sbx_off "$__sbx_bin is gone (the sbx checkout was moved or deleted)" "put sbx back there, or re-install the hook from sbx's new place: eval \"\$(NEW_PLACE/bin/sbx hook zsh)\" in ~/.zshrc"
  elif [[ ${__sbx_ready-} == "$$" ]] || __sbx_why=$($__sbx_start shell --check </dev/null 2>&1 >/dev/null); then
    # (__sbx_ready: the native `sbx hook` ran that check for this shell and printed the line setting it.)
    # Linux: this shell's own argv, whole (options, -c CMD and its arguments), and its binary.
    typeset -ga __sbx_args=()
    typeset -g __sbx_a __sbx_zsh=${${:-/proc/$$/exe}:A}
    { while IFS= read -r -d '' __sbx_a; do __sbx_args+=("$__sbx_a"); done </proc/$$/cmdline } 2>/dev/null
    if (( ${#__sbx_args} )) && [[ -x $__sbx_zsh ]]; then
      # A login shell started as "-zsh" says so only in argv[0]: keep it a login shell.
      [[ $__sbx_args[1] == -* ]] && __sbx_args[1]=-l || shift __sbx_args
    else
      # No /proc (macOS): what zsh tells of its command line.
      __sbx_zsh=${commands[zsh]:-zsh}
      [[ $SHELL == */zsh && -x $SHELL ]] && __sbx_zsh=$SHELL
      __sbx_args=(-i)
      [[ -o login ]] && __sbx_args+=(-l)
      [[ -n ${ZSH_EXECUTION_STRING+x} ]] && __sbx_args+=(-c "$ZSH_EXECUTION_STRING" "${ZSH_ARGZERO:-zsh}" "$@")
    fi
    export SBX_HOOK_REEXEC=1
    exec $__sbx_start shell --follow-cd -- $__sbx_zsh "${__sbx_args[@]}"
    unset SBX_HOOK_REEXEC
    __sbx_off "could not run $__sbx_bin shell" "run \`$__sbx_bin doctor\`"
  else
    # `sbx shell --check` says why on its first line and how to fix it on a `hint:` line.
    __sbx_off "$__sbx_why" ''
  fi
  unset __sbx_why __sbx_args __sbx_a __sbx_zsh __sbx_start
fi
unset SBX_HOOK_REEXEC

# In a session, say now where this shell is (a no-op when sourced again): the env rules, prompt
# segment and notices hold from the start, even if the rest of the rc file drops our precmd hook,
# and `zsh -ic CMD` (no prompt ever comes) runs CMD with them. Quiet if it fails: the first
# prompt asks again and says so. That prompt applies the env rules once more, to what the rest
# of the rc file exported.
if [[ -n ${SBX_SESSION-} && -z ${SBX_MACOS_CTL-} && $PWD != $__sbx_dir ]]; then
  if [[ -n ${ZSH_EXECUTION_STRING+x} ]]; then
    __sbx_hook
  else
    __sbx_quiet=1
    __sbx_hook
    __sbx_quiet= __sbx_dir= __sbx_reenv=1
  fi
fi

fi
unset __sbx_ready
