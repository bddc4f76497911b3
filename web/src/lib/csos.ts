// A schedule II order's CSOS signature, made in the browser with the purchaser's key: the
// key file is read here and never sent anywhere. Orderly's compliance verifies the signature
// against the certificate registered with the account.

export type SignedLine = { productId: string; quantity: number };

/** What a CSOS signature signs: `CSOS1|<order number>|<DEA number>|<product>:<qty>|...`,
 * the lines sorted (as compliance builds it). */
export function csosPayload(orderNumber: string, deaNumber: string, lines: SignedLine[]): string {
  const parts = lines.map((line) => `${line.productId}:${line.quantity}`).sort();
  return ["CSOS1", orderNumber, deaNumber, ...parts].join("|");
}

/** The base64 DER ECDSA (P-256, SHA-256) signature of the payload, with a PKCS #8 PEM key. */
export async function signWithKeyFile(pem: string, payload: string): Promise<string> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/=]+$/.test(body) || !pem.includes("BEGIN PRIVATE KEY")) {
    throw new Error("The key file must be a PKCS #8 PEM file (BEGIN PRIVATE KEY).");
  }
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(payload)),
  );
  return btoa(String.fromCharCode(...derSignature(raw)));
}

/** WebCrypto answers r ‖ s; X.509 tools and Orderly read DER: SEQUENCE { INTEGER r, INTEGER s }. */
function derSignature(raw: Uint8Array): number[] {
  const integer = (bytes: Uint8Array): number[] => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const value = Array.from(bytes.slice(start));
    if ((value[0] ?? 0) & 0x80) value.unshift(0);
    return [0x02, value.length, ...value];
  };
  const half = raw.length / 2;
  const r = integer(raw.slice(0, half));
  const s = integer(raw.slice(half));
  return [0x30, r.length + s.length, ...r, ...s];
}
