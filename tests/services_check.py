"""Says whether PostgreSQL and RabbitMQ are up; with CI=true their absence fails the run."""

import os
import sys

from tests.services import broker_up, postgres_up


def main() -> int:
    checks = (("PostgreSQL", postgres_up()), ("RabbitMQ", broker_up()))
    missing = " and ".join(name for name, up in checks if not up)
    if not missing:
        print("services: PostgreSQL and RabbitMQ are up; running embedded and distributed suites")
        return 0
    if os.environ.get("CI", "").lower() == "true":
        print(f"services: {missing} down on 127.0.0.1, and CI=true requires them")
        return 1
    print(f"services: {missing} down on 127.0.0.1; running the embedded suite only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
