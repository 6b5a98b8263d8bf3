import time

import pytest

from cluster import Cluster


@pytest.fixture(scope="session")
def cluster():
    started = time.monotonic()
    c = Cluster()
    c.bring_up()
    print(f"\ncluster up in {time.monotonic() - started:.1f}s")
    return c
