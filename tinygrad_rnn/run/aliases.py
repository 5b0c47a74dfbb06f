"""`torch` and its submodules resolved to tinygrad_rnn: a meta-path finder and the table of
which module answers for which PyTorch path.

Every `torch...` module a program imports is a view (tinygrad_rnn.run.views.view) of the
module that holds the names here, so `torch.nn.LSTM is tinygrad_rnn.nn.LSTM`; a view is a
package as far as imports go, so `import torch.cuda.amp` works whatever file answers for
`torch.cuda`. A name the module does not have is a placeholder when the table knows it as a
class programs subclass or name (nn.Transformer), else an UnsupportedAttributeError naming it.
Modules programs often import without using (torch.onnx) are stubs whose every name is a
placeholder; packages programs need (torchvision) and unknown torch paths fail at import.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

from .. import unsupported
from ..unsupported import UnsupportedAttributeError, UnsupportedModuleError, placeholder
from . import torch_version
from .views import view

# torch.nn.modules' submodules that programs name
SUBMODULES = (
    "activation",
    "batchnorm",
    "container",
    "dropout",
    "flatten",
    "linear",
    "loss",
    "module",
    "normalization",
    "rnn",
    "sparse",
)

MODULES = {
    "torch": "tinygrad_rnn",
    "torch.nn": "tinygrad_rnn.nn",
    "torch.nn.functional": "tinygrad_rnn.nn.functional",
    "torch.nn.init": "tinygrad_rnn.nn.init",
    "torch.nn.utils": "tinygrad_rnn.nn.utils",
    "torch.nn.utils.rnn": "tinygrad_rnn.nn.utils.rnn",
    "torch.nn.utils.clip_grad": ("tinygrad_rnn.nn.utils.clip_grad", "tinygrad_rnn.nn.utils"),
    "torch.nn.parameter": "tinygrad_rnn.nn.parameter",
    "torch.nn.modules": "tinygrad_rnn.nn.modules",
    "torch.nn.parallel": "tinygrad_rnn.nn.parallel",
    "torch.optim": "tinygrad_rnn.optim",
    "torch.optim.lr_scheduler": "tinygrad_rnn.optim.lr_scheduler",
    "torch.optim.optimizer": "tinygrad_rnn.optim.optimizer",
    "torch.utils": "tinygrad_rnn.utils",
    "torch.utils.data": "tinygrad_rnn.utils.data",
    "torch.utils.data.dataset": "tinygrad_rnn.utils.data.dataset",
    "torch.utils.data.sampler": "tinygrad_rnn.utils.data.sampler",
    "torch.utils.data.dataloader": "tinygrad_rnn.utils.data.dataloader",
    "torch.utils.data.distributed": "tinygrad_rnn.utils.data.distributed",
    "torch.utils.data._utils": "tinygrad_rnn.utils.data",
    "torch.utils.data._utils.collate": "tinygrad_rnn.utils.data.collate",
    "torch.serialization": "tinygrad_rnn.serialization",
    "torch.random": "tinygrad_rnn.random",
    "torch.cuda": "tinygrad_rnn.cuda",
    "torch.cuda.amp": "tinygrad_rnn.amp",
    "torch.amp": "tinygrad_rnn.amp",
    "torch.backends": "tinygrad_rnn.backends",
    "torch.backends.cudnn": "tinygrad_rnn.backends.cudnn",
    "torch.backends.cuda": "tinygrad_rnn.backends.cuda",
    "torch.backends.mps": "tinygrad_rnn.backends.mps",
    "torch.accelerator": "tinygrad_rnn.accelerator",
    "torch.distributed": "tinygrad_rnn.distributed",
    "torch.distributions": "tinygrad_rnn.distributions",
    "torch.distributions.categorical": "tinygrad_rnn.distributions",
    "torch.autograd": "tinygrad_rnn.run.autograd_names",
    "torch.jit": "tinygrad_rnn.run.jit_names",
    "torch.version": "tinygrad_rnn.run.torch_version",
}
MODULES.update(
    {f"torch.nn.modules.{name}": f"tinygrad_rnn.nn.modules.{name}" for name in SUBMODULES}
)
# imported without being used, often: every name in them is a placeholder
STUBS = (
    "torch.onnx",
    "torch.hub",
    "torch.profiler",
    "torch.testing",
    "torch.fx",
    "torch.export",
    "torch.ao",
    "torch.quantization",
    "torch.linalg",
    "torch.fft",
    "torch.special",
    "torch.sparse",
    "torch.multiprocessing",
    "torch.utils.checkpoint",
    "torch.autograd.functional",
    "torch.autograd.profiler",
)
# packages that programs need, so that going on without them makes no sense
UNSUPPORTED_PACKAGES = ("torchvision", "torchaudio", "torchtext", "torchdata", "functorch")
# names programs subclass or name at import time: placeholders that fail when created
PLACEHOLDERS = {
    "torch.nn": (
        "Transformer",
        "TransformerEncoder",
        "TransformerDecoder",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
        "MultiheadAttention",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "MaxPool1d",
        "MaxPool2d",
        "AvgPool1d",
        "AvgPool2d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "BatchNorm2d",
        "BatchNorm3d",
        "GroupNorm",
        "InstanceNorm1d",
        "Upsample",
        "EmbeddingBag",
        "CTCLoss",
    ),
}


def torch_view(name: str, target: str | None) -> types.ModuleType:
    """The `torch...` module `name`: the names of the tinygrad_rnn module `target` (None: a
    stub), then known torch submodules, then placeholders, then an error naming what is
    missing."""
    module = view(name, target)
    module.__path__ = []  # a package, so that imports of its submodules come to the finder
    if name == "torch":
        module.__version__ = torch_version.__version__
    target_names = module.__getattr__

    def __getattr__(attribute: str):  # noqa: N807 - the module hook's name
        if attribute.startswith("__"):
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        child = f"{name}.{attribute}"
        if _answers_for(child):
            return importlib.import_module(child)
        if target is not None:
            try:
                return target_names(attribute)
            except AttributeError:
                if attribute not in PLACEHOLDERS.get(name, ()):
                    raise UnsupportedAttributeError(unsupported.message(child)) from None
        stand_in = placeholder(child)
        setattr(module, attribute, stand_in)  # one object per name, as a real module has
        return stand_in

    module.__getattr__ = __getattr__
    return module


def _answers_for(name: str) -> bool:
    """Whether `name` is a torch path the table resolves (rather than refuses)."""
    return name in MODULES or name in STUBS


def _target(name: str) -> str | None:
    """The tinygrad_rnn module answering for the torch path `name` (None: a stub)."""
    if name in STUBS or any(name.startswith(f"{stub}.") for stub in STUBS):
        return None
    candidates = MODULES.get(name)
    if candidates is None:
        raise UnsupportedModuleError(unsupported.message(name), name=name)
    candidates = (candidates,) if isinstance(candidates, str) else candidates
    return next((c for c in candidates if _exists(c)), candidates[-1])


def _exists(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent that is a module, not a package
        return False


class _Loader(importlib.abc.Loader):
    """Makes the view; it takes the place of the module the import system created."""

    def __init__(self, view: types.ModuleType):
        self.view = view

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        sys.modules[module.__name__] = self.view


class TorchFinder(importlib.abc.MetaPathFinder):
    """Answers imports of `torch...` with views, and refuses the packages not supported."""

    def find_spec(self, fullname: str, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in UNSUPPORTED_PACKAGES:
            raise UnsupportedModuleError(unsupported.message(top), name=fullname)
        if top != "torch":
            return None
        return importlib.util.spec_from_loader(
            fullname, _Loader(torch_view(fullname, _target(fullname)))
        )


def install() -> None:
    """Resolve `torch` to tinygrad_rnn in this process from now on."""
    if not any(isinstance(finder, TorchFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, TorchFinder())
