import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one intra-op thread is faster (and avoids spinning threads on a busy 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
