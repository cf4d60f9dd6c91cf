/**
 * The declared input a schema sees, without keys that could reach a
 * prototype. JSON.parse makes `"__proto__"` an own key (it does not set the
 * prototype), and params have no prototype at all, but a schema that copies
 * unknown keys onto a fresh object (a "loose" object), or the handler's own
 * `Object.assign` / deep merge, would: `{"__proto__": {"admin": true}}`
 * merged into `{}` gives it a prototype the client chose, and
 * `{"constructor": {"prototype": …}}` walks to one. So `__proto__` is always
 * dropped, and `constructor` when its value is an object or array (a plain
 * `"constructor": "Ferrari"` reaches nothing and stays). `request.json()`
 * and `request.params` keep what the client sent.
 */
export function withoutPrototypeKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const clean = withoutPrototypeKeys(item);
      if (clean !== item) (out ??= value.slice())[i] = clean;
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  // for…in, not Object.keys: no array of keys made for every object of every body (own keys only, in the same order).
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const item = obj[key];
    if (isPrototypeKey(key, item)) {
      out ??= copyOf(obj);
      Reflect.deleteProperty(out, key);
      continue;
    }
    const clean = withoutPrototypeKeys(item);
    if (clean !== item) (out ??= copyOf(obj))[key] = clean;
  }
  return out ?? value;
}

function isPrototypeKey(key: string, value: unknown): boolean {
  return key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null);
}

/** A copy with the same kind of prototype (none for params), its keys defined, never set (a set of '__proto__' would set the prototype). */
function copyOf(obj: Record<string, unknown>): Record<string, unknown> {
  const copy = Object.create(Object.getPrototypeOf(obj) === null ? null : Object.prototype) as Record<string, unknown>;
  for (const key of Object.keys(obj)) Object.defineProperty(copy, key, { value: obj[key], writable: true, enumerable: true, configurable: true });
  return copy;
}
