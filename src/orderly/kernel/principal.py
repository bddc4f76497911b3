"""Who is calling: the identity every authorisation rule is written against."""

from dataclasses import dataclass, field

OPERATOR = "operator"
BUYER = "buyer"


@dataclass(frozen=True)
class Principal:
    """From a verified access token and a live session."""

    user_id: str
    session_id: str
    roles: tuple[str, ...]
    account: str | None = None
    # The account's segment as the token says it: a hint, good enough to size a cart's holds.
    segment: str | None = None
    # A B2B user who has not yet set up a second factor holds a token good for that alone.
    enrolment_only: bool = False
    # When the token expires (seconds since the epoch): nothing may cache the caller longer.
    expires_at: int = 0
    # The bearer token itself, to call other services on the caller's behalf; never printed.
    token: str = field(default="", repr=False, compare=False)

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    def may_see(self, owner_id: str | None, account_id: str | None) -> bool:
        """Its own resources, its account's, or, for an operator, everything."""
        if self.is_operator or owner_id == self.user_id:
            return True
        return self.account is not None and account_id == self.account
