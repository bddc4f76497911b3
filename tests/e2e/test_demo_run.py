"""`orderly demo run` plays every seed flow through the REST API and ends with a table of
each flow's outcome: against an Orderly of its own (fault switches on, its ERP simulator
beside it), and against a running one named by `--url`, where what it cannot switch is said,
not faked."""

from pathlib import Path

from tests.e2e.server import embedded
from tests.erp_sim import running_simulator
from tests.forkserver import orderly


def test_the_demo_plays_every_seed_on_an_orderly_of_its_own() -> None:
    played = orderly(["demo", "run"], {"COLUMNS": "250"}, timeout=240)
    assert played.returncode == 0, played.stdout + played.stderr
    table = played.stdout
    assert "failed" not in table
    assert "PENDING_SHIPMENT → DELIVERED" in table  # 001
    assert "processing; declined → cancelled; short → cancelled" in table  # 002
    assert "PLACED; declined → PAYMENT_FAILED; breaker open →" in table  # 003
    assert "placed on fallback; closed again" in table
    assert "ERP timeout → FAILED (erp_timeout), undone; replayed → CONFIRMED" in table  # 000
    assert "delivered, tracking SHP-" in table  # 004


def test_the_demo_plays_against_a_running_orderly_and_says_what_it_could_not_switch(
    tmp_path: Path,
) -> None:
    with running_simulator(tmp_path) as erp:
        # an ERP that does not answer is given up on within seconds
        quick = {"ORDERLY_ERP_URL": erp.url, "ORDERLY_ERP_TIMEOUT": "1", "ORDERLY_ERP_RETRIES": "1"}
        with embedded(tmp_path, **quick) as server:
            loaded = server.cli("demo", "load")
            assert loaded.returncode == 0, loaded.stderr
            # run where the deployment's settings are (the pharmacist's code is read there)
            played = server.cli("demo", "run", "--url", server.url, "--erp-url", erp.url)
            assert played.returncode == 0, played.stdout + played.stderr
            assert "failed" not in played.stdout
            assert "breaker not shown (the deployment has no fault switches)" in played.stdout
            assert "replayed → CONFIRMED" in played.stdout

            # only some seeds
            only = server.cli("demo", "run", "--url", server.url, "--only", "001")
            assert only.returncode == 0, only.stdout
            assert "direct order" in only.stdout
            assert "fulfillment" not in only.stdout

    # and where no Orderly answers, it says so
    nowhere = orderly(["demo", "run", "--url", "http://127.0.0.1:9"], {}, timeout=60)
    assert nowhere.returncode == 1
    assert "no Orderly answers at http://127.0.0.1:9" in nowhere.stdout + nowhere.stderr
