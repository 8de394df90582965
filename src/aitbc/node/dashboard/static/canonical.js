// RFC 8785 (JSON Canonicalization Scheme). JCS is defined in terms of ECMAScript's own
// JSON serialisation of numbers and strings, so JSON.stringify does those; what JCS adds
// is the key order (UTF-16 code units, which is what Array.prototype.sort compares) and
// the refusals: non-finite numbers, lone surrogates, and values JSON has no form for.

export class CanonicalizationError extends Error {}

export function canonicalize(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalizationError(`not finite: ${value}`);
      return JSON.stringify(value);
    case "string":
      if (!value.isWellFormed()) throw new CanonicalizationError("string has a lone surrogate");
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
      const keys = Object.keys(value).sort();
      const members = keys.map((key) => canonicalize(key) + ":" + canonicalize(value[key]));
      return "{" + members.join(",") + "}";
    }
    default:
      throw new CanonicalizationError(`no JSON form for ${typeof value}`);
  }
}

/** The UTF-8 bytes that get signed. */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
