import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="session")
def expected():
    return json.loads((REFERENCE / "expected.json").read_text())["cases"]


@pytest.fixture(scope="session")
def spector():
    return pd.read_csv(REFERENCE / "spector.csv", sep=r"\s+", quotechar="'")


@pytest.fixture(scope="session")
def anes96():
    frame = pd.read_csv(REFERENCE / "anes96.csv", sep="\t", quotechar="'")
    frame["logpopul"] = np.log(frame["popul"] + 0.1)
    return frame


@pytest.fixture(scope="session")
def ucla():
    frame = pd.read_csv(REFERENCE / "ologit_ucla.csv")
    order = ["unlikely", "somewhat likely", "very likely"]
    frame["apply"] = pd.Categorical(frame["apply"], categories=order, ordered=True)
    return frame


@pytest.fixture(scope="module")
def dask_client():
    """A distributed Client on a LocalCluster of 2 worker processes, 1 thread each, shared
    by the Dask tests of a module (the active scheduler while it lives). Per module, not
    per session: the client's threads allocate in the background, which tests that trace
    this process's memory (tests/test_ordinal_fit.py) would count."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def pytest_collection_modifyitems(items):
    """Tests on the session's Dask cluster run last: its scheduler's thread allocates
    while the cluster lives, which the tracemalloc peaks of the memory tests (e.g.
    test_ordinal_fit's a quarter of X) would count. The out-of-core test (minutes, its
    own cluster) runs after them."""
    items.sort(key=lambda item: ("dask_client" in getattr(item, "fixturenames", ()) or
                                 item.module.__name__.endswith("test_dask_out_of_core"),
                                 item.module.__name__.endswith("test_dask_out_of_core")))
