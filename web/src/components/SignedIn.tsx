"use client";
import Link from "next/link";

import { type Me, useSession } from "@/lib/session";

/** Shows its children to a signed-in user (an operator, when asked), a way to sign in to others. */
export function SignedIn({
  children,
  operator = false,
}: {
  children: (me: Me) => React.ReactNode;
  operator?: boolean;
}) {
  const session = useSession();
  if (session.status === "loading") return <p aria-busy="true">Loading…</p>;
  if (session.status === "signed-out") {
    const next = typeof window === "undefined" ? "/" : window.location.pathname + window.location.search;
    return (
      <p>
        <Link href={`/signin/?next=${encodeURIComponent(next)}`}>Sign in</Link> to see this page.
      </p>
    );
  }
  if (operator && !session.isOperator) return <p role="alert">This page is for operators.</p>;
  return <>{children(session.me)}</>;
}
