"""Identity rules: e-mail addresses, client addresses, password policy, roles, an account's
registration and CSOS certificate."""

import ipaddress
import re
from datetime import date, datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from orderly.kernel.errors import Unprocessable

MIN_PASSWORD = 10
MAX_PASSWORD = 1024

# The most common passwords in public breach corpora, at or above the minimum length.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abcdefghij",
        "asdfghjkl1",
        "iloveyou12",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "qwerty1234",
        "qwertyuiop",
        "qwertyuiop1",
        "qwerty12345",
        "zaq12wsxcv",
        "0987654321",
        "1111111111",
        "0000000000",
        "1234qwerasdf",
        "letmein123",
        "welcome123",
        "changeme123",
        "administrator",
        "football123",
        "baseball123",
        "princess123",
        "sunshine123",
        "superman123",
        "trustno1234",
        "monkey12345",
        "dragon12345",
        "master12345",
        "starwars123",
    }
)


class Role(StrEnum):
    CUSTOMER = "customer"
    BUYER = "buyer"
    APPROVER = "approver"
    ACCOUNT_ADMIN = "account_admin"
    OPERATOR = "operator"


class WeakPassword(Unprocessable):
    code = "weak_password"
    title = "Password does not meet the policy"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def client_key(host: str) -> str:
    """The address that throttling counts by: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber holds a whole /64 (and privacy extensions rotate addresses within
    it), so counting single IPv6 addresses would let one attacker escape every limit."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "-"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


def seconds_until(oldest: datetime | str, window: timedelta, now: datetime) -> int:
    """Whole seconds (at least 1) until the oldest counted attempt leaves the window."""
    if isinstance(oldest, str):  # SQLite does not type aggregates
        oldest = datetime.fromisoformat(oldest)
    return max(1, int((oldest + window - now).total_seconds()) + 1)


def check_password(password: str, *, email: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password may have at most {MAX_PASSWORD} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword("this password is too common or too simple")
    local = normalise_email(email).split("@", 1)[0]
    if len(local) >= 4 and local in lowered:
        raise WeakPassword("a password may not contain the e-mail address")


class Segment(StrEnum):
    INDEPENDENT = "independent"
    CHAIN = "chain"
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    LONG_TERM_CARE = "long_term_care"


DEA_SCHEDULES = frozenset({"2", "2N", "3", "3N", "4", "5"})
_DEA_SHAPE = re.compile(r"^[A-Z][A-Z9]\d{7}$")
_ACCOUNT_SHAPE = re.compile(r"^PH-\d{5}$")


class InvalidAccount(Unprocessable):
    code = "invalid_account"
    title = "Account data is not valid"


def dea_number_valid(number: str) -> bool:
    """Shape and check digit: (d1+d3+d5) + 2*(d2+d4+d6) ends in d7. Not proof of registration."""
    if not _DEA_SHAPE.match(number):
        return False
    d = [int(c) for c in number[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def check_account(account_id: str, dea_number: str, schedules: list[str], expires_on: str) -> None:
    if not _ACCOUNT_SHAPE.match(account_id):
        raise InvalidAccount("an account id looks like PH-45678")
    if not dea_number_valid(dea_number):
        raise InvalidAccount(f"{dea_number!r} is not a valid DEA registration number")
    unknown = sorted(set(schedules) - DEA_SCHEDULES)
    if unknown:
        raise InvalidAccount(f"unknown DEA schedules: {', '.join(unknown)}")
    try:
        date.fromisoformat(expires_on)
    except ValueError:
        raise InvalidAccount("the DEA expiry is a date, YYYY-MM-DD") from None


def dea_active(expires_on: str, today: date) -> bool:
    return date.fromisoformat(expires_on) >= today


# US states, DC and the territories a state licence may be issued in (USPS codes).
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV"
    " NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI"
)
US_STATES = frozenset(_STATE_CODES.split())
_ADDRESS_FIELDS = ("line1", "city", "state", "postal_code", "country")
_ADDRESS_OPTIONAL = ("name", "line2")


def check_state(state: str) -> str:
    if state not in US_STATES:
        raise InvalidAccount(f"{state!r} is not a US state code (two capital letters, e.g. PA)")
    return state


def check_date(value: str, what: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise InvalidAccount(f"{what} is a date, YYYY-MM-DD") from None
    return value


def check_registered_address(address: dict[str, str]) -> dict[str, str]:
    """The registered location names its street, city, state, postal code and country (and
    may name a recipient and a second line): text, nothing else."""
    unknown = sorted(set(address) - set(_ADDRESS_FIELDS) - set(_ADDRESS_OPTIONAL))
    if unknown or not all(isinstance(value, str) for value in address.values()):
        allowed = ", ".join(_ADDRESS_FIELDS + _ADDRESS_OPTIONAL)
        raise InvalidAccount(f"a registered address has text fields only, of: {allowed}")
    missing = [name for name in _ADDRESS_FIELDS if not str(address.get(name) or "").strip()]
    if missing:
        raise InvalidAccount(f"the registered address needs {', '.join(missing)}")
    return address


class InvalidCertificate(Unprocessable):
    code = "invalid_certificate"
    title = "Not a CSOS signing certificate"


def check_csos_certificate(pem: str) -> str:
    """A PEM X.509 certificate whose public key is EC P-256, as CSOS signing keys are
    (signatures are checked with it: ECDSA P-256 / SHA-256)."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.strip().encode())
        key = certificate.public_key()
    except ValueError:
        raise InvalidCertificate("the certificate is not a PEM X.509 certificate") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidCertificate("a CSOS certificate's public key is EC P-256") from None
    return pem.strip() + "\n"
