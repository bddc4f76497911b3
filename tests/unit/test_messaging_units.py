"""Envelope wire format, retry backoff, per-key sequencing, settings."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from orderly.config import ConfigError, load_settings, redact
from orderly.messaging.consumer import RetryPolicy
from orderly.messaging.envelope import Envelope, decode_body, encode_body, new_message
from tests.messages import Pinged


def test_the_body_on_the_wire_is_seed_001s_event_shape() -> None:
    message = Envelope(
        id="evt_shipped_123",
        type="order.status_updated",
        source="delivery-service",
        occurred_at=datetime(2024, 1, 15, 14, 30, tzinfo=UTC),
        data={
            "order_id": "550e8400-e29b-41d4-a716-446655440000",
            "previous_status": "PENDING_SHIPMENT",
            "current_status": "SHIPPED",
            "tracking_number": "TRK123456789",
            "carrier": "FedEx",
        },
        aggregate_id="550e8400-e29b-41d4-a716-446655440000",
        correlation_id="corr-1",
    )
    assert orjson.loads(encode_body(message)) == {
        "event_id": "evt_shipped_123",
        "event_type": "order.status_updated",
        "timestamp": "2024-01-15T14:30:00Z",
        "source": "delivery-service",
        "data": message.data,
    }
    assert decode_body(encode_body(message), message.headers()) == message


def test_a_caused_message_keeps_the_correlation() -> None:
    first = new_message(Pinged(n=1), source="sales-service")
    second = new_message(Pinged(n=2), source="product-service", cause=first)
    third = new_message(Pinged(n=3), source="sales-service", cause=second)
    assert first.correlation_id == first.id
    assert third.correlation_id == first.id
    assert third.causation_id == second.id


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_grows_with_jitter_and_a_ceiling(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=10)
    ceiling = min(10, 0.5 * 2 ** (attempt - 1))
    delays = {policy.delay(attempt) for _ in range(50)}
    assert all(timedelta(seconds=ceiling / 2) <= d <= timedelta(seconds=ceiling) for d in delays)
    assert len(delays) > 1


def test_settings_come_from_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "orderly.toml"
    config.write_text(
        '[orderly]\ndatabase_url = "sqlite:///data"\nport = 9000\ncontexts = ["catalog"]\n'
        'identity_url = "http://127.0.0.1:3003"\n'
    )
    settings = load_settings({"ORDERLY_CONFIG": str(config), "ORDERLY_PORT": "9100"})
    assert settings.database_url == "sqlite:///data"
    assert settings.port == 9100
    assert settings.contexts == ("catalog",)
    assert settings.embedded


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        pytest.param({"ORDERLY_DATABASE_URL": "mongodb://x"}, "unsupported scheme", id="database"),
        pytest.param({"ORDERLY_BROKER_URL": "kafka://x"}, "ORDERLY_BROKER_URL", id="broker"),
        pytest.param({"ORDERLY_CONTEXTS": "catalog,billing"}, "billing", id="context"),
        pytest.param(
            {"ORDERLY_CONTEXTS": "ordering"}, "ORDERLY_INVENTORY_URL", id="ordering-alone"
        ),
        pytest.param(
            {"ORDERLY_CONTEXTS": "ordering", "ORDERLY_INVENTORY_URL": "http://127.0.0.1:3004"},
            "ORDERLY_PRICING_URL",
            id="ordering-without-pricing",
        ),
        pytest.param(
            {
                "ORDERLY_CONTEXTS": "ordering",
                "ORDERLY_INVENTORY_URL": "http://127.0.0.1:3004",
                "ORDERLY_PRICING_URL": "http://127.0.0.1:3006",
                "ORDERLY_IDENTITY_URL": "http://127.0.0.1:3003",
                "ORDERLY_SERVICE_KEY": "short",
            },
            "ORDERLY_SERVICE_KEY",
            id="ordering-without-service-key",
        ),
        pytest.param(
            {"ORDERLY_PASSWORD_HASH_MEMORY": "1024"},
            "ORDERLY_PASSWORD_HASH_MEMORY",
            id="password-hash-too-cheap",
        ),
        pytest.param({"ORDERLY_PORT": "eighty"}, "bad setting", id="port"),
        pytest.param({"ORDERLY_CONFIG": "/no/such/file.toml"}, "no such file", id="config-file"),
        pytest.param(
            {"ORDERLY_EXTERNAL_ISSUER": "https://k.x", "ORDERLY_EXTERNAL_ALGORITHMS": "HS256"},
            "public-key algorithms only",
            id="external-hmac",
        ),
        pytest.param(
            {"ORDERLY_EXTERNAL_ISSUER": "https://k.x", "ORDERLY_EXTERNAL_ALGORITHMS": "none"},
            "public-key algorithms only",
            id="external-none",
        ),
        pytest.param({"ORDERLY_EXTERNAL_ISSUER": "kc.example"}, "http(s) URL", id="external-url"),
        pytest.param({"ORDERLY_SOFT_RESERVATION_TTL": "0"}, "SOFT_RESERVATION_TTL", id="hold-time"),
        pytest.param({"ORDERLY_SOFT_HOLD_LIMIT": "-1"}, "SOFT_HOLD_LIMIT", id="hold-limit"),
        pytest.param({"ORDERLY_SOFT_HOLD_LIMITS": "chain"}, "SOFT_HOLD_LIMITS", id="hold-limits"),
        pytest.param({"ORDERLY_SOFT_HOLD_LIMITS": "chain:x"}, "SOFT_HOLD_LIMITS", id="hold-units"),
        pytest.param({"ORDERLY_SOFT_HOLD_MAX_AGE": "0"}, "SOFT_HOLD_MAX_AGE", id="hold-age"),
        pytest.param(
            {"ORDERLY_EXTERNAL_ISSUER": "https://kc.example", "ORDERLY_EXTERNAL_ROLE_MAP": "admin"},
            "ORDERLY_EXTERNAL_ROLE_MAP",
            id="external-role-map",
        ),
    ],
)
def test_bad_settings_are_refused_in_one_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert fragment in str(refused.value)
    assert "\n" not in str(refused.value)


def test_redact_hides_passwords() -> None:
    assert redact("amqp://guest:hunter2@host:5672/") == "amqp://guest:***@host:5672/"
    assert redact("postgresql://postgres@127.0.0.1/db") == "postgresql://postgres@127.0.0.1/db"


def test_message_ids_are_unique_and_roughly_time_ordered() -> None:
    from orderly.kernel.ids import new_event_id

    ids = [new_event_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 36 and i.startswith("evt_") for i in ids)
    assert ids[0][4:16] <= ids[-1][4:16]


def test_entity_ids_are_random_version_4_uuids_and_a_forked_child_draws_its_own() -> None:
    import os
    import uuid

    from orderly.kernel.ids import new_id

    ids = [new_id() for _ in range(20_000)]  # several refills of the pool
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(i) for i in ids]
    assert all(str(u) == i for u, i in zip(parsed, ids, strict=True))
    assert {(u.version, u.variant) for u in parsed} == {(4, uuid.RFC_4122)}
    new_id()  # the pool holds bytes a child must not reuse
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's ids come back through the pipe
        os.write(write, ",".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split(",")
    ours = [new_id() for _ in range(10)]
    assert len(theirs) == 10
    assert not set(theirs) & set(ours)
