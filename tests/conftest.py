import numpy as np
import pytest
import torch

from equinet import groups

torch.set_default_dtype(torch.float32)

FINITE = [groups.cyclic(1), groups.cyclic(2), groups.cyclic(3), groups.cyclic(4), groups.cyclic(8),
          groups.dihedral(1), groups.dihedral(2), groups.dihedral(4), groups.dihedral(6)]
CONTINUOUS = [groups.so2(4), groups.o2(4)]


def ids(gs):
    return [repr(g) for g in gs]


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Run every test module single-threaded (restored afterwards). The tests apply torch to tiny tensors many
    times; there the intra-op thread pool only adds hand-offs, and on a shared machine its spinning threads slow
    the suite down by an order of magnitude. The library itself never changes the thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
