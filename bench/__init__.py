"""`make bench`: each figure beside a peer and the raw limit measured in the same run."""

import os

# Measured processes start as an operator starts them, each in an interpreter of its own, not
# forked from the tests' fork server (whose children all show its command line).
os.environ.setdefault("ORDERLY_TEST_FORK", "0")
