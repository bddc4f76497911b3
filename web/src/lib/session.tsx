"use client";
// Who is signed in, for every page: the user as `me` answers, or nobody.
import { createContext, useCallback, useContext, useEffect, useState } from "react";

import { MeDocument, type MeQuery } from "@/graphql/generated";
import { graphql, rest } from "@/lib/api";
import { clearTokens, onTokensChange, readTokens } from "@/lib/tokens";

export type Me = MeQuery["me"];

type Session =
  | { status: "loading"; me: null }
  | { status: "signed-out"; me: null }
  | { status: "signed-in"; me: Me };

type SessionValue = Session & { signOut: () => Promise<void>; isOperator: boolean };

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [session, setSession] = useState<Session>({ status: "loading", me: null });

  const load = useCallback(async () => {
    if (!readTokens()) {
      setSession({ status: "signed-out", me: null });
      return;
    }
    try {
      const { me } = await graphql(MeDocument, {});
      setSession({ status: "signed-in", me });
    } catch {
      setSession({ status: "signed-out", me: null });
    }
  }, []);

  useEffect(() => {
    void load();
    return onTokensChange(() => void load());
  }, [load]);

  const signOut = useCallback(async () => {
    await rest("POST", "/api/v1/auth/logout").catch(() => undefined);
    clearTokens();
  }, []);

  const isOperator = session.me?.roles.includes("operator") ?? false;
  return (
    <SessionContext.Provider value={{ ...session, signOut, isOperator }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
