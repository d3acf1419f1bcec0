"""Run the physics tests single-threaded.

The tests apply operators to tiny images thousands of times (power iteration, gradcheck); for such small
tensors torch's intra-op thread pool only adds synchronisation, and on a shared, oversubscribed machine its
spinning threads slow these tests down by an order of magnitude. The library itself is not affected.
"""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
