"""Claim tests run on one thread: their tensors are tiny, so one thread is the fastest,
and two threads sharing a busy machine slow some (Muon's bfloat16 products) badly."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
