// Why: the only shell code the restore engine runs, all of it fixed text. What a multi-threaded
// Node process cannot do (join or make user, mount, time and pid namespaces) is done by util-linux
// run from single-threaded agents: a POSIX sh loop that reads argument arrays from its own channel
// (fd 3) and answers on another (fd 4). Image values never become code: they reach these programs
// as arguments only, and hostnames and sysctl values never reach them at all.

/**
 * The agent. Input on fd 3, one message per command: a verb line, a token line, an argument count
 * line, then one line per argument. Output on fd 4: `hello PID` once it runs (PID as the executor's
 * /proc shows it, found with `cd -P /proc/self`, so it is right in any pid namespace), then
 * `done TOKEN STATUS` or `spawned TOKEN LOCALPID` per command. Verbs:
 *  - run ARGV: run in the foreground (stdio closed but stderr), report the status;
 *  - spawn IN OUT ERR CHAIN: run CHAIN followed by a new agent (`sh AGENT nsdump-agent`) in the
 *    background, with the FIFOs IN, OUT and ERR (names in the agent's own directory) as its fds 3,
 *    4 and 2, opened here before the fork so that the executor, which reads OUT only after
 *    `spawned`, never sees an end-of-file before the child had it open;
 *  - exec CHAIN: replace this agent by CHAIN followed by a new agent (fds 3, 4 and 2 stay);
 *  - wait LOCALPID: reap a background child.
 * sh reads a pipe a byte at a time, one read(2) each: the agent's path and its directory are not
 * sent with every command, as they were (half of a launcher's ~300 bytes a spawn).
 * End of input (the executor closed the channel, or died) ends the agent: that is how every process
 * the restore made goes away with nsdump, even when nsdump is killed. While it waits for input the
 * agent is a placeholder: it keeps its namespaces alive and does nothing else.
 */
export const AGENT = [
  'cd -P /proc/self || exit 90',
  `printf 'hello %s\\n' "\${PWD##*/}" >&4 || exit 91`,
  'cd /',
  'while IFS= read -r verb <&3 && IFS= read -r tok <&3 && IFS= read -r n <&3; do',
  'set --',
  'while [ "$n" -gt 0 ]; do IFS= read -r a <&3 || exit 92; set -- "$@" "$a"; n=$((n - 1)); done',
  'case $verb in',
  `run) "$@" 3<&- 4>&- </dev/null >/dev/null; printf 'done %s %s\\n' "$tok" "$?" >&4 ;;`,
  `spawn) exec 5<"\${0%/*}/$1" 6>"\${0%/*}/$2" 7>"\${0%/*}/$3" || exit 93; shift 3; "$@" sh "$0" nsdump-agent 3<&5 4>&6 2>&7 5<&- 6>&- 7>&- </dev/null >/dev/null & p=$!; exec 5<&- 6>&- 7>&-; printf 'spawned %s %s\\n' "$tok" "$p" >&4 ;;`,
  'exec) exec "$@" sh "$0" nsdump-agent ;;',
  `wait) wait "$1"; printf 'done %s %s\\n' "$tok" "$?" >&4 ;;`,
  '*) exit 94 ;;',
  'esac',
  'done',
  'exit 0',
].join('; ').replace(/(do|in|then|;;); /g, '$1 ');

/** argv that starts an agent (the last part of every chain). */

/**
 * Writes whole files in one write(2) each, as /proc/PID/{setgroups,uid_map,gid_map} demand:
 * arguments FILE COUNT LINE… FILE COUNT LINE….
 */
export const WRITE_FILES = `nl=$(printf '\\nx'); nl=\${nl%x}; while [ $# -gt 1 ]; do f=$1; n=$2; shift 2; s=''; while [ "$n" -gt 0 ]; do s="$s$1$nl"; shift; n=$((n - 1)); done; printf '%s' "$s" > "$f" || exit 1; done`;

export const WRITE_FILES_ARGV = ['sh', '-c', WRITE_FILES, 'nsdump-write'];

/**
 * Run by `restore -- CMD` after nsenter joined the set: say so on fd 3 (the executor's channel),
 * give CMD the user's stderr back (fd 4; nsenter's own went to the executor), then become CMD.
 * A join that fails never says "joined", so it is told apart from CMD's own exit status.
 */
export const ATTACH = `printf 'joined\\n' >&3 || exit 1; exec 3>&-; exec "$@" 2>&4 4>&-`;

export const ATTACH_ARGV = ['sh', '-c', ATTACH, 'nsdump-attach'];
