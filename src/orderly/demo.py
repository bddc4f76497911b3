"""Demo data: a small catalog to try the flows with. Loading twice changes nothing."""

import contextlib
from decimal import Decimal

from orderly.catalog.service import NewProduct, SkuTaken, create_product
from orderly.identity.passwords import Passwords
from orderly.storage import Database, Tx

PRODUCTS = (
    NewProduct(
        "Amoxicillin 500 mg capsules, 100 ct",
        "AMOX-500-100",
        Decimal("42.30"),
        "Antibiotic, bottle of 100",
        850,
    ),
    NewProduct(
        "Ibuprofen 200 mg tablets, 500 ct",
        "IBU-200-500",
        Decimal("18.75"),
        "Analgesic, bottle of 500",
        1200,
    ),
    NewProduct(
        "Nitrile exam gloves, M, 100 ct", "GLOVE-NIT-M", Decimal("9.99"), "Powder-free", 400
    ),
    NewProduct("Digital thermometer", "THERMO-DIG", Decimal("12.50"), "Oral/axillary", 150),
    NewProduct("Saline nasal spray 45 mL", "SALINE-45", Decimal("4.25"), "Sterile isotonic", 50),
    NewProduct("Pulse oximeter", "OXI-FINGER", Decimal("29.00"), "Fingertip", 0),
    # drugs with their real NDCs (the pharma rules' examples): search them by any NDC form
    NewProduct(
        "Loxapine 10 mg capsules",
        "LOX-10-100",
        Decimal("61.20"),
        "Loxapine succinate",
        300,
        ndc="0591-0369-01",
        strength="10 mg",
        dosage_form="CAPSULE",
        pack_size="100 CAPSULE in 1 BOTTLE",
        manufacturer="Actavis Pharma",
    ),
    NewProduct(
        "Levothyroxine sodium 50 mcg tablets",
        "LEVO-50-30",
        Decimal("14.80"),
        "Thyroid hormone",
        500,
        ndc="51655-089-52",
        strength="50 ug",
        dosage_form="TABLET",
        pack_size="30 TABLET in 1 BOTTLE, DISPENSING",
        manufacturer="Northwind Pharmaceuticals",
    ),
    NewProduct(
        "Simvastatin 20 mg tablets",
        "SIMVA-20-30",
        Decimal("7.45"),
        "HMG-CoA reductase inhibitor",
        640,
        ndc="68788-9868-3",
        strength="20 mg",
        dosage_form="TABLET, FILM COATED",
        pack_size="30 TABLET in 1 BOTTLE",
        manufacturer="Preferred Pharmaceuticals",
    ),
    NewProduct(
        "Oxycodone HCl 5 mg/5 mL oral solution",
        "OXY-5-15",
        Decimal("38.90"),
        "Opioid analgesic; Schedule II",
        24,
        ndc="0054-0390-41",
        strength="5 mg/5mL",
        dosage_form="SOLUTION",
        dea_schedule="CII",
        pack_size="15 mL in 1 BOTTLE",
        manufacturer="Hikma Pharmaceuticals",
    ),
)


DEMO_PASSWORD = "orderly-demo-2026"
DEMO_OPERATOR = "operator@orderly.example"
DEMO_CUSTOMER = "customer@orderly.example"
DEMO_PHARMACY = "PH-45678"
DEMO_PHARMACIST = "pharmacist@orderly.example"
# the demo pharmacy's DEA-registered address, the only one its controlled substances ship to
DEMO_PHARMACY_ADDRESS = {
    "line1": "100 Main Street",
    "city": "Harrisburg",
    "state": "PA",
    "postal_code": "17101",
    "country": "US",
}


async def load_demo_users(identity: Database, passwords: Passwords) -> None:
    """An operator and a B2C customer, both with DEMO_PASSWORD."""
    from orderly.identity.domain import Role
    from orderly.identity.users import EmailTaken, Registration, create_operator, register_user

    await create_operator(identity, passwords, DEMO_OPERATOR, DEMO_PASSWORD)
    with contextlib.suppress(EmailTaken):
        await register_user(
            identity,
            passwords,
            Registration(DEMO_CUSTOMER, DEMO_PASSWORD, "Casey", "Customer", (Role.CUSTOMER,)),
        )


async def load_demo_pharmacy(identity: Database, passwords: Passwords) -> None:
    """A B2B pharmacy whose admin (and buyer) has a second factor already in force.

    Its TOTP secret is made here, at random, and kept only in the identity database:
    `orderly demo mfa-code` prints the current code, or the provisioning URI for an app."""
    from orderly.identity import mfa
    from orderly.identity.accounts import NewAccount, create_account

    await create_account(
        identity,
        passwords,
        NewAccount(
            account_id=DEMO_PHARMACY,
            name="Main Street Pharmacy",
            segment="independent",
            dea_number="AP5836727",
            dea_schedules=["2", "2N", "3", "3N", "4", "5"],
            dea_expires_on="2028-06-30",
            state_licence="PA-RP-001234",
            id_340b=None,
            can_order_schedule_ii=True,
            admin_email=DEMO_PHARMACIST,
            admin_password=DEMO_PASSWORD,
            registered_address=dict(DEMO_PHARMACY_ADDRESS),
            licence_state="PA",
            licence_expires_on="2028-06-30",
        ),
    )
    await mfa.seed(identity, DEMO_PHARMACIST)


DEMO_CONTRACT = "demo-main-street-2026"
# The pharmacy's own contract: what it pays instead of WAC, by SKU (and minimum quantity).
DEMO_CONTRACT_PRICES = (
    ("LOX-10-100", 1, "45.00"),
    ("AMOX-500-100", 1, "39.80"),
    ("AMOX-500-100", 100, "36.90"),
)


async def load_demo_contract(catalog: Database, pricing: Database) -> bool:
    """The demo pharmacy's contract (account PH-45678); False if it was there already."""
    from datetime import date

    from orderly.catalog import store
    from orderly.pricing.contracts import (
        ContractLine,
        ContractNotFound,
        NewContract,
        create_contract,
        get_contract,
    )
    from orderly.pricing.domain import ContractKind

    try:
        await get_contract(pricing, DEMO_CONTRACT)
        return False
    except ContractNotFound:
        pass

    async def ids(tx: Tx) -> dict[str, str]:
        found = {}
        for sku, _, _ in DEMO_CONTRACT_PRICES:
            row = await tx.fetch_one(store.BY_SKU, {"sku": sku})
            assert row is not None, f"the demo catalog has {sku}"
            found[sku] = str(row["id"])
        return found

    product_ids = await catalog.read(ids)
    lines = [
        ContractLine(product_ids[sku], Decimal(price), minimum)
        for sku, minimum, price in DEMO_CONTRACT_PRICES
    ]
    contract = NewContract(
        name="Main Street Pharmacy 2026",
        kind=ContractKind.ACCOUNT,
        party=DEMO_PHARMACY,
        starts_on=date(2026, 1, 1),
        ends_on=None,
        lines=lines,
        id=DEMO_CONTRACT,
    )
    await create_contract(pricing, contract)
    return True


async def load_demo(catalog: Database) -> tuple[int, int]:
    """(created, already there)."""
    created = existing = 0
    for product in PRODUCTS:
        try:
            await create_product(catalog, product)
            created += 1
        except SkuTaken:
            existing += 1
    return created, existing
