// Why: user namespace state, with id maps made relative to the PARENT user namespace whichever way
// they had to be read (kernel-notes: maps read relative to the reader).
import type { NsNode } from '../graph.js';
import type { IdMapLine, StateOf } from '../../model/image.js';
import { IDENTITY_MAP, composeMap, decomposeMap, parseIdMap } from '../../model/idmap.js';
import { nsGetOwnerUid } from '../../kernel/nsfs.js';
import { readFileAt } from '../../kernel/ffi.js';
import { readInside } from '../helper.js';
import type { StateContext, StateResult } from './context.js';

type Maps = { uid: IdMapLine[]; gid: IdMapLine[]; projid: IdMapLine[] };
const FILES = ['uid_map', 'gid_map', 'projid_map', 'setgroups'] as const;

/** Reads user namespaces parents first, remembering each one's maps relative to the dumper. */
export class UserStateReader {
  /** key → maps relative to the dumper's own user namespace. */
  private readonly toReader = new Map<string, Maps>();

  constructor(private readonly ctx: StateContext) {}

  read(node: NsNode): StateResult<StateOf<'user'>> {
    const { ctx } = this;
    let texts = ctx.withMember(node, (m) => FILES.map((f) => readFileAt(m.dirfd, f, `/proc/${m.pid}/${f}`)));
    let insideRead: boolean;
    if (texts !== undefined) {
      insideRead = false;
    } else {
      // No process of the tree is inside: read from within through a single-threaded helper.
      texts = readInside('user', ctx.fdPath(node), FILES.map((f) => `/proc/self/${f}`));
      insideRead = true;
    }
    const read: Maps = { uid: parseIdMap(texts[0]!), gid: parseIdMap(texts[1]!), projid: parseIdMap(texts[2]!) };
    const isOwn = ctx.scopeKeys.has(node.key);
    const parentMaps = node.parent ? this.toReader.get(node.parent) : undefined;
    const parentIsOwn = node.parent !== null && ctx.scopeKeys.has(node.parent);
    let relative: Maps;
    let note = '';
    if (isOwn || insideRead || parentIsOwn || !node.parent) {
      // Read from inside the namespace itself, or its parent is the reader: already parent-relative.
      relative = read;
      if (!node.parent && !isOwn && !node.initial) note = 'parent beyond scope: maps are relative to the dumper';
    } else if (parentMaps) {
      relative = { uid: decomposeMap(read.uid, parentMaps.uid), gid: decomposeMap(read.gid, parentMaps.gid), projid: decomposeMap(read.projid, parentMaps.projid) };
    } else {
      throw new Error(`${node.key}: parent maps unknown (user namespaces must be read parents first)`);
    }
    // Remember this namespace's maps relative to the dumper, for its children.
    if (isOwn) this.toReader.set(node.key, { uid: IDENTITY_MAP, gid: IDENTITY_MAP, projid: IDENTITY_MAP });
    else if (!insideRead) this.toReader.set(node.key, read);
    else if (parentIsOwn || !parentMaps) this.toReader.set(node.key, relative);
    else this.toReader.set(node.key, { uid: composeMap(relative.uid, parentMaps.uid), gid: composeMap(relative.gid, parentMaps.gid), projid: composeMap(relative.projid, parentMaps.projid) });

    const setgroups = texts[3]!.trim() === 'deny' ? 'deny' : 'allow';
    return {
      state: {
        uidMap: relative.uid,
        gidMap: relative.gid,
        projidMap: relative.projid,
        setgroups,
        ownerUid: nsGetOwnerUid(node.fd, node.key),
        level: ctx.graph.level(node),
      },
      note,
    };
  }
}
