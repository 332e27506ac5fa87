// The resident's wallet: the key is made here (WebCrypto ECDSA P-256, not extractable) and kept in this
// browser's IndexedDB; every request is signed here, DER-encoded with low S as Fabric's peers require.
"use strict";

const MSP_ID = "SeochoDistrictMSP";
const P256_ORDER = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
const $ = (id) => document.getElementById(id);

// -- DER, just what a PKCS#10 request and an ECDSA signature need --------------------------------------
function derLength(n) {
  if (n < 0x80) return [n];
  const bytes = [];
  while (n > 0) { bytes.unshift(n & 0xff); n >>= 8; }
  return [0x80 | bytes.length, ...bytes];
}
function tlv(tag, content) { return new Uint8Array([tag, ...derLength(content.length), ...content]); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) { out.set(p, offset); offset += p.length; }
  return out;
}
const sequence = (...parts) => tlv(0x30, concat(...parts));
function oid(text) {
  const [a, b, ...rest] = text.split(".").map(Number);
  const bytes = [40 * a + b];
  for (const value of rest) {
    const chunk = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(bytes));
}
function unsignedInteger(bytes) {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let body = bytes.slice(i);
  if (body[0] & 0x80) body = concat(new Uint8Array([0]), body);
  return tlv(0x02, body);
}
function toBigInt(bytes) { return BigInt("0x" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")); }
function fromBigInt(value) {
  const hex = value.toString(16).padStart(64, "0");
  return new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
}

// WebCrypto answers r || s; Fabric wants DER with s in the lower half of the group order.
function derSignature(raw) {
  const r = raw.slice(0, 32);
  let s = toBigInt(raw.slice(32));
  if (s > P256_ORDER / 2n) s = P256_ORDER - s;
  return sequence(unsignedInteger(r), unsignedInteger(fromBigInt(s)));
}

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// -- the key, kept in IndexedDB (a CryptoKey is stored as is: its private half cannot be exported) ---
function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("seocho-wallet", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("wallet");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function keep(record) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("wallet", "readwrite");
    tx.objectStore("wallet").put(record, "resident");
    tx.oncomplete = resolve; tx.onerror = () => reject(tx.error);
  });
}
async function kept() {
  const db = await database();
  return new Promise((resolve, reject) => {
    const get = db.transaction("wallet").objectStore("wallet").get("resident");
    get.onsuccess = () => resolve(get.result); get.onerror = () => reject(get.error);
  });
}

async function sign(privateKey, bytes) {
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, bytes));
  return b64(derSignature(raw));
}

async function certificateRequest(keys, memberId) {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const name = sequence(tlv(0x31, sequence(oid("2.5.4.3"), tlv(0x0c, new TextEncoder().encode(memberId)))));
  const info = sequence(tlv(0x02, new Uint8Array([0])), name, spki, new Uint8Array([0xa0, 0x00]));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, info));
  const signature = derSignature(raw);
  const request = sequence(info, sequence(oid("1.2.840.10045.4.3.2")), tlv(0x03, concat(new Uint8Array([0]), signature)));
  const lines = b64(request).match(/.{1,64}/g).join("\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines}\n-----END CERTIFICATE REQUEST-----\n`;
}

// -- the service -------------------------------------------------------------------------------------
async function call(method, path, body) {
  const response = await fetch(path, {
    method, headers: { "Content-Type": "application/json", "Accept-Language": navigator.language || "ko" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const document = await response.json();
  if (!response.ok) throw new Error(`${document.title}${document.detail ? ": " + document.detail : ""}`);
  return document;
}

// Propose, sign, then evaluate (a query) or endorse, sign the transaction and submit it.
async function run(operation) {
  const wallet = await kept();
  const proposal = { msp_id: MSP_ID, certificate: wallet.certificate, operation };
  const step = await call("POST", "/v1/proposals", proposal);
  const first = await sign(wallet.keys.privateKey, unb64(step.to_sign));
  const answer = await call("POST", step.next, { signature: first });
  if (step.kind === "query") return answer.result;
  const second = await sign(wallet.keys.privateKey, unb64(answer.to_sign));
  return call("POST", answer.next, { signature: second });
}

function say(text, error = false) { $("status").textContent = text; $("status").className = error ? "error" : ""; }
function requestId() { return "W-" + [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join(""); }
function guarded(action) {
  return async () => { try { await action(); } catch (error) { say("오류: " + error.message, true); } };
}

async function show() {
  const wallet = await kept();
  if (!wallet) return;
  $("enrol-section").hidden = true;
  $("wallet-section").hidden = false;
  $("who").textContent = wallet.memberId;
  $("certificate").textContent = wallet.certificate;
}

$("enrol").onclick = guarded(async () => {
  const memberId = $("member-id").value.trim();
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const csr = await certificateRequest(keys, memberId);
  const enrolled = await call("POST", "/v1/enrolments",
    { msp_id: MSP_ID, enrollment_id: memberId, secret: $("secret").value, csr });
  await keep({ memberId, keys, certificate: enrolled.certificate });
  $("secret").value = "";
  await show();
  say("등록되었습니다");
});

$("balance-button").onclick = guarded(async () => {
  const wallet = await kept();
  const balance = await run({ name: "get_balance", member_id: wallet.memberId });
  $("balance").textContent = String(balance.coins);
  say("잔액을 불러왔습니다");
});

function outcome(result) {
  if (result.status === "committed") say("완료되었습니다 (" + result.transaction_id.slice(0, 12) + ")");
  else say("반영되지 않았습니다: " + result.status, true);
}

$("pay").onclick = guarded(async () => {
  const wallet = await kept();
  outcome(await run({
    name: "pay", member_id: wallet.memberId, institution_id: $("pay-institution").value.trim(),
    price_krw: Number($("pay-price").value), coins: Number($("pay-coins").value),
    service_code: $("pay-service").value.trim(), request_id: requestId(),
  }));
});

$("donate").onclick = guarded(async () => {
  const wallet = await kept();
  outcome(await run({
    name: "donate", member_id: wallet.memberId, charity_id: $("donate-charity").value.trim(),
    coins: Number($("donate-coins").value), request_id: requestId(),
  }));
});

$("history-button").onclick = guarded(async () => {
  const wallet = await kept();
  const page = await run({ name: "get_member_history", member_id: wallet.memberId, page_size: 20 });
  $("history").replaceChildren(...page.movements.map((m) => {
    const row = document.createElement("tr");
    for (const text of [m.timestamp, m.kind, String(m.coins)]) {
      const cell = document.createElement("td"); cell.textContent = text; row.append(cell);
    }
    return row;
  }));
  say("내역을 불러왔습니다");
});

show();
