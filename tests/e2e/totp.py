"""TOTP codes for tests: each time step is used once, as the server insists."""

import time

import pyotp

STEP = 30


class Authenticator:
    """The app on a user's phone, minding which codes it has already given away."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.used: set[int] = set()

    def code(self) -> str:
        """A code the server accepts now: this step's, else the next, else the last one's."""
        now = time.time()
        for offset in (0, 1, -1):
            step = int((now + offset * STEP) // STEP)
            if step not in self.used:
                self.used.add(step)
                return self.totp.at(step * STEP)
        raise AssertionError("three codes in one step: wait for the next one")
