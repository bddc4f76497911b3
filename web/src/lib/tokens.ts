// The signed-in user's tokens, kept for this browser tab only (sessionStorage): another tab
// or another browser profile signs in on its own.
const KEY = "orderly.tokens";

export type StoredTokens = { token: string; refreshToken: string };

const listeners = new Set<() => void>();

export function readTokens(): StoredTokens | null {
  if (typeof window === "undefined") return null;
  const raw = window.sessionStorage.getItem(KEY);
  return raw ? (JSON.parse(raw) as StoredTokens) : null;
}

export function saveTokens(tokens: { token: string; refreshToken: string }): void {
  const kept: StoredTokens = { token: tokens.token, refreshToken: tokens.refreshToken };
  window.sessionStorage.setItem(KEY, JSON.stringify(kept));
  listeners.forEach((listener) => listener());
}

export function clearTokens(): void {
  window.sessionStorage.removeItem(KEY);
  listeners.forEach((listener) => listener());
}

export function onTokensChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
