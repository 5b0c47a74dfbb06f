"""tinygrad_rnn.distributed in one process: the "local" backend (a world of one), DDP's
bookkeeping, the batch split, object transport, timeouts and the launch helpers."""

import pickle
import time

import numpy as np
import pytest
from ddp_program import Classifier, synthetic, train_run

import tinygrad_rnn as tg
import tinygrad_rnn.distributed as dist
from tinygrad_rnn import F, nn
from tinygrad_rnn.data import Batches
from tinygrad_rnn.distributed import launch, objects
from tinygrad_rnn.distributed.collective import wait_until


@pytest.fixture
def local_group():
    dist.init_process_group("local")
    yield
    dist.destroy_process_group()


def test_pytorch_names_on_a_world_of_one(local_group):
    assert dist.is_initialized() and dist.get_backend() == "local"
    assert (dist.get_rank(), dist.get_world_size(), dist.get_node_local_rank()) == (0, 1, 0)
    x = tg.tensor([1.0, -2.0])
    for op in dist.ReduceOp:
        dist.all_reduce(x, op)
    work = dist.broadcast(x, src=0, async_op=True)
    assert work.wait() and work.is_completed()
    dist.barrier()
    np.testing.assert_array_equal(x.detach().cpu().numpy(), [1.0, -2.0])
    items = [{"a": np.arange(3)}, tg.ones(2, requires_grad=True)]
    dist.broadcast_object_list(items)
    gathered = [None]
    dist.all_gather_object(gathered, ("rank", 0))
    assert gathered == [("rank", 0)] and items[1].requires_grad
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group("local")
    with pytest.raises(ValueError, match="src=1"):
        dist.broadcast(x, src=1)
    with pytest.raises(NotImplementedError, match="group=None"):
        dist.barrier(group="other")


def test_uninitialised_and_unknown_backends_are_clear_errors():
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="unknown backend 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="world_size=2"):
        dist.init_process_group("local", world_size=2)
    assert not dist.is_initialized()


def test_nn_parallel_names_the_same_class():
    from tinygrad_rnn.nn.parallel import DistributedDataParallel

    assert DistributedDataParallel is dist.DistributedDataParallel


@pytest.mark.parametrize("use_jit", [False, True])
def test_ddp_over_one_rank_trains_exactly_as_one_process(local_group, use_jit):
    ranks = train_run("basic", True, use_jit=use_jit, epochs=1)
    for a, b in zip(ranks, train_run("basic", False, epochs=1)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4, generator=0, dtype=tg.float64)
        self.left = nn.Linear(4, 2, generator=1, dtype=tg.float64)
        self.right = nn.Linear(4, 2, generator=2, dtype=tg.float64)

    def forward(self, x, head="left"):
        return getattr(self, head)(self.body(x))


def test_a_parameter_no_rank_used_keeps_no_gradient(local_group):
    model = TwoHeads()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-5)  # one bucket each
    x = tg.randn(5, 3, generator=3, dtype=tg.float64)
    ddp(x).sum().backward()
    assert model.right.weight.grad is None and model.left.weight.grad is not None
    expected = model.body.weight.grad.detach().cpu().numpy().copy()
    model.zero_grad()
    model(x).sum().backward()  # the module called directly: DDP's hooks stay idle
    np.testing.assert_array_equal(model.body.weight.grad.detach().cpu().numpy(), expected)


def test_an_output_left_out_of_the_loss_is_reported_at_the_next_forward(local_group):
    class Both(TwoHeads):
        def forward(self, x):
            hidden = self.body(x)
            return self.left(hidden), self.right(hidden)

    ddp = dist.DistributedDataParallel(Both(), bucket_cap_mb=1e-5)
    x = tg.randn(5, 3, generator=3, dtype=tg.float64)
    left, _ = ddp(x)
    left.sum().backward()  # right's weights are still awaited: nothing can finish
    with pytest.raises(RuntimeError, match=r"did not reach parameters.*right\.weight"):
        ddp(x)


def test_no_sync_accumulates_and_the_next_backward_averages_the_total(local_group):
    model = TwoHeads()
    ddp = dist.DistributedDataParallel(model)
    x = tg.randn(4, 3, generator=3, dtype=tg.float64)
    with ddp.no_sync():
        ddp(x).sum().backward()
    assert ddp._iteration is None
    ddp(x).sum().backward()
    once = TwoHeads()
    once(x).sum().backward()
    np.testing.assert_allclose(
        model.body.weight.grad.detach().cpu().numpy(),
        2 * once.body.weight.grad.detach().cpu().numpy(),
    )


def test_buckets_follow_reverse_parameter_order_within_the_cap(local_group):
    model = Classifier("lstm", 0)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.01)
    order = [i for bucket in ddp._buckets for i in bucket.indices]
    assert order == list(reversed(range(len(ddp._params))))
    assert len(ddp._buckets) > 2
    for bucket in ddp._buckets[1:]:  # a bucket closes once it reaches the cap
        sizes = [ddp._params[i].array.nbytes for i in bucket.indices[:-1]]
        assert sum(sizes) < 0.01 * 2**20


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
def test_ranks_split_exactly_the_global_batches_of_one_process(world_size):
    images, labels = synthetic(116)
    whole = Batches(images, labels, 23, seed=4)
    parts = [
        list(
            dist.DistributedBatches(
                images, labels, 23, rank=r, world_size=world_size, seed=4
            ).epoch(2, start=1)
        )
        for r in range(world_size)
    ]
    for index, (x, y) in enumerate(whole.epoch(2, start=1)):
        shards = [rank_parts[index] for rank_parts in parts]
        real = [s for s in shards if s.rows]
        np.testing.assert_array_equal(
            np.concatenate([s.images.detach().cpu().numpy() for s in real]),
            x.detach().cpu().numpy(),
        )
        np.testing.assert_array_equal(
            np.concatenate([s.labels.detach().cpu().numpy() for s in real]),
            y.detach().cpu().numpy(),
        )
        assert max(s.rows for s in shards) - min(s.rows for s in shards) <= 1
        for shard in real:
            assert shard.scale == world_size / len(y)
        for shard in shards:
            if not shard.rows:  # a rank left without rows runs one real row, weighed 0
                assert shard.scale == 0 and len(shard.labels) == 1


def test_distributed_batches_refuse_plain_iteration():
    images, labels = synthetic(10)
    batches = dist.DistributedBatches(images, labels, 4, rank=0, world_size=2)
    with pytest.raises(TypeError, match=r"epoch\(number\)"):
        iter(batches)
    with pytest.raises(ValueError, match="rank 2"):
        dist.DistributedBatches(images, labels, 4, rank=2, world_size=2)


def test_scaled_sums_of_the_parts_make_the_global_mean():
    images, labels = synthetic(116)
    model = Classifier("basic", 0)
    x, y = next(Batches(images, labels, 23).epoch(0))
    mean = F.cross_entropy(model(x.double()), y).item()
    for world_size in (2, 3, 30):
        total = 0.0
        for rank in range(world_size):
            shards = dist.DistributedBatches(images, labels, 23, rank=rank, world_size=world_size)
            part = next(shards.epoch(0))
            loss = F.cross_entropy(model(part.images.double()), part.labels, reduction="sum")
            total += loss.item() * part.scale
        assert total / world_size == pytest.approx(mean, rel=1e-12)


def test_objects_travel_with_values_and_refuse_other_types():
    sent = {"w": tg.ones(2, 3, dtype=tg.float64), "n": np.float32(2), "step": 7, "t": (1, "a")}
    received = objects.loads(objects.dumps(sent))
    np.testing.assert_array_equal(
        received["w"].detach().cpu().numpy(), sent["w"].detach().cpu().numpy()
    )
    assert received["w"].dtype == np.float64 and received["t"] == (1, "a")
    with pytest.raises(pickle.UnpicklingError, match="allow-list"):
        objects.loads(pickle.dumps(time.struct_time((2000, 1, 1, 0, 0, 0, 0, 1, 0))))


def test_a_wait_past_its_timeout_raises():
    started = time.monotonic()
    with pytest.raises(dist.DistTimeoutError, match=r"timeout 0\.05 s"):
        wait_until(lambda: False, 0.05, "rank 0: barrier")
    assert time.monotonic() - started < 1


def test_started_by_mpiexec_without_distributed_is_refused(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    assert launch.launched_world_size() == 2
    with pytest.raises(ValueError, match="without --distributed"):
        launch.training_ranks(False)
    monkeypatch.delenv("PMI_SIZE")
    assert launch.training_ranks(False).world_size == 1


def test_blas_threads_shared_out_by_ranks(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(launch.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)  # env variables only
    assert launch.limit_blas_threads(3) == 2
    assert launch.os.environ["OPENBLAS_NUM_THREADS"] == "2"
    assert launch.limit_blas_threads(16) == 1


def test_first_ctrl_c_is_deferred_and_a_second_one_acts_at_once():
    import os
    import signal

    from tinygrad_rnn.distributed.failure import DeferredInterrupt

    seconds, previous = [], signal.getsignal(signal.SIGINT)
    interrupt = DeferredInterrupt(on_second=lambda: seconds.append(True))
    try:
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupt.requested and not seconds
        os.kill(os.getpid(), signal.SIGINT)
        assert seconds == [True]
    finally:
        interrupt.close()
    assert signal.getsignal(signal.SIGINT) is previous
