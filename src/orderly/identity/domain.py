"""Identity rules: e-mail addresses, password policy, roles."""

from enum import StrEnum

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
