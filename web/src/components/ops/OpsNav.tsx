"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";

const PAGES = [
  { href: "/ops/", name: "Orders" },
  { href: "/ops/holds/", name: "Compliance holds" },
  { href: "/ops/approvals/", name: "Approvals" },
  { href: "/ops/dead-letters/", name: "Dead letters" },
  { href: "/ops/warehouse/", name: "Waves and picks" },
  { href: "/ops/packing/", name: "Packing" },
  { href: "/ops/shipments/", name: "Shipments" },
  { href: "/ops/live/", name: "Live figures" },
];

/** The operator console's own menu. */
export function OpsNav() {
  const path = usePathname();
  const normalised = path.endsWith("/") ? path : `${path}/`;
  return (
    <nav aria-label="Operations" className="ops-nav">
      {PAGES.map((page) => (
        <Link key={page.href} href={page.href} aria-current={normalised === page.href ? "page" : undefined}>
          {page.name}
        </Link>
      ))}
    </nav>
  );
}
