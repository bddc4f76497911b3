"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";

import { useSession } from "@/lib/session";

export function Header() {
  const session = useSession();
  const router = useRouter();
  const path = usePathname();
  const current = (href: string) => (path === href ? "page" : undefined);

  async function signOut() {
    await session.signOut();
    router.push("/signin/");
  }

  return (
    <header className="site-header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand">
        Orderly
      </Link>
      <nav aria-label="Main">
        <Link href="/" aria-current={current("/")}>
          Products
        </Link>
        {session.status === "signed-in" && (
          <>
            <Link href="/cart/" aria-current={current("/cart/")}>
              Cart
            </Link>
            <Link href="/orders/" aria-current={current("/orders/")}>
              Orders
            </Link>
            {session.isOperator && (
              <Link href="/ops/" aria-current={path.startsWith("/ops") ? "page" : undefined}>
                Operations
              </Link>
            )}
          </>
        )}
      </nav>
      <div className="who">
        {session.status === "signed-in" ? (
          <>
            <span className="who-name" data-testid="signed-in-as">
              {session.me.email}
              {session.me.accountId ? ` · ${session.me.accountId}` : ""}
            </span>
            <button type="button" className="link-button" onClick={() => void signOut()}>
              Sign out
            </button>
          </>
        ) : session.status === "signed-out" ? (
          <Link href="/signin/">Sign in</Link>
        ) : null}
      </div>
    </header>
  );
}
