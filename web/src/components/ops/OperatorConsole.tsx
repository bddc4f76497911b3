"use client";
import { OpsNav } from "@/components/ops/OpsNav";
import { SignedIn } from "@/components/SignedIn";

/** The console's frame: its menu and page, for operators only. Anyone else sees neither, and
 * none of the console's data is asked for on their behalf. */
export function OperatorConsole({ children }: { children: React.ReactNode }) {
  return (
    <SignedIn operator>
      {() => (
        <div className="ops">
          <OpsNav />
          {children}
        </div>
      )}
    </SignedIn>
  );
}
