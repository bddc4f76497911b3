"""Says whether PostgreSQL and RabbitMQ are up; with CI=true their absence fails the run."""

import os
import sys

from tests.services import broker_up, postgres_up


def main() -> int:
    missing = [name for name, up in (("PostgreSQL", postgres_up()), ("RabbitMQ", broker_up())) if not up]
    if not missing:
        print("services: PostgreSQL and RabbitMQ are up; running the embedded and distributed suites")
        return 0
    if os.environ.get("CI", "").lower() == "true":
        print(f"services: {' and '.join(missing)} not reachable on 127.0.0.1, and CI=true requires them")
        return 1
    print(f"services: {' and '.join(missing)} not reachable on 127.0.0.1; running the embedded suite only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
