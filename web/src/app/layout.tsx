import type { Metadata, Viewport } from "next";

import { Header } from "@/components/Header";
import { SessionProvider } from "@/lib/session";

import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Orderly", template: "%s · Orderly" },
  description: "Order, track and fulfil: pharmacy and shop orders with Orderly",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <SessionProvider>
          <Header />
          <main id="main" tabIndex={-1}>
            {children}
          </main>
        </SessionProvider>
      </body>
    </html>
  );
}
