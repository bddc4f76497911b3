import type { Metadata } from "next";

import { OperatorConsole } from "@/components/ops/OperatorConsole";

export const metadata: Metadata = { title: "Operations" };

export default function OpsLayout({ children }: { children: React.ReactNode }) {
  return <OperatorConsole>{children}</OperatorConsole>;
}
