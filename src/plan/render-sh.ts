// Why: the plan as a POSIX sh script that carries it out with util-linux unshare/nsenter and
// plain writes to /proc. Every value that comes from the image goes through shq(): single-quoted,
// so a hostile hostname like `$(reboot)` is data, never code.
import type { Image } from '../model/image.js';
import { UTIL_LINUX_OPTION, type NsType } from '../model/species.js';
import { kernelBytes, quotedText, textPieces, type KernelText } from '../model/kernel-text.js';

import { orderedSysctls } from '../model/ipc.js';
import { SEQUENCE_ORDER } from './build.js';
import type { Plan, Step } from './schema.js';
import { PlanError } from './validate.js';

/** Quote for sh: '…' with every ' written as '\''. */
export function shq(s: string | number): string {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/**
 * An argument for printf %b that prints exactly `v`'s bytes: a script is UTF-8 text and cannot
 * hold a byte that is not, so such a byte is written \0NNN (octal, the escape %b knows), and every
 * backslash is doubled so that none of the name's own is read as an escape.
 */
export function printfB(v: KernelText): string {
  return textPieces(v)
    .map((p) => ('text' in p ? p.text.replace(/\\/g, '\\\\') : `\\0${p.byte.toString(8).padStart(3, '0')}`))
    .join('');
}

const NSENTER_FLAG = UTIL_LINUX_OPTION;
const UNSHARE_FLAG = UTIL_LINUX_OPTION;

const PREAMBLE = String.raw`set -eu
umask 077
nsdump_step=0
nsdump_pids=''
# Processes that only wait for a child (nsenter --pid, unshare --fork): under a subreaper
# (NSDUMP_REAPER=1, as nsdump restore runs it) they are ended once everything is ready, so that
# their children, re-parented, leave only the placeholders in the tree.
nsdump_waiters=''
nsdump_rc=0

nsdump_fail() {
  printf 'nsdump plan: step %s: %s\n' "$nsdump_step" "$1" >&2 || :
  exit 1
}

# Step $1 begins (NSDUMP_PROGRESS=1: say so on stderr, for nsdump restore to show).
nsdump_begin() {
  nsdump_check
  nsdump_step=$1
  if [ "${'$'}{NSDUMP_PROGRESS:-}" = 1 ]; then printf '@nsdump-step %s\n' "$1" >&2 || :; fi
}

# Every descendant of process $1, deepest last.
nsdump_tree() {
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    nsdump_tree "$c"
  done
}

# End every placeholder and holder: all descendants of this script and of every pid recorded
# (placeholders re-parented under a subreaper are recorded). A pid namespace's init takes its
# namespace's processes along, and namespaces held by a holder's fd go with it.
nsdump_release() {
  # Nothing may stop a release half-way: signals are ignored while it runs.
  trap '' INT TERM HUP PIPE
  trap - EXIT
  # The recorded pids first (no fork needed), then whatever their trees and ours still hold.
  for p in $nsdump_pids; do kill -KILL "$p" 2>/dev/null || :; done
  all="$(nsdump_tree $$)"
  for p in $nsdump_pids; do all="$all $(nsdump_tree "$p")"; done
  for p in $all; do kill -KILL "$p" 2>/dev/null || :; done
}
# A signal only sets a flag: the script stops at the next safe point, after recording what it just
# started, so that the release can find everything.
nsdump_sig=''
trap nsdump_release EXIT
trap 'nsdump_sig=130' INT
trap 'nsdump_sig=143' TERM
trap 'nsdump_sig=129' HUP
# Whoever reads our stderr may be gone (nsdump restore killed): a write then raises SIGPIPE, which
# by default would end us without a release. Caught, not ignored, so that children keep the default.
trap 'nsdump_sig=141' PIPE
nsdump_check() {
  if [ -n "$nsdump_sig" ]; then exit "$nsdump_sig"; fi
}

# True while process $1 exists and is not a zombie.
nsdump_alive() {
  s=$(sed -n 's/^.*) \(.\) .*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ]
}

# One round of waiting on process $2 ($1 says what it is), with i counting rounds: stop on a
# signal, fail as soon as it has died, or after 30 s.
nsdump_tick() {
  nsdump_check
  nsdump_alive "$2" || nsdump_fail "$1 exited before it was ready"
  i=$((i + 1))
  [ "$i" -lt 3000 ] || nsdump_fail "$1 not ready after 30 s"
  sleep 0.01
}

# Wait until placeholder $1 (process $2) is ready: it execs sleep only once it has set what it
# must, so its comm then reads "sleep".
nsdump_ready() {
  i=0
  while [ "$(cat "/proc/$2/comm" 2>/dev/null)" != sleep ]; do nsdump_tick "placeholder $1" "$2"; done
}

# The first child of process $1 (nsenter --pid and unshare --fork run the command in a child).
# Called as $(...), a subshell: the caller records the pid in nsdump_pids.
nsdump_child() {
  i=0
  while :; do
    c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || c=''
    c=${'$'}{c%% *}
    if [ -n "$c" ]; then echo "$c"; return; fi
    i=$((i + 1))
    [ "$i" -lt 3000 ] || nsdump_fail "process $1 started no child"
    sleep 0.01
  done
}

# Wait until holder process $1 has namespace /proc/$2/ns/$3 open as its fd 3.
nsdump_held() {
  want=$(readlink "/proc/$2/ns/$3") || nsdump_fail "namespace $3 of process $2 is gone"
  i=0
  while [ "$(readlink "/proc/$1/fd/3" 2>/dev/null)" != "$want" ]; do nsdump_tick "holder $1 of $3 of process $2" "$1"; done
}

# The body of every placeholder ($0 names it): it sets what it must, then becomes a sleep.
nsdump_sleep='exec sleep 2147483647'
nsdump_plain="$nsdump_sleep"
# The kernel lets only global root write /proc/sys/kernel/{hostname,domainname} (no namespace
# hook), so the executor sets uts state from inside the namespace (nsenter --uts). ipc and mqueue
# sysctls are writable by the namespace's own root only, so the placeholder sets them, as root of
# the owning user namespace, before it becomes a sleep.
# printf %b: the names travel with backslashes doubled and bytes that are not UTF-8 as \0NNN.
nsdump_uts='printf %b "$1" > /proc/sys/kernel/hostname && printf %b "$2" > /proc/sys/kernel/domainname'
nsdump_ipc='while [ $# -gt 1 ]; do printf "%s\n" "$2" > "/proc/sys/$1" || exit 1; shift 2; done; '"$nsdump_sleep"
# Writes a user namespace's maps from its parent's side: $0 pid, $1 setgroups, $2-$4 maps.
nsdump_maps='if [ "$1" = deny ]; then printf deny > "/proc/$0/setgroups"; fi
[ -z "$2" ] || printf "%s" "$2" > "/proc/$0/uid_map"
[ -z "$3" ] || printf "%s" "$3" > "/proc/$0/gid_map"
[ -z "$4" ] || printf "%s" "$4" > "/proc/$0/projid_map"'

if [ "$(id -u)" != 0 ]; then nsdump_fail 'run as root: creating namespaces needs it'; fi
`;

/** Variable holding the pid of the holder process of a namespace (names are ours: type and id). */
const holderVar = (type: NsType, id: number) => `nsdump_h_${type}_${id}`;
/** Path to a held namespace: fd 3 of its holder process. */
const heldPath = (type: NsType, id: number) => `"/proc/$${holderVar(type, id)}/fd/3"`;

/** Start the holder of a namespace of process "$<pidVar>", wait until it holds it, and record it. */
function holdLines(type: NsType, id: number, pidVar: string, link: string): string[] {
  const v = holderVar(type, id);
  return [`sleep 2147483647 3< "/proc/$${pidVar}/ns/${link}" &`, `${v}=$!; nsdump_pids="$nsdump_pids $!"`, `nsdump_held "$${v}" "$${pidVar}" ${link}`];
}

function mapText(m: { inside: number; outside: number; count: number }[]): string {
  return m.map((l) => `${l.inside} ${l.outside} ${l.count}\n`).join('');
}

function nsenterPrefix(enter: Record<NsType, number | null>): string {
  const flags = SEQUENCE_ORDER.filter((t) => enter[t] !== null).map((t) => `--${NSENTER_FLAG[t]}=${heldPath(t, enter[t]!)}`);
  return flags.length ? `nsenter ${flags.join(' ')} -- ` : '';
}

function sysctlArgs(sysctls: Record<string, string>): string {
  return orderedSysctls(sysctls).map(([k, v]) => `${shq(k.replace(/\./g, '/'))} ${shq(v)}`).join(' ');
}

function createLines(s: Extract<Step, { op: 'create' }>): string[] {
  const name = `${s.type}-${s.creates[0]}`;
  const id = s.creates[0]!;
  const ready = shq(name);
  const pre = nsenterPrefix(s.enter);
  const out = [`nsdump_begin ${s.n}  # ${s.summary.replace(/\n/g, ' ')}`];
  if (s.type === 'pid') {
    out.push(`${pre}unshare --pid --fork -- sh -c "$nsdump_plain" ${ready} &`, `p=$!; nsdump_pids="$nsdump_pids $p"`);
    // nsenter --pid runs unshare in a child; unshare --fork runs the init in a child again.
    if (s.enter.pid !== null) out.push(`q=$(nsdump_child "$p"); nsdump_pids="$nsdump_pids $q"; nsdump_waiters="$nsdump_waiters $p $q"`, `init=$(nsdump_child "$q")`);
    else out.push(`init=$(nsdump_child "$p"); nsdump_waiters="$nsdump_waiters $p"`);
    out.push(`nsdump_pids="$nsdump_pids $init"`, `nsdump_ready ${ready} "$init"`);
    out.push(...holdLines('pid', id, 'init', 'pid'));
    // Its init is a set's placeholder (or one of its own): it lives until release.
    out.push(/^set-\d+$/.test(s.init!) ? `nsdump_${s.init!.replace('-', '_')}=$init` : `: "init of pid#${s.creates[0]}: $init"`);
    return out;
  }
  // Every other kind: a placeholder makes the namespace (and sets what only it may set), then
  // the executor sets what only it may set, holds the namespace open, and ends the placeholder.
  let unshare = `--${UNSHARE_FLAG[s.type]}`;
  let body = '"$nsdump_plain"';
  let args = '';
  let link: string = s.type;
  const after: string[] = [];
  switch (s.type) {
    case 'user': {
      const u = s.user!;
      // Written from the parent's side: the executor itself, or root inside the created parent.
      const writer = s.enter.user === null ? '' : `nsenter --user=${heldPath('user', s.enter.user)} -- `;
      after.push(`${writer}sh -c "$nsdump_maps" "$p" ${shq(u.setgroups)} ${shq(mapText(u.uidMap))} ${shq(mapText(u.gidMap))} ${shq(mapText(u.projidMap))} || nsdump_fail 'cannot write the id maps of user#${id}'`);
      break;
    }
    case 'uts':
      for (const [k, v] of Object.entries(s.uts!)) {
        // The kernel's sysctl string handler stops at a newline: /proc/sys cannot write one.
        if (kernelBytes(v).some((b) => b === 0x0a || b === 0)) throw new PlanError(`uts#${id}: the ${k} ${quotedText(v)} holds a newline or NUL, which /proc/sys/kernel/${k} cannot take, so --format sh cannot set it`);
      }
      after.push(`nsenter --uts="/proc/$p/ns/uts" -- sh -c "$nsdump_uts" ${ready} ${shq(printfB(s.uts!.hostname))} ${shq(printfB(s.uts!.domainname))} || nsdump_fail 'cannot set the hostname of uts#${id}'`);
      break;
    case 'ipc':
      body = '"$nsdump_ipc"';
      args = ` ${sysctlArgs(s.ipc!.sysctls)}`;
      break;
    case 'time': {
      const t = s.time!;
      if (t.monotonic.nanoseconds || t.boottime.nanoseconds) {
        throw new PlanError(`time#${id}: offsets with nanoseconds (${t.monotonic.nanoseconds}, ${t.boottime.nanoseconds}): util-linux unshare sets whole seconds only, so --format sh cannot write them`);
      }
      unshare += ` --monotonic ${shq(t.monotonic.seconds)} --boottime ${shq(t.boottime.seconds)}`;
      link = 'time_for_children';
      break;
    }
  }
  out.push(`${pre}unshare ${unshare} -- sh -c ${body} ${ready}${args} &`, `p=$!; nsdump_pids="$nsdump_pids $p"`, `nsdump_ready ${ready} "$p"`);
  out.push(...after, ...holdLines(s.type, id, 'p', link), `kill -KILL "$p"`);
  return out;
}

/**
 * What the sh export cannot express, as one line for exit 8: it places one process per set with
 * nsenter, so it cannot give a process *_for_children other than its own (an unshare --fork
 * waiter), and util-linux 2.38 nsenter switches to uid 0 in a user namespace, which fails where
 * uid 0 is unmapped. `nsdump restore` does both.
 */
export function shCannotExpress(plan: Plan, img: Image): string | null {
  for (const p of [...img.processes.map((x) => ({ pid: x.pid, r: x.namespaces })), ...img.threads.map((x) => ({ pid: x.tid, r: x.namespaces }))]) {
    if (p.r.pid_for_children !== null && p.r.pid_for_children !== p.r.pid) return `process ${p.pid} has pid_for_children#${p.r.pid_for_children} besides its pid#${p.r.pid} (an unshare --fork waiter)`;
    if (p.r.time_for_children !== null && p.r.time_for_children !== p.r.time) return `process ${p.pid} has time_for_children#${p.r.time_for_children} besides its time#${p.r.time}`;
  }
  for (const n of img.namespaces) {
    const b = n.inScope ? undefined : n.holders.find((h) => h.kind === 'bind');
    if (b) return `${n.type}#${n.id} is held by a bind mount at ${JSON.stringify(b.path)}, which a sh plan does not recreate`;
  }
  for (const s of plan.steps) {
    if (s.op !== 'create' || s.type !== 'user' || !s.user) continue;
    const maps0 = (m: { inside: number }[]) => m.some((l) => l.inside === 0);
    if (!maps0(s.user.uidMap) || !maps0(s.user.gidMap)) return `user#${s.creates[0]} maps no uid/gid 0, where nsenter would switch to 0`;
  }
  return null;
}

export function renderSh(plan: Plan, img: Image, dir: string): string {
  const cannot = shCannotExpress(plan, img);
  if (cannot) throw new PlanError(`--format sh cannot recreate this image: ${cannot}; nsdump restore can`);
  const created = new Set(plan.steps.flatMap((s) => (s.op === 'create' ? s.creates : [])));
  const spawns = plan.steps.filter((s): s is Extract<Step, { op: 'spawn' }> => s.op === 'spawn');
  const lines: string[] = [
    '#!/bin/sh',
    `# nsdump ${plan.version} restore plan for ${dir.replace(/\n/g, ' ')} (root pid ${img.inventory.rootPid}), for kernel ${plan.target.kernel}.`,
    '# Carries the plan out with util-linux unshare and nsenter and writes to /proc. As root:',
    '#   sh plan.sh               make everything, print one JSON line, hold until SIGTERM or SIGINT',
    '#   sh plan.sh -- CMD [ARG]  make everything, run CMD in the dumped root\'s namespaces, release',
    '# Namespaces are held by open fds of holder processes (sleep 3</proc/P/ns/T): nothing is mounted,',
    '# and everything the plan made goes when its processes end.',
    PREAMBLE,
  ];
  // Pid namespaces are made with their init; create steps come in the plan's order.
  for (const s of plan.steps) if (s.op === 'create') lines.push(...createLines(s), '');

  for (const s of spawns) {
    if (s.initOf !== null) {
      lines.push(`nsdump_begin ${s.n}  # ${s.summary}`, '');
      continue;
    }
    const ns = s.namespaces;
    const flags = SEQUENCE_ORDER.filter((t) => created.has(ns[t])).map((t) => `--${NSENTER_FLAG[t]}=${heldPath(t, ns[t])}`);
    lines.push(`nsdump_begin ${s.n}  # ${s.summary}`);
    const body = `sh -c "$nsdump_plain" ${shq(s.placeholder)}`;
    lines.push(flags.length ? `nsenter ${flags.join(' ')} -- ${body} &` : `${body} &`);
    lines.push(`p=$!; nsdump_pids="$nsdump_pids $p"`);
    lines.push(
      created.has(ns.pid) ? `nsdump_set_${s.set}=$(nsdump_child "$p"); nsdump_pids="$nsdump_pids $nsdump_set_${s.set}"; nsdump_waiters="$nsdump_waiters $p"` : `nsdump_set_${s.set}=$p`,
      `nsdump_ready ${shq(s.placeholder)} "$nsdump_set_${s.set}"`,
      '',
    );
  }

  // Attach: run the command given after -- in the dumped root's set.
  const attach = plan.steps.find(
    (s): s is Extract<Step, { op: 'attach-pidfd' | 'attach-sequence' }> => (s.op === 'attach-pidfd' || s.op === 'attach-sequence') && s.set === plan.rootSet,
  )!;
  lines.push(
    '# Everything is made. Under a subreaper, end the processes that only wait for a child.',
    'if [ "${NSDUMP_REAPER:-}" = 1 ]; then',
    '  for p in $nsdump_waiters; do kill -KILL "$p" 2>/dev/null || :; done',
    '  # A kill lands asynchronously: "ready" must mean a stable tree, so wait until they are gone.',
    '  for p in $nsdump_waiters; do',
    '    i=0',
    '    while nsdump_alive "$p" && [ "$i" -lt 3000 ]; do i=$((i + 1)); sleep 0.01; done',
    '  done',
    'fi',
    '',
    `nsdump_begin ${attach.n}  # ${attach.summary}`,
  );
  if (attach.op === 'attach-pidfd') {
    const rootSpawn = spawns.find((s) => s.set === plan.rootSet)!;
    const f = attach.flags.map((t) => `--${NSENTER_FLAG[t]}`).join(' ');
    // util-linux 2.41+ joins through a pidfd here (atomically); older ones one namespace at a time.
    lines.push(`nsdump_attach() { nsenter --target "$nsdump_set_${rootSpawn.set}" ${f} -- "$@"; }`);
  } else {
    const f = attach.sequence.map((q) => `--${NSENTER_FLAG[q.type]}=${heldPath(q.type, q.ns)}`).join(' ');
    lines.push(f ? `nsdump_attach() { nsenter ${f} -- "$@"; }` : `nsdump_attach() { "$@"; }`);
  }
  const setsJson = spawns.map((s) => `"${s.set}": %s`).join(', ');
  const setsArgs = spawns.map((s) => `"$nsdump_set_${s.set}"`).join(' ');
  lines.push(
    '',
    'if [ "${1:-}" = -- ]; then',
    '  shift',
    '  # In the background (stdin passed on explicitly), so that a signal is seen while it runs.',
    '  nsdump_attach "$@" 0<&0 &',
    '  a=$!; nsdump_pids="$nsdump_pids $a"',
    '  while :; do',
    '    wait "$a" && nsdump_rc=0 || nsdump_rc=$?',
    '    nsdump_alive "$a" || break',
    '    nsdump_check',
    '  done',
    '  exit "$nsdump_rc"',
    'fi',
    `printf '{"root": %s, "rootSet": ${plan.rootSet}, "sets": {${setsJson}}}\\n' "$$" ${setsArgs}`,
    '# Hold until a signal ends us (the EXIT trap releases everything).',
    'while :; do sleep 2147483647 & nsdump_pids="$nsdump_pids $!"; wait "$!" || :; nsdump_check; done',
  );
  return `${lines.join('\n')}\n`;
}
