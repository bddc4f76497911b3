"""CSOS signing for tests and clients: a purchaser's P-256 key with a self-signed X.509
certificate valid for given dates, and a Schedule II order signed with it."""

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from orderly.compliance.domain import Lineish, csos_payload


@dataclass(frozen=True)
class Purchaser:
    key: ec.EllipticCurvePrivateKey
    certificate_pem: str

    def sign(self, order_number: str, dea_number: str, lines: Iterable[Lineish]) -> str:
        """The base64 DER ECDSA (SHA-256) signature of the order."""
        payload = csos_payload(order_number, dea_number, lines)
        return base64.b64encode(self.key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def purchaser(
    valid_from: date | None = None, valid_to: date | None = None, name: str = "Test Pharmacy"
) -> Purchaser:
    """A new key and its certificate, valid from `valid_from` (a year ago) to `valid_to`
    (in a year), both whole days."""
    today = datetime.now(UTC).date()
    start = valid_from or today - timedelta(days=365)
    end = valid_to or today + timedelta(days=365)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.combine(start, time.min, UTC))
        .not_valid_after(datetime.combine(end, time.max, UTC))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return Purchaser(key, pem)
