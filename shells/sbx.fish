# sbx shell integration for fish — printed by `sbx hook fish`. In ~/.config/fish/config.fish, near the top:
#   sbx hook fish | source
# Protocol: docs/hook-protocol.md. Nothing here spawns a process after start: pushes happen on
# PWD / SBX_DIRENV_USE changes, each a builtin read of /proc/self/sbx/..., answered by the sandbox.
if status is-interactive

set -g __sbx_bin @SBX_BIN@
# bin/sbx's native client: run directly on the way into a session, it saves bin/sbx's sh start
# ('' without a native build, or gone since: bin/sbx then).
set -g __sbx_fast @SBX_FAST@
# Where pushes go: /proc/self/sbx, answered by the sandbox. Tests point it at canned replies,
# set in the config before sourcing (never from the environment: an exported one is ignored).
if not set -q __sbx_proc[1]; or set -qx __sbx_proc
    set -g __sbx_proc /proc/self/sbx
end

if test "$__sbx_loaded" != "$fish_pid"   # first load in this shell; a second source keeps the state
    set -g __sbx_loaded $fish_pid
    set -g __sbx_dir
    set -g __sbx_use \1
    set -g __sbx_req
    set -g __sbx_used
    set -g __sbx_warned
    set -g __sbx_fresh
    set -g __sbx_deny
    set -g __sbx_allow
    set -g __sbx_hidden_names   # parallel lists: what we removed from the environment
    set -g __sbx_hidden_values
end

function __sbx_say
    printf 'sbx: %s\n' "$argv" >&2
end

# No session could start: ONE line with the cause and the fix. $argv: the fix, then the cause's
# lines (maybe sbx's own "sbx: …" + "hint: …" output, whose hint is the fix); a loud prompt
# marker until a new terminal starts sandboxed.
function __sbx_off
    set -l fix $argv[1]
    set -l lines $argv[2..-1]
    set -l hint (string match -r -- '^hint: (.*)' $lines)
    test -n "$hint[2]"; and set fix $hint[2]
    set -l msg (string replace -r '^sbx: ' '' -- $lines[1])
    test -n "$fix"; and set msg "$msg; fix: $fix"
    __sbx_say "NOT sandboxed: $msg"
    set -gx SBX_PROMPT 'sbx:NOT-SANDBOXED'
    # Every prompt says so, unless fish_prompt already shows the segment.
    function __sbx_mark --on-event fish_prompt
        functions fish_prompt | string match -q '*sbx_prompt_info*'; or printf '%s\n' '[sbx: NOT SANDBOXED]'
    end
end

# For fish_prompt or starship ([env_var.SBX_PROMPT]); fish functions do not fork.
function sbx_prompt_info
    set -q SBX_PROMPT[1]; and printf '%s' $SBX_PROMPT
    return 0
end

# Variables never hidden: the shell needs them to work, or they are sbx's and direnv's own.
function __sbx_keep
    switch $argv[1]
        case PATH HOME USER LOGNAME SHELL TERM LANG PWD OLDPWD SHLVL _ 'SBX_*' 'DIRENV_*' '__sbx*'
            return 0
    end
    return 1
end

# Whether the env policy hides variable $argv[1], as the policy model decides it: `*` is the only
# wildcard, the most specific pattern (most literal characters) wins, deny wins ties.
function __sbx_env_denied
    set -l best -1
    set -l r 1
    for p in $__sbx_deny
        string match -q -- $p $argv[1]; or continue
        set -l t (string length -- (string replace -a '*' '' -- $p))
        test $t -gt $best; and set best $t; and set r 0
    end
    test $best -lt 0; and return 1
    for p in $__sbx_allow
        string match -q -- $p $argv[1]; or continue
        set -l t (string length -- (string replace -a '*' '' -- $p))
        test $t -gt $best; and set best $t; and set r 1
    end
    return $r
end

# Hide exported variables the env policy denies, give back what it no longer denies. Each deny
# pattern picks its candidates in one `string match`; only they pay for the full decision.
function __sbx_env_apply
    test (count $__sbx_deny) -eq 0; and test (count $__sbx_hidden_names) -eq 0; and return 0
    set -l want
    for n in $__sbx_hidden_names
        __sbx_env_denied $n; and set -a want $n
    end
    set -l names (set -xn)
    set -l candidates
    for p in $__sbx_deny
        set -a candidates (string match -- $p $names)
    end
    for n in $candidates
        contains -- $n $want $__sbx_hidden_names; and continue
        __sbx_keep $n; and continue
        __sbx_env_denied $n; and set -a want $n
    end
    set -l i (count $__sbx_hidden_names)
    while test $i -gt 0
        set -l n $__sbx_hidden_names[$i]
        if not contains -- $n $want
            # Restore exactly what we took, unless the user has set the variable again since.
            set -q $n; or set -gx $n $__sbx_hidden_values[$i]
            set -e __sbx_hidden_names[$i]
            set -e __sbx_hidden_values[$i]
        end
        set i (math $i - 1)
    end
    for n in $want
        contains -- $n $__sbx_hidden_names; and continue
        set -q $n; or continue
        # One element (any variable from the environment) is kept byte for byte; a list (PATH-like)
        # is joined with : as in the environment, and comes back as one value.
        set -l value "$$n"
        test (count $$n) -gt 1; and set value (string join : -- $$n)
        set -a __sbx_hidden_names $n
        set -a __sbx_hidden_values "$value"
        set -e $n
    end
end

# sbx's proxy variables while the policy needs its proxy ($argv: NAME=VALUE from `proxy` lines);
# none: the user's own come back, exactly as they were (set or unset).
function __sbx_proxy_apply
    set -l names HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy
    if test (count $argv) -gt 0
        if not set -q __sbx_proxied[1]
            set -g __sbx_proxy_saved
            for n in $names
                set -q $n; and set -a __sbx_proxy_saved "$n="(string join : -- $$n)
            end
            set -g __sbx_proxied 1
        end
        for kv in $argv
            set -l p (string split -m 1 = -- $kv)
            set -gx $p[1] $p[2]
        end
    else if set -q __sbx_proxied[1]
        for n in $names
            set -e $n
        end
        for kv in $__sbx_proxy_saved
            set -l p (string split -m 1 = -- $kv)
            set -gx $p[1] $p[2]
        end
        set -e __sbx_proxied
        set -g __sbx_proxy_saved
    end
end

# Act on a reply (lines in __sbx_reply): prompt segment, notices, env policy.
function __sbx_apply --argument-names content
    set -l lines (string split \n -- $content)
    if test "$lines[1]" != 'sbx 1'
        __sbx_say "unexpected reply from the sandbox ('$lines[1]'): is the hook older than the supervisor? re-run: sbx hook fish | source"
        return 1
    end
    set -g __sbx_deny
    set -g __sbx_allow
    set -g __sbx_fresh
    set -l proxy
    for line in $lines[2..-1]
        set -l kv (string split -m 1 ' ' -- $line)
        set -l val $kv[2]
        switch $kv[1]
            case policy
                set -g SBX_POLICY "$val"
            case prompt
                set -gx SBX_PROMPT "$val"
            case notice
                # The supervisor may already start its notices with "sbx:".
                string match -q 'sbx:*' -- "$val"; and printf '%s\n' "$val" >&2; or __sbx_say "$val"
            # Only names and * can match a variable name; anything else would be a glob of its own.
            case env-deny
                string match -qr '^[A-Za-z0-9_*]+$' -- "$val"; and set -a __sbx_deny "$val"
            case env-allow
                string match -qr '^[A-Za-z0-9_*]+$' -- "$val"; and set -a __sbx_allow "$val"
            # Kept only if this shell can see it now (else it would ask again at every prompt).
            case fresh
                test -e "$val"; and set -g __sbx_fresh "$val"
            case proxy
                string match -qr '^(HTTPS?_PROXY|ALL_PROXY|NO_PROXY|https?_proxy|all_proxy|no_proxy)=' -- "$val"; and set -a proxy "$val"
        end
    end
    __sbx_proxy_apply $proxy
    __sbx_env_apply
    return 0
end

# One push: $argv[1] is the request under /proc/self/sbx/ ("cd/DIR", "use/FILE" or "leave"; DIR and FILE are absolute, so "cd//home/u/p").
function __sbx_push
    if set -q SBX_MACOS_CTL[1]
        # macOS: the unsandboxed parent reads `cd DIR` lines from its FIFO (fish has no <>,
        # so this open waits for the parent's reader, which lives as long as the session).
        string match -q 'cd/*' -- $argv[1]; and printf 'cd %s\n' (string replace -r '^cd/' '' -- $argv[1]) >>$SBX_MACOS_CTL 2>&-
        return 0
    end
    # fish warns on a failed redirection whatever 2> says, so push only inside a session
    # (outside, /proc/self/sbx does not exist and there is nothing to tell).
    set -q SBX_SESSION[1]; or return 1
    set -l content
    read -z content <$__sbx_proc/$argv[1] 2>&-
    test -n "$content"; or return 1
    __sbx_apply "$content"
end

# The directory or direnv's `use sandbox` changed: tell the sandbox, unless it already knows.
function __sbx_sync
    set -l use "$SBX_DIRENV_USE"
    set -l root (string replace -r '^-' '' -- "$DIRENV_DIR")
    set -l real (builtin realpath -- $PWD 2>&-; or echo $PWD)   # the sandbox checks the real cwd
    set -g __sbx_dir $PWD
    set -g __sbx_use $use
    set -l req
    if test -n "$use"; and begin; test -z "$root"; or string match -q -- "$root/*" "$PWD/"; or string match -q -- "$root/*" "$real/"; end
        set req "use/$use"
    else if test -n "$__sbx_used"
        set req leave
    else
        set req "cd/$real"
    end
    test "$req" = "$__sbx_req"; and return 0
    if __sbx_push $req
        set -g __sbx_used
        string match -q 'use/*' -- $req; and set -g __sbx_used 1
        test "$req" = leave; and set req "cd/$real"   # after leave the sandbox follows the cwd again
        set -g __sbx_req $req
        set -g __sbx_warned
        return 0
    end
    set -g __sbx_req
    # Outside a session a failed push is expected (already reported at start); inside, say it once.
    if set -q SBX_SESSION[1]; and test -z "$__sbx_warned"
        set -g __sbx_warned 1
        __sbx_say "the sandbox refused '"(string replace -r '/' ' ' -- $req)"': the policy did not follow (see: sbx log)"
        set -gx SBX_PROMPT 'sbx:??'
    end
    return 1
end

# PWD and SBX_DIRENV_USE events fire at once (so `cd proj; and make` already runs under proj's
# policy) whichever order direnv was hooked in; the prompt event catches the first prompt.
function __sbx_hook --on-variable PWD --on-variable SBX_DIRENV_USE --on-event fish_prompt
    set -l s $status
    # The sandbox removed our marker: what it told us changed (a reload, `sbx trust`). Ask again.
    if test -n "$__sbx_fresh"; and not test -e "$__sbx_fresh"
        set -g __sbx_req
        set -g __sbx_dir
        set -g __sbx_fresh
    end
    if test "$PWD" != "$__sbx_dir"; or test "$SBX_DIRENV_USE" != "$__sbx_use"
        __sbx_sync
    end
    return $s
end

# Re-executes this fish inside a session, with its own command line (options, -c CMD), so
# `fish -ic CMD` runs CMD, sandboxed, instead of a prompt. $argv: options to add (-C …).
function __sbx_enter
    set -l args
    # Linux: this fish's own argv, whole. A login shell started as "-fish" says so only in argv[0].
    if test -r /proc/$fish_pid/cmdline
        set args (string split0 < /proc/$fish_pid/cmdline)
        if string match -q -- '-*' $args[1]
            set args[1] -l
        else
            set -e args[1]
        end
    else
        # No /proc (macOS).
        set args -i
        status is-login; and set -a args -l
    end
    set -gx SBX_HOOK_REEXEC 1
    # `sbx hook fish | source` runs this with stdin on that pipe, which exec would hand on:
    # give the new shell this fish's own stdin (its terminal, or whatever an IDE gave it).
    if test -e /proc/$fish_pid/fd/0; and not test -S /proc/$fish_pid/fd/0
        exec $__sbx_start shell --follow-cd -- (status fish-path) $argv $args </proc/$fish_pid/fd/0
    else
        exec $__sbx_start shell --follow-cd -- (status fish-path) $argv $args
    end
    set -e SBX_HOOK_REEXEC
    __sbx_off "run `$__sbx_bin doctor`" "could not run $__sbx_bin shell"
end

# Whether this fish gave the terminal to a job of its own that is still running: the source of
# `sbx hook fish | source` typed at a prompt (the job's process group holds the terminal).
# Exec'ing now would leave the new shell in a background group, stopped by SIGTTIN.
function __sbx_terminal_lent
    set -l st (string replace -r '^.*\) ' '' < /proc/$fish_pid/stat 2>/dev/null | string split ' ')
    # st: state ppid pgrp session tty_nr tpgid
    test (count $st) -ge 6; or return 1
    test "$st[5]" != 0; or return 1                     # no terminal
    test "$st[6]" -gt 0; and test "$st[6]" != "$st[3]"; or return 1   # we are in the foreground
    # The foreground group's leader: our own child (or gone already) means we lent it.
    set -l fg (string replace -r '^.*\) ' '' < /proc/$st[6]/stat 2>/dev/null | string split ' ')
    test (count $fg) -lt 2; or test "$fg[2]" = "$fish_pid"
end

# Our markers never come from the environment: a sandboxed program may write what a new
# terminal starts with (an editor's terminal settings in the project), and these two would
# make the hook skip the sandbox. SBX_MACOS_CTL means something on macOS only.
set -qx __sbx_entered; and set -e __sbx_entered
# macOS has no /proc; tests say macOS from the config with a non-exported __sbx_os. Builtins
# only here: a function path from the environment could stand in for any command.
if not builtin test "$__sbx_os" = darwin; or set -qx __sbx_os
    builtin test -e /proc/self/status; and set -e SBX_MACOS_CTL
end
# SBX_SESSION is proved, not inherited: only the sandbox answers ask/ping. A claimed session it
# does not answer for is none: this shell enters a real one below.
if set -q SBX_SESSION[1]; and not set -q __sbx_entered; and not set -q SBX_MACOS_CTL[1]
    read -l __sbx_c <$__sbx_proc/ask/ping 2>/dev/null; or set -e SBX_SESSION
end

# Not in a session yet: become one (once, at start — never on the prompt path).
if not set -q SBX_SESSION[1]; and not set -q SBX_MACOS_CTL[1]; and not set -q __sbx_entered
    set -g __sbx_entered 1
    set -g __sbx_start $__sbx_bin
    test -n "$__sbx_fast"; and test -x "$__sbx_fast"; and set __sbx_start $__sbx_fast
    if set -q SBX_DISABLE[1]
        set -gx SBX_PROMPT 'sbx:off'
        __sbx_say "NOT sandboxed: SBX_DISABLE is set in this terminal's environment"
    else if set -q SBX_HOOK_REEXEC[1]
        __sbx_off 'report this as an sbx bug; open a new terminal meanwhile' "`sbx shell` started this shell but no session is set (SBX_SESSION unset)"
    else if not test -x $__sbx_bin
        # The hook was saved with sbx's path baked in and the checkout has moved or gone.
        __sbx_off "put sbx back there, or re-install the hook from sbx's new place: NEW_PLACE/bin/sbx hook fish | source in ~/.config/fish/config.fish" "$__sbx_bin is gone (the sbx checkout was moved or deleted)"
    else
        # __sbx_ready: the native `sbx hook` ran `sbx shell --check` for this fish (one process fewer).
        set -l why
        set -l ok 0
        if test "$__sbx_ready" != "$fish_pid"
            set why ($__sbx_start shell --check </dev/null 2>&1 >/dev/null)
            set ok $status
        end
        if test $ok -eq 0
            if __sbx_terminal_lent
                # Typed at a prompt: enter once fish has the terminal back, at its next prompt;
                # the new fish loads the hook itself (its config file may not).
                function __sbx_enter_at_prompt --on-event fish_prompt
                    functions -e __sbx_enter_at_prompt
                    __sbx_enter -C (string escape -- $__sbx_bin)' hook fish | source'
                end
            else
                __sbx_enter
            end
        else
            # `sbx shell --check` says why on its first line and how to fix it on a `hint:` line.
            __sbx_off '' $why
        end
    end
end
set -e SBX_HOOK_REEXEC

# `fish -ic CMD` in a session: no prompt will come, so say now where this shell is: CMD runs
# under this directory's policy, with its env rules applied to what is exported so far.
if set -q SBX_SESSION[1]; and not set -q SBX_MACOS_CTL[1]; and test -r /proc/$fish_pid/cmdline
    if string match -qr -- '^(-[a-zA-Z]*c[a-zA-Z]*|--command(=.*)?)$' (string split0 < /proc/$fish_pid/cmdline)
        __sbx_hook
    end
end

end
set -e __sbx_ready
