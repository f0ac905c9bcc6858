// Why: `nsdump caps <image-dir>` asks the capability rule (caps.ts) about a saved image, so the
// image's per-process credentials and user namespaces have to be seen as the rule's small types:
// ids as the dumper saw them (null where unmapped), user namespaces by image id with their parent,
// level and creator's uid, and Y named the ways a person reads an image (uts#7, 7, uts:PID).
import { type CapsTarget, type Credentials as CapCredentials, type UserNs } from './caps.js';
import type { Credentials, Image, Namespace, Process } from './image.js';
import { NS_TYPES, type NsType } from './species.js';

/** Y cannot be found in the image, or is given in a form an image cannot answer. */
export class ImageTargetError extends Error {
  override readonly name = 'ImageTargetError';
}

/** The kernel's default overflow uid: what NS_GET_OWNER_UID returns for a creator the reader cannot map. */
const OVERFLOW_UID = 65534;

const nsName = (n: Pick<Namespace, 'type' | 'id'>) => `${n.type}#${n.id}`;

/** Does the image record credentials at all (images written before nsdump dumped them do not)? */
export function hasCredentials(img: Image): boolean {
  return img.processes.some((p) => p.credentials !== null);
}

/**
 * Whether the uid the kernel printed as the overflow uid may be a real one. NS_GET_OWNER_UID maps
 * the creator into the dumper's user namespace and munges an unmapped one to 65534; the dumper's
 * own uid_map (recorded as read from inside it) says whether 65534 exists there at all. In the
 * initial namespace every id is mapped; where the dumper's namespace is not in the image, nothing
 * tells, and an owner that never matches is the safe reading.
 */
function overflowMapped(img: Image): boolean {
  const scope = img.inventory.scope.find((s) => s.type === 'user');
  const own = scope?.id == null ? undefined : img.namespaces.find((n) => n.id === scope.id);
  if (!own) return false;
  if (own.initial) return true;
  const st = own.type === 'user' ? own.state : null;
  return st !== null && st.uidMap.some((l) => OVERFLOW_UID >= l.inside && OVERFLOW_UID - l.inside < l.count);
}

/** The image's user namespaces as the rule's table. */
export function imageUsers(img: Image): UserNs[] {
  const mapped = overflowMapped(img);
  return img.namespaces
    .filter((n) => n.type === 'user')
    .map((n) => {
      const st = n.state;
      const owner = st === null ? null : st.ownerUid === OVERFLOW_UID && !mapped ? null : st.ownerUid;
      return {
        id: n.id,
        parent: n.parent,
        ownerUid: owner,
        name: nsName(n),
        ...(st === null ? {} : { level: st.level }),
        parentHidden: n.parent === null && !n.initial,
      };
    });
}

/** One process's recorded credentials as the rule reads them; null when the image has none for it. */
export function imageCredentials(p: Process): CapCredentials | null {
  const c: Credentials | null = p.credentials;
  if (c === null || p.namespaces.user === null) return null;
  const mask = (hex: string) => BigInt(`0x${hex}`);
  return {
    pid: p.pid,
    userNs: p.namespaces.user,
    uid: c.uid.real,
    euid: c.uid.effective,
    effective: mask(c.capabilities.effective),
    permitted: mask(c.capabilities.permitted),
    inheritable: mask(c.capabilities.inheritable),
    bounding: mask(c.capabilities.bounding),
    ambient: mask(c.capabilities.ambient),
    noNewPrivs: c.noNewPrivs,
  };
}

export interface ImageTarget extends CapsTarget {
  /** The namespace's image id. */
  id: number;
}

/**
 * Y in an image: "uts#12" or "12" (an image id, as `nsdump show` prints them) or "TYPE:PID" (the
 * namespace of that type of the dumped process PID). A /proc path names a namespace of the running
 * system, which an image does not know.
 */
export function resolveImageTarget(img: Image, spec: string): ImageTarget {
  let ns: Namespace | undefined;
  const byId = /^(?:([a-z_]+)#)?(\d+)$/.exec(spec);
  const byPid = /^([a-z_]+):(\d+)$/.exec(spec);
  const checkType = (t: string) => {
    if (!(NS_TYPES as readonly string[]).includes(t)) throw new ImageTargetError(`--ns ${spec}: ${t} is not a namespace type (${NS_TYPES.join(', ')})`);
    return t as NsType;
  };
  if (byId) {
    const type = byId[1] === undefined ? undefined : checkType(byId[1]);
    ns = img.namespaces.find((n) => n.id === Number(byId[2]));
    if (!ns) throw new ImageTargetError(`--ns ${spec}: the image has no namespace #${byId[2]}`);
    if (type !== undefined && ns.type !== type) throw new ImageTargetError(`--ns ${spec}: #${ns.id} is a ${ns.type} namespace, not ${type}`);
  } else if (byPid) {
    const type = checkType(byPid[1]!);
    const pid = Number(byPid[2]);
    const p = img.processes.find((q) => q.pid === pid);
    if (!p) throw new ImageTargetError(`--ns ${spec}: the image has no process ${pid}`);
    const id = p.namespaces[type];
    ns = id === null ? undefined : img.namespaces.find((n) => n.id === id);
    if (!ns) throw new ImageTargetError(`--ns ${spec}: the image does not record the ${type} namespace of pid ${pid}`);
  } else if (spec.startsWith('/')) {
    throw new ImageTargetError(`--ns ${spec}: a path names a namespace of the running system; in an image, give an id (uts#7, 7) or TYPE:PID, or ask the running system with --live`);
  } else {
    throw new ImageTargetError(`--ns ${spec}: not an image id (uts#7, 7) or TYPE:PID`);
  }
  return { id: ns.id, type: ns.type, name: nsName(ns), userNs: ns.type === 'user' ? ns.id : ns.owner };
}

/** Is process `p` in the namespace `target` (its link of that type points there)? */
export function isImageMember(p: Process, target: ImageTarget): boolean {
  return p.namespaces[target.type] === target.id;
}
