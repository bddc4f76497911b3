"use client";
// Signing in (seed 000 and 002): a password; then, for pharmacy users, a TOTP code, or a
// first-time enrolment of an authenticator app from a QR code.
import { useRouter, useSearchParams } from "next/navigation";
import QRCode from "qrcode";
import { Suspense, useEffect, useState } from "react";

import { ProblemAlert } from "@/components/ProblemAlert";
import { rest } from "@/lib/api";
import { saveTokens } from "@/lib/tokens";

type Tokens = { token: string; refreshToken: string; expiresIn: number };
type LoginAnswer =
  | Tokens
  | { mfaRequired: true; mfaToken: string }
  | { mfaEnrolmentRequired: true; token: string; expiresIn: number };
type Enrolment = { secret: string; provisioningUri: string };
type Activated = { enabled: boolean; recoveryCodes: string[] } & Partial<Tokens>;

type Step =
  | { name: "password" }
  | { name: "code"; mfaToken: string }
  | { name: "enrol"; token: string }
  | { name: "recovery"; codes: string[]; tokens: Tokens };

/** Only a path of this app: `next` must not send the user to another site. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function SignIn() {
  const router = useRouter();
  const next = safeNext(useSearchParams().get("next"));
  const [step, setStep] = useState<Step>({ name: "password" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  function done(tokens: Tokens) {
    saveTokens(tokens);
    router.push(next);
  }

  async function attempt(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (refusal) {
      setError(refusal);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="panel stack">
      <h1>Sign in</h1>
      <ProblemAlert error={error} />
      {step.name === "password" && (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            const form = new FormData(event.currentTarget);
            void attempt(async () => {
              const answer = await rest<LoginAnswer>("POST", "/api/v1/auth/login", {
                email: form.get("email"),
                password: form.get("password"),
              });
              if ("mfaRequired" in answer) setStep({ name: "code", mfaToken: answer.mfaToken });
              else if ("mfaEnrolmentRequired" in answer) setStep({ name: "enrol", token: answer.token });
              else done(answer);
            });
          }}
        >
          <label>
            E-mail
            <input name="email" type="email" autoComplete="username" required autoFocus />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      {step.name === "code" && (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            const code = new FormData(event.currentTarget).get("code");
            void attempt(async () =>
              done(await rest<Tokens>("POST", "/api/v1/auth/mfa/verify", { mfaToken: step.mfaToken, code })),
            );
          }}
        >
          <p>Enter the six-digit code from your authenticator app, or a recovery code.</p>
          <label>
            Code
            <input name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus />
          </label>
          <button type="submit" disabled={busy}>
            Verify
          </button>
        </form>
      )}
      {step.name === "enrol" && (
        <Enrol
          token={step.token}
          busy={busy}
          attempt={attempt}
          activated={(answer) => {
            if (answer.token && answer.refreshToken && answer.expiresIn !== undefined) {
              const tokens = { token: answer.token, refreshToken: answer.refreshToken, expiresIn: answer.expiresIn };
              setStep({ name: "recovery", codes: answer.recoveryCodes, tokens });
            }
          }}
        />
      )}
      {step.name === "recovery" && (
        <div className="stack">
          <p className="notice">Two-step sign-in is on. Keep these recovery codes somewhere safe: each works once.</p>
          <ul aria-label="Recovery codes">
            {step.codes.map((code) => (
              <li key={code}>
                <code>{code}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => done(step.tokens)}>
            Continue
          </button>
        </div>
      )}
    </div>
  );
}

function Enrol({
  token,
  busy,
  attempt,
  activated,
}: {
  token: string;
  busy: boolean;
  attempt: (work: () => Promise<void>) => Promise<void>;
  activated: (answer: Activated) => void;
}) {
  const [enrolment, setEnrolment] = useState<(Enrolment & { qr: string }) | null>(null);
  const auth = { authorization: `Bearer ${token}` };

  useEffect(() => {
    void attempt(async () => {
      const answer = await rest<Enrolment>("POST", "/api/v1/auth/mfa/enrol", undefined, auth);
      const qr = await QRCode.toDataURL(answer.provisioningUri, { margin: 1, width: 192 });
      setEnrolment({ ...answer, qr });
    });
    // once per enrolment token (`auth` and `attempt` are new at each render)
  }, [token]);

  if (!enrolment) return <p aria-busy="true">Preparing two-step sign-in…</p>;
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        const code = new FormData(event.currentTarget).get("code");
        void attempt(async () =>
          activated(await rest<Activated>("POST", "/api/v1/auth/mfa/activate", { code }, auth)),
        );
      }}
    >
      <p>
        Your account needs two-step sign-in. Scan this code with an authenticator app, then enter the
        code it shows.
      </p>
      <img className="qr" src={enrolment.qr} alt="QR code to add Orderly to an authenticator app" />
      <p>
        Or type this key: <code data-testid="mfa-secret">{enrolment.secret}</code>
      </p>
      <label>
        Code
        <input name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus />
      </label>
      <button type="submit" disabled={busy}>
        Turn on two-step sign-in
      </button>
    </form>
  );
}

export default function SignInPage() {
  return (
    <Suspense fallback={<p aria-busy="true">Loading…</p>}>
      <SignIn />
    </Suspense>
  );
}
