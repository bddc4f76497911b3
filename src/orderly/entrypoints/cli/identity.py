"""`orderly users`, `orderly accounts` and `orderly keys`: operators, B2B accounts and the
token signing keys."""

from typing import Annotated

import typer

from orderly.entrypoints.cli import deployment
from orderly.entrypoints.cli.terminal import console, fail

users_app = typer.Typer(help="Users.", no_args_is_help=True)
accounts_app = typer.Typer(help="B2B pharmacy accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)


@users_app.command("create-operator")
def users_create_operator(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="The password.")],
) -> None:
    """Create an operator, or make an existing user one with this password (safe to repeat)."""
    from orderly.identity.passwords import passwords_for
    from orderly.identity.users import create_operator
    from orderly.kernel.errors import OrderlyError

    settings = deployment.of_context("identity", "users")
    hashing = passwords_for(settings)  # as the servers hash
    try:
        created = deployment.run(
            settings, lambda dbs: create_operator(dbs["identity"], hashing, email, password)
        )
    except OrderlyError as error:
        raise fail(error.detail) from None
    console.print(f"operator {email} {'created' if created else 'updated'}")


@accounts_app.command("create")
def accounts_create(
    account_id: Annotated[str, typer.Option("--id", help="Account number, like PH-45678.")],
    name: Annotated[str, typer.Option(help="The pharmacy's name.")],
    dea: Annotated[str, typer.Option(help="DEA registration number (check digit verified).")],
    dea_expires: Annotated[str, typer.Option(help="DEA registration expiry, YYYY-MM-DD.")],
    state_licence: Annotated[str, typer.Option(help="State pharmacy licence.")],
    admin_email: Annotated[str, typer.Option(help="E-mail of the account admin.")],
    admin_password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The account admin's password.")
    ],
    segment: Annotated[str, typer.Option(help="independent, chain, hospital, ...")] = "independent",
    dea_schedules: Annotated[str, typer.Option(help="Comma-separated, e.g. 2,2N,3,3N,4,5.")] = "",
    id_340b: Annotated[
        str | None, typer.Option("--340b-id", help="340B covered-entity ID.")
    ] = None,
    schedule_ii: Annotated[bool, typer.Option(help="May order Schedule II (CSOS).")] = False,
    registered_address: Annotated[
        str | None,
        typer.Option(
            help='The registered location, JSON: {"line1", "city", "state", "postal_code",'
            ' "country"}.'
        ),
    ] = None,
    licence_state: Annotated[
        str | None, typer.Option(help="The state licence's state, e.g. PA.")
    ] = None,
    licence_expires: Annotated[
        str | None, typer.Option(help="The state licence's expiry, YYYY-MM-DD.")
    ] = None,
) -> None:
    """Create a B2B account with its DEA data and an account admin (safe to repeat)."""
    import json

    from orderly.identity.accounts import NewAccount, create_account
    from orderly.identity.passwords import passwords_for
    from orderly.kernel.errors import OrderlyError

    settings = deployment.of_context("identity", "accounts")
    address = None
    if registered_address is not None:
        try:
            address = json.loads(registered_address)
        except ValueError:
            raise fail("--registered-address is a JSON object") from None
        if not isinstance(address, dict):
            raise fail("--registered-address is a JSON object")
    new = NewAccount(
        account_id=account_id,
        name=name,
        segment=segment,
        dea_number=dea,
        dea_schedules=[s.strip() for s in dea_schedules.split(",") if s.strip()],
        dea_expires_on=dea_expires,
        state_licence=state_licence,
        id_340b=id_340b,
        can_order_schedule_ii=schedule_ii,
        admin_email=admin_email,
        admin_password=admin_password,
        registered_address=address,
        licence_state=licence_state,
        licence_expires_on=licence_expires,
    )
    try:
        hashing = passwords_for(settings)  # as the servers hash
        created = deployment.run(
            settings, lambda dbs: create_account(dbs["identity"], hashing, new)
        )
    except (OrderlyError, ValueError) as error:
        raise fail(str(getattr(error, "detail", error))) from None
    console.print(f"account {account_id} {'created' if created else 'already exists'}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a new key; tokens signed before stay valid until they expire."""
    from orderly.identity.tokens import KeyRing

    settings = deployment.of_context("identity", "keys")
    kid = deployment.run(settings, lambda dbs: KeyRing(dbs["identity"]).rotate())
    console.print(f"signing with key {kid}; servers pick it up within seconds")
