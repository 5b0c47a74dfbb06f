"""The parts of PyTorch this library does not have, and how to say so: one line naming the
part and what to use instead (`python -m tinygrad_rnn.run` prints just that line). Raised at
import for what programs need (torchvision), at first use for what they often import or name
without using (torch.onnx, nn.Transformer).
"""

from __future__ import annotations


class Unsupported(Exception):  # noqa: N818 - a marker that the runner reports in one line
    """Raised for a part of PyTorch that is not here; the message is one line."""


class UnsupportedModuleError(ModuleNotFoundError, Unsupported):
    """`import` of a package or module that is not here (`except ImportError` catches it)."""


class UnsupportedAttributeError(AttributeError, Unsupported):
    """A name PyTorch has and this library does not (`hasattr` answers False)."""


class UnsupportedError(NotImplementedError, Unsupported):
    """A call into a part that is not here: an unsupported module's function, or creating an
    instance of an unsupported class."""


_DATA = "load the data with NumPy and wrap it in torch.utils.data.TensorDataset or a Dataset"
_ATTENTION = "build attention from nn.Linear, torch.bmm and F.softmax"
_STATE_DICT = "save the weights with torch.save(model.state_dict(), path)"

# what to use instead, by the name a program uses (a package, a module or a class)
ADVICE = {
    "torchvision": "for MNIST or Fashion-MNIST use tinygrad_rnn.data.MNIST or FashionMNIST "
    "(Datasets of (image, label)); for transforms pass a function as transform=",
    "torchaudio": _DATA,
    "torchtext": _DATA,
    "torchdata": _DATA,
    "functorch": "compute gradients with loss.backward()",
    "torch.utils.tensorboard": "log metrics with print or the csv module",
    "torch.onnx": _STATE_DICT,
    "torch.jit.save": _STATE_DICT,
    "torch.jit.load": "rebuild the model in code and load its state dict",
    "torch.hub": "build the model in code and load its weights with torch.load",
    "torch.autograd.grad": "call loss.backward() and read each tensor's .grad",
    "torch.autograd.Function": "write the function with tensor operations, which autograd "
    "differentiates",
    "torch.autocast": "compute in one dtype (enabled=False), or convert with .half()",
    "torch.nn.Transformer": _ATTENTION,
    "torch.nn.TransformerEncoder": _ATTENTION,
    "torch.nn.TransformerDecoder": _ATTENTION,
    "torch.nn.TransformerEncoderLayer": _ATTENTION,
    "torch.nn.TransformerDecoderLayer": _ATTENTION,
    "torch.nn.MultiheadAttention": _ATTENTION,
}


def message(name: str) -> str:
    """One line: `name` is not supported, and what to use instead where there is advice."""
    advice = ADVICE.get(name) or ADVICE.get(name.rpartition(".")[0])
    return f"{name} is not supported by tinygrad_rnn" + (f": {advice}" if advice else "")


def placeholder(name: str) -> type:
    """A stand-in for the unsupported class or function `name`: a class statement may derive
    from it and a program may name it; creating or calling it raises UnsupportedError."""

    def refuse(cls, *args, **kwargs):
        raise UnsupportedError(message(name))

    module, _, short = name.rpartition(".")
    return type(
        short,
        (),
        {
            "__new__": refuse,
            "apply": classmethod(refuse),
            "__module__": module,
            "__doc__": message(name),
        },
    )
