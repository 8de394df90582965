// Receipt verification in the browser, the same checks as aitbc.core.receipts:
// the coordinator signature (Ed25519 over the canonical receipt minus "signature", by a
// key the node publishes in /v1/info — never a key taken from the receipt), the chain id,
// and the miner attestation (Ed25519 over the canonical claim, by the miner key the
// receipt carries and the coordinator signed).

import { canonicalBytes } from "./canonical.js";

export const CLAIM_FIELDS = [
  "job_id",
  "input_hash",
  "output_hash",
  "units",
  "price",
  "chain_id",
  "coordinator_id",
  "miner_id",
];

export function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new Error("not base64url");
  }
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function keyIdOf(raw) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, 16);
}

async function ed25519Verify(publicKeyB64, signatureB64, message) {
  const raw = b64urlDecode(publicKeyB64);
  if (raw.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  let sig;
  try {
    sig = b64urlDecode(signatureB64);
  } catch {
    return false;
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, sig, message);
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Verify `receipt` against `info` (the node's /v1/info). Resolves to
 * {ok, checks: [{name, ok, detail}], failed} where `failed` names the first failed check.
 * A check that cannot run because an earlier one failed is reported as not run (ok=null).
 */
export async function verifyReceipt(receipt, info) {
  if (!(globalThis.crypto && crypto.subtle)) {
    throw new Error("WebCrypto needs a secure context (https, or http on localhost)");
  }
  const checks = [];
  const add = (name, ok, detail) => checks.push({ name, ok, detail });

  const signature = isObject(receipt) ? receipt.signature : null;
  if (!isObject(signature)) {
    add("signed", false, "the receipt carries no coordinator signature");
  } else {
    add("signed", true, `signed with key ${signature.key_id}`);
    const trusted = (info.signing_keys || []).find(
      (k) => k.key_id === signature.key_id && k.alg === "ed25519",
    );
    if (!trusted || signature.alg !== "ed25519") {
      add("coordinator key", false, `key ${signature.key_id} is not published by this node`);
      add("coordinator signature", null, "not checked: no trusted key");
    } else {
      add("coordinator key", true, `key ${trusted.key_id} is published in /v1/info`);
      const body = Object.fromEntries(Object.entries(receipt).filter(([k]) => k !== "signature"));
      let good = false;
      let detail = "the signature does not match the receipt's contents";
      try {
        good = await ed25519Verify(trusted.public_key, signature.sig, canonicalBytes(body));
      } catch (err) {
        detail = `cannot check: ${err.message}`;
      }
      add("coordinator signature", good, good ? "Ed25519 over the canonical receipt" : detail);
    }
  }

  if (isObject(receipt)) {
    const sameChain = receipt.chain_id === info.chain_id;
    add(
      "chain id",
      sameChain,
      sameChain
        ? `chain ${info.chain_id}`
        : `receipt is for chain ${receipt.chain_id}, this node is chain ${info.chain_id}`,
    );
    await checkAttestation(receipt, add);
  }
  const failed = checks.find((c) => c.ok === false);
  return { ok: !failed, checks, failed: failed ? failed.name : null };
}

async function checkAttestation(receipt, add) {
  const miner = (receipt.attestations || []).filter((a) => isObject(a) && a.role === "miner");
  if (miner.length !== 1) {
    add("miner key", false, "the receipt must carry exactly one miner attestation");
    add("miner attestation", null, "not checked");
    return;
  }
  const att = miner[0];
  let raw;
  try {
    raw = b64urlDecode(String(receipt.miner_key));
    if (raw.length !== 32) throw new Error("wrong length");
  } catch {
    add("miner key", false, "the receipt carries no valid miner key");
    add("miner attestation", null, "not checked");
    return;
  }
  const keyId = await keyIdOf(raw);
  if (att.alg !== "ed25519" || att.key_id !== keyId) {
    add("miner key", false, "the attestation's key does not match the miner key");
    add("miner attestation", null, "not checked");
    return;
  }
  add("miner key", true, `miner key ${keyId}`);
  const missing = CLAIM_FIELDS.filter((f) => !(f in receipt));
  if (missing.length) {
    add("miner attestation", false, `the claim lacks ${missing.join(", ")}`);
    return;
  }
  const claim = Object.fromEntries(CLAIM_FIELDS.map((f) => [f, receipt[f]]));
  let good = false;
  try {
    good = await ed25519Verify(receipt.miner_key, String(att.sig || ""), canonicalBytes(claim));
  } catch {
    good = false;
  }
  add(
    "miner attestation",
    good,
    good ? "Ed25519 over the canonical claim" : "the miner's signature does not match the claim",
  );
}
