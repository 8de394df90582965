// The one door to the node: the public REST API with the visitor's key. The key lives in
// sessionStorage (gone when the tab closes) and is sent only as the X-API-Key header.

const KEY_SLOT = "aitbc.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY_SLOT);
}

export function setApiKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
}

export function forgetApiKey() {
  sessionStorage.removeItem(KEY_SLOT);
}

/** A refusal or failure from the node, carrying its error envelope. */
export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

async function decode(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

/** Call the API; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api(path, { method = "GET", body, params, headers } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const sent = { ...(headers || {}) };
  const key = apiKey();
  if (key) sent["X-API-Key"] = key;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "unreachable", `node unreachable: ${err.message}`, "");
  }
  if (res.status === 204) return null;
  const data = await decode(res);
  if (!res.ok) {
    const env = (data && data.error) || {};
    throw new ApiError(
      res.status,
      env.code || "http_error",
      env.message || res.statusText || "request failed",
      env.request_id || res.headers.get("X-Request-ID") || "",
    );
  }
  return data;
}

/** One page of a cursor-paged list: {items, next_cursor}. */
export function page(path, { limit = 50, cursor, params } = {}) {
  return api(path, { params: { ...(params || {}), limit, cursor } });
}

/** A fresh idempotency key so a retried POST never moves money twice. */
export function idempotencyKey() {
  return crypto.randomUUID();
}
