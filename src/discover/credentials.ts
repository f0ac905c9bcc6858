// Why: the credentials stage. What a process may do to a namespace depends on its ids and
// capabilities; /proc/PID/status (read through the process's pinned dirfd) is the one place the
// kernel shows another process's four uids and gids, groups, five capability sets and
// no_new_privs. Ids are printed as the READER's user namespace maps them, and an id without a
// mapping there is printed as the overflow id (65534): such ids are recorded as unmapped, never
// as 65534. Securebits are not shown for other processes, so they are not recorded.
import { AT_FDCWD, readFileAt } from '../kernel/ffi.js';
import type { Credentials } from '../model/image.js';
import { parseIdMap } from '../model/idmap.js';

/** How to tell an unmapped id from a real one, decided once per dump from the dumper's own view. */
export interface OverflowIds {
  uid: number;
  gid: number;
  /** The overflow id has a mapping in the dumper's user namespace: a 65534 may be a real 65534. */
  uidMapped: boolean;
  gidMapped: boolean;
}

export function overflowIds(): OverflowIds {
  const num = (p: string) => Number(readFileAt(AT_FDCWD, p).trim());
  const mapped = (map: string, id: number) => parseIdMap(readFileAt(AT_FDCWD, map)).some((l) => id >= l.inside && id - l.inside < l.count);
  const uid = num('/proc/sys/kernel/overflowuid');
  const gid = num('/proc/sys/kernel/overflowgid');
  return { uid, gid, uidMapped: mapped('/proc/self/uid_map', uid), gidMapped: mapped('/proc/self/gid_map', gid) };
}

/** One line's value. An empty list reads "Groups:\t" and a newline: the match must not run on into the next line. */
function line(status: string, key: string): string {
  const m = new RegExp(`^${key}:[ \\t]*([^\\n]*)$`, 'm').exec(status);
  if (!m) throw new Error(`/proc/PID/status has no ${key} line`);
  return m[1]!.trim();
}

/** /proc/PID/status → Credentials. */
export function parseCredentials(status: string, overflow: OverflowIds): Credentials {
  const ids = (key: 'Uid' | 'Gid') => {
    const [over, overMapped] = key === 'Uid' ? [overflow.uid, overflow.uidMapped] : [overflow.gid, overflow.gidMapped];
    return (text: string) => {
      const v = Number(text);
      return v === over && !overMapped ? null : v;
    };
  };
  const four = (key: 'Uid' | 'Gid') => {
    const [real, effective, saved, fs] = line(status, key).split(/\s+/).map(ids(key));
    return { real: real!, effective: effective!, saved: saved!, fs: fs! };
  };
  const cap = (key: string) => line(status, key).toLowerCase().padStart(16, '0');
  const groups = line(status, 'Groups');
  return {
    uid: four('Uid'),
    gid: four('Gid'),
    groups: groups ? groups.split(/\s+/).map(ids('Gid')) : [],
    capabilities: { inheritable: cap('CapInh'), permitted: cap('CapPrm'), effective: cap('CapEff'), bounding: cap('CapBnd'), ambient: cap('CapAmb') },
    noNewPrivs: line(status, 'NoNewPrivs') === '1',
  };
}
