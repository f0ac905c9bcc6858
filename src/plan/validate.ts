// Why: what makes a sound image impossible to plan from here. Soundness itself (references, ids,
// the process tree, the kernel's limits) is image/validate.ts's, run by every reader; what stays
// here are feasibility rules, each a named function returning "which entry, why it cannot be
// made". A problem is exit code 8 (PlanError).
import { join } from 'node:path';
import { FILES } from '../image/codec.js';
import type { Image, Namespace } from '../model/image.js';
import { SPECIES, isHierarchical } from '../model/species.js';

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

type Problem = { entry: Namespace | null; what: string };
type Rule = (img: Image) => Problem[];

const created = (n: Namespace) => !n.inScope;

/** A namespace whose owner lies beyond the dumper's scope cannot be made from here. */
export function ownersWithinScope(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && n.owner === null && n.ownerBeyondScope)
    .map((n) => ({ entry: n, what: `owned by a user namespace beyond the dumper's scope: it cannot be recreated from here (dump from an outer namespace)` }));
}

/** Nor a user or pid namespace whose parent does. */
export function parentsWithinScope(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && isHierarchical(n.type) && n.parent === null && n.parentBeyondScope)
    .map((n) => ({ entry: n, what: `a ${n.type} namespace to create needs its parent, which lies beyond the dumper's scope (dump from an outer namespace)` }));
}

/** State a plan must set is there (a namespace read "not from this scope" cannot be recreated faithfully). */
export function createdNamespacesHaveTheirState(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && SPECIES[n.type].needsState && n.state === null)
    .map((n) => ({ entry: n, what: `its state was not recorded (${n.stateNote || 'no note'}): a plan cannot set it` }));
}

/** `dump --all` records every process of a host: no one tree a restore could replay. */
export function wholeHostImagesHaveNoTreeToReplay(img: Image): Problem[] {
  if (img.inventory.rootPid !== null) return [];
  return [{ entry: null, what: 'a whole-host image (nsdump dump --all) has no root process, so no tree to recreate: dump the tree to restore' }];
}

/** In the order they run, keyed by the name a message gives in brackets (not Function.name: the bundle's minifier renames). */
export const RULES: Readonly<Record<string, Rule>> = {
  wholeHostImagesHaveNoTreeToReplay,
  ownersWithinScope,
  parentsWithinScope,
  createdNamespacesHaveTheirState,
};

/** Throws the first problem found as a PlanError (exit 8); the image must have been validated (readImage). */
export function validateForPlan(dir: string, img: Image): void {
  for (const [rule, check] of Object.entries(RULES)) {
    const [p] = check(img);
    if (!p) continue;
    const where = p.entry ? `${join(dir, FILES.namespaces.name)}: entry ${p.entry.id} (${p.entry.type}#${p.entry.id})` : dir;
    const msg = `${where}: ${p.what} [${rule}]`;
    throw new PlanError(msg);
  }
}
