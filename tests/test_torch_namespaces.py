"""The names PyTorch programs mention about devices, flags and settings, and PyTorch's class
paths: they exist, answer as on a machine without cuDNN (and, in CI, without a GPU), and
change nothing they should not."""

import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.unsupported import UnsupportedError, placeholder


def test_cuda_and_accelerator_answer_consistently():
    available = tg.cuda.is_available()
    assert available == tg.cuda_is_available() == tg.accelerator.is_available()
    assert (tg.cuda.device_count() > 0) == available
    assert tg.accelerator.current_accelerator() == ("cuda" if available else None)
    tg.cuda.synchronize()
    tg.cuda.empty_cache()
    assert tg.cuda.memory_allocated() >= 0


def test_cuda_seeding_leaves_the_default_generator_alone():
    tg.manual_seed(5)
    expected = tg.rand(3).tolist()
    tg.manual_seed(5)
    tg.cuda.manual_seed(1)
    tg.cuda.manual_seed_all(2)
    assert tg.rand(3).tolist() == expected


def test_backend_flags_are_kept_and_restored():
    cudnn = tg.backends.cudnn
    assert not cudnn.is_available() and cudnn.version() is None
    assert not tg.backends.mps.is_available()
    with cudnn.flags(enabled=False, deterministic=True):
        assert not cudnn.enabled and cudnn.deterministic
    assert cudnn.enabled and not cudnn.deterministic
    tg.backends.cuda.matmul.allow_tf32 = True
    tg.backends.cuda.matmul.allow_tf32 = False


def test_settings_are_recorded():
    before = tg.get_num_threads()
    tg.set_num_threads(1)
    assert tg.get_num_threads() == 1
    tg.set_num_threads(before)
    with pytest.raises(RuntimeError):
        tg.set_num_threads(0)
    tg.use_deterministic_algorithms(True, warn_only=True)
    assert tg.are_deterministic_algorithms_enabled()
    assert tg.is_deterministic_algorithms_warn_only_enabled()
    tg.use_deterministic_algorithms(False)
    tg.set_float32_matmul_precision("high")
    assert tg.get_float32_matmul_precision() == "high"
    with pytest.warns(UserWarning, match="no effect"):
        tg.set_float32_matmul_precision("fast")
    tg.set_float32_matmul_precision("highest")
    model = nn.Linear(2, 2)
    assert tg.compile(model) is model and tg.compile(mode="max-autotune")(len) is len


def test_amp_passes_through_and_refuses_real_autocasting():
    scaler = tg.amp.GradScaler(enabled=False)
    weight = nn.Parameter(tg.ones(2))
    optimizer = tg.optim.SGD([weight], lr=0.5)
    loss = (weight * 2).sum()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    assert weight.tolist() == [0.0, 0.0] and not scaler.is_enabled()
    with tg.autocast("cpu", enabled=False):
        pass
    with pytest.raises(UnsupportedError, match="autocast is not supported"), tg.autocast("cpu"):
        pass


def test_pytorch_class_paths_are_views_of_nn():
    from tinygrad_rnn.nn.modules.linear import Linear
    from tinygrad_rnn.nn.modules.rnn import LSTM

    assert LSTM is nn.LSTM and Linear is nn.Linear
    assert tg.nn.modules.sparse.Embedding is nn.Embedding
    assert tg.nn.parameter.Parameter is nn.Parameter
    assert tg.nn.modules.module.Module is nn.Module
    with pytest.raises(AttributeError, match=r"tinygrad_rnn\.nn\.modules\.rnn"):
        tg.nn.modules.rnn.NoSuchLayer  # noqa: B018


def test_placeholders_can_be_named_and_subclassed_but_not_made():
    transformer = placeholder("torch.nn.Transformer")

    class Model(transformer):
        pass

    with pytest.raises(UnsupportedError, match="build attention"):
        Model(d_model=8)
    with pytest.raises(UnsupportedError, match=r"^torch.jit.save is not supported"):
        placeholder("torch.jit.save")(None, "model.pt")


@pytest.mark.gpu
def test_cuda_names_and_whole_module_checkpoints_on_a_gpu(tmp_path):
    assert tg.cuda.is_available() and tg.cuda.device_count() >= 1
    assert tg.cuda.current_device() == 0 and tg.cuda.get_device_name()
    assert tg.accelerator.current_accelerator() == "cuda"
    model = nn.Linear(2, 3).to("cuda")
    assert tg.cuda.memory_allocated() > 0
    tg.save(model, tmp_path / "model.pt")
    tg.cuda.synchronize()
    for device in ("cuda", "cpu"):
        with tg.serialization.safe_globals([nn.Linear]):
            loaded = tg.load(tmp_path / "model.pt", map_location=device)
        assert loaded.weight.device == device
        assert loaded.weight.detach().cpu().tolist() == model.weight.detach().cpu().tolist()
    batch = next(
        iter(
            tg.utils.data.DataLoader(
                tg.utils.data.TensorDataset(tg.ones(4, 2, device="cuda")), batch_size=4
            )
        )
    )
    assert batch[0].device == "cuda" and batch[0].shape == (4, 2)
