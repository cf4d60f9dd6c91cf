/**
 * What a walk over an app's object tree may look at, shared by the
 * start-up check of every config in the tree and by the OpenAPI document:
 * the same bounds (a tree is a user's object graph; it may be deep or
 * cyclic) and the same members, read without running any getter.
 */

/** Levels below the root a walk goes down. */
export const TREE_MAX_DEPTH = 32;
/** Nodes a walk visits at the most. */
export const TREE_MAX_NODES = 10_000;

/**
 * A node's public members (own and inherited, up to Object.prototype; not
 * `constructor`, not `_private`) that are plain values, each with its name:
 * accessors are skipped, never called.
 */
export function* plainMembers(node: object): Generator<[name: string, value: unknown]> {
  for (const name of memberNames(node)) {
    const desc = findDescriptor(node, name);
    if (desc !== undefined && 'value' in desc) yield [name, desc.value as unknown];
  }
}

function memberNames(node: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = node; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== 'constructor' && !n.startsWith('_')) names.add(n);
  }
  return names;
}

/** The descriptor of `name` on the node or the nearest prototype that has it. */
export function findDescriptor(node: object, name: string): PropertyDescriptor | undefined {
  for (let o: object | null = node; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d !== undefined) return d;
  }
  return undefined;
}
