"""Request field types whose JSON Schema says exactly what their validation accepts."""

from decimal import Decimal
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, WithJsonSchema

# For text that models strip of surrounding blanks: something else must be left. The blanks
# are Unicode's White_Space, which the models strip; written out, as regex engines differ on
# what `\s` covers.
NOT_BLANK = r"[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _whole(value: object) -> object:
    # JSON Schema's integer includes 2.0 (a number with no fraction): that is 2. Strings,
    # booleans and 2.5 are still refused by the strict integer validation that follows.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A count in a body: an integer as JSON Schema means it, and nothing it calls otherwise
# (no "5", no true).
Whole = Annotated[int, BeforeValidator(_whole), Field(strict=True)]

# One id of a batch read's query (`?id=A&id=B`), no longer than the routes take one.
QueryId = Annotated[str, Field(max_length=64)]

MAX_PRICE = Decimal("1000000000")

# A price: at most a billion, in cents; as a JSON number or a decimal string.
Price = Annotated[
    Decimal,
    Field(ge=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1_000_000_000, "multipleOf": 0.01},
                {"type": "string", "pattern": r"^([0-9]{1,9}(\.[0-9]{1,2})?|1000000000(\.00?)?)$"},
            ]
        }
    ),
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# An e-mail address as `format: email` means it, but not at a special-use domain (`.test`,
# `.local`, ...): the validator refuses those, and the document says so.
Email = Annotated[
    EmailStr,
    Field(
        json_schema_extra={
            "not": {
                "pattern": rf"\.({'|'.join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)})$"
            }
        }
    ),
]


class PostalAddress(BaseModel):
    """Where to ship or bill: the fields every address in a body has."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="", max_length=200)
    line1: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, pattern=NOT_BLANK, max_length=100)
    state: str = Field(default="", max_length=100)
    postal_code: str = Field(min_length=1, pattern=NOT_BLANK, max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")
