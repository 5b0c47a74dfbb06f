"""Module mechanics against PyTorch: registration and its errors, traversal, state_dict with
buffers (order, _metadata, loading into buffers, BatchNorm's old layout, assign=True),
train/eval through children, zero_grad, dtype conversion, repr, and the containers
(Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict)."""

from collections import OrderedDict

import numpy as np
import pytest
from diff_harness import cases, check, check_raises, check_same, dtype_name, tensor
from module_harness import set_state

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def model(lib):
    """A small model with parameters, buffers of two dtypes, a non-persistent buffer, a
    shared child and a None child."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Embedding(5, 3, padding_idx=0)
            self.norm = lib.nn.LayerNorm(3)
            self.bn = lib.nn.BatchNorm1d(3)
            self.head = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh())
            self.shared = self.head
            self.register_module("absent", None)
            self.register_buffer("steps", lib.zeros((), dtype=lib.int64))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.scale = lib.nn.Parameter(lib.ones(1))

        def forward(self, x):
            return self.head(self.bn(self.norm(self.embed(x)).mean(1))) * self.scale

    return Net()


def names(pairs):
    return [name for name, _ in pairs]


def shapes(state):
    return [[k, list(v.shape), dtype_name(v.dtype)] for k, v in state.items()]


TRAVERSAL = {
    "state_dict keys, shapes, dtypes": lambda lib: shapes(model(lib).state_dict()),
    "state_dict _metadata": lambda lib: dict(model(lib).state_dict()._metadata),
    "state_dict(prefix=, keep_vars=True)": lambda lib: [
        [k, v.requires_grad] for k, v in model(lib).state_dict(prefix="m.", keep_vars=True).items()
    ],
    "named_parameters": lambda lib: names(model(lib).named_parameters()),
    "named_parameters(remove_duplicate=False)": lambda lib: names(
        model(lib).named_parameters(remove_duplicate=False)
    ),
    "named_parameters(prefix=, recurse=False)": lambda lib: names(
        model(lib).named_parameters(prefix="top", recurse=False)
    ),
    "named_buffers": lambda lib: names(model(lib).named_buffers()),
    "named_modules": lambda lib: names(model(lib).named_modules()),
    "named_modules(remove_duplicate=False)": lambda lib: names(
        model(lib).named_modules(remove_duplicate=False)
    ),
    "named_children": lambda lib: names(model(lib).named_children()),
    "children types": lambda lib: [type(m).__name__ for m in model(lib).children()],
    "apply order": lambda lib: (
        lambda seen: [model(lib).apply(lambda m: seen.append(type(m).__name__)), seen][1]
    )([]),
    "get_submodule, get_parameter, get_buffer": lambda lib: (
        lambda m: [
            type(m.get_submodule("head.0")).__name__,
            m.get_submodule("") is m,
            list(m.get_parameter("head.0.weight").shape),
            m.get_buffer("bn.num_batches_tracked"),
        ]
    )(model(lib)),
    "dir lists buffers and no digits": lambda lib: (
        [name in dir(model(lib)) for name in ("steps", "scratch", "embed", "scale", "0")]
        + ["0" in dir(model(lib).head), "append" in dir(model(lib).head)]
    ),
}


@pytest.mark.parametrize("case", cases(TRAVERSAL))
def test_traversal_and_state_dict_layout(case):
    check(case)


def _run(lib, net):
    set_state(lib, net, np.float32)
    out = net(lib.tensor([[1, 2], [0, 4], [3, 3]]))
    out.sum().backward()
    return out


def _modes(lib):
    class Child(lib.nn.Module):
        def train(self, mode=True):
            self.seen = mode
            return super().train(mode)

    parent = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(Child()))
    parent.eval()
    first = [m.training for m in parent.modules()] + [parent[1][0].seen]
    parent.train()
    return first + [m.training for m in parent.modules()] + [parent[1][0].seen]


def _loaded(lib, state_of, strict=True):
    net = model(lib)
    result = net.load_state_dict(state_of(lib, net), strict=strict)
    return [list(result.missing_keys), list(result.unexpected_keys), repr(result), *net.buffers()]


def _partial_load(lib):
    """Entries that match are copied before the error about the others is raised."""
    net = model(lib)
    state = {k: v * 0 + 2 for k, v in net.state_dict().items() if k != "scale"}
    state["extra"] = lib.ones(1)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        return [str(error).splitlines()[1:], net.bn.running_mean, net.norm.weight]
    return "loaded"


def _assign(lib):
    net = lib.nn.BatchNorm1d(2)
    weight, mean = lib.tensor([3.0, 4.0]), lib.tensor([0.5, 0.25])
    state = {**net.state_dict(), "weight": weight, "running_mean": mean}
    net.load_state_dict(state, assign=True)
    weight.mul_(2)
    mean.mul_(2)
    return [
        net.weight,
        net.weight.requires_grad,
        type(net.weight).__name__,
        net.running_mean,
        net.running_mean is mean,
    ]


def _converted(lib, convert):
    net = model(lib)
    _run(lib, net)
    convert(lib, net)
    return [[dtype_name(t.dtype) for t in net.parameters()], shapes(net.state_dict())] + [
        dtype_name(p.grad.dtype) for p in net.parameters() if p.grad is not None
    ]


SEMANTICS = {
    "forward and backward": lambda lib: (lambda net: [_run(lib, net), net.scale.grad])(model(lib)),
    "train/eval reach every child through its train()": _modes,
    "eval returns self; train(False)": lambda lib: (
        lambda m: [m.eval() is m, m.training, m.train(False).training]
    )(lib.nn.Linear(2, 2)),
    "zero_grad(set_to_none=False) keeps zeros": lambda lib: (
        lambda net: [_run(lib, net), net.zero_grad(set_to_none=False), net.scale.grad][2]
    )(model(lib)),
    "zero_grad() drops the gradients": lambda lib: (
        lambda net: [_run(lib, net), net.zero_grad(), [p.grad for p in net.parameters()]][2]
    )(model(lib)),
    "requires_grad_(False)": lambda lib: [
        p.requires_grad for p in model(lib).requires_grad_(False).parameters()
    ],
    "double() leaves integer buffers": lambda lib: _converted(lib, lambda lib, n: n.double()),
    "to(float64)": lambda lib: _converted(lib, lambda lib, n: n.to(lib.float64)),
    "to(dtype=float16) then float()": lambda lib: _converted(
        lib, lambda lib, n: n.to(dtype=lib.float16).float()
    ),
    "half()": lambda lib: _converted(lib, lambda lib, n: n.half()),
    "type(float64) casts integer buffers too": lambda lib: _converted(
        lib, lambda lib, n: n.type(lib.float64)
    ),
    "load a state_dict into buffers": lambda lib: _loaded(
        lib, lambda lib, net: {k: v + 1 for k, v in net.state_dict().items()}
    ),
    "load without num_batches_tracked, no _metadata": lambda lib: _loaded(
        lib,
        lambda lib, net: {
            k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")
        },
    ),
    "load a 0-d buffer from shape (1,)": lambda lib: _loaded(
        lib, lambda lib, net: {**net.state_dict(), "steps": lib.tensor([7])}
    ),
    "load non-strict with missing and unexpected keys": lambda lib: _loaded(
        lib,
        lambda lib, net: {"bn.running_var": lib.ones(3) * 4, "bn.extra": lib.ones(1)},
        strict=False,
    ),
    "load into a None child's keys": lambda lib: _loaded(
        lib, lambda lib, net: {**net.state_dict(), "absent.weight": lib.ones(1)}
    ),
    "matching entries are copied before the error": _partial_load,
    "load_state_dict(assign=True)": _assign,
    "repr of the model": lambda lib: repr(model(lib)),
    "IncompatibleKeys repr": lambda lib: repr(
        lib.nn.Linear(1, 1).load_state_dict({"weight": lib.ones(1, 1)}, strict=False)
    ),
    "plain attributes may be set before __init__": lambda lib: _early_attribute(lib),
    "assigning None to a parameter, module and buffer": lambda lib: _assign_none(lib),
    "re-registering a buffer as a parameter": lambda lib: _reregister(lib),
    "deleting a parameter, a buffer, a child": lambda lib: _delete(lib),
}


def _early_attribute(lib):
    class Early(lib.nn.Module):
        def __init__(self):
            self.size = 3
            super().__init__()
            self.layer = lib.nn.Linear(self.size, 1)

    return [Early().size, names(Early().named_parameters())]


def _assign_none(lib):
    net = model(lib)
    net.scale, net.head, net.steps = None, None, None
    return [
        names(net.named_parameters()),
        names(net.named_buffers()),
        list(net.state_dict())[:3],
        net.scale,
        net.head,
    ]


def _reregister(lib):
    net = model(lib)
    net.steps = lib.nn.Parameter(lib.ones(2))
    net.bn = lib.nn.Parameter(lib.ones(1))
    return [names(net.named_parameters()), names(net.named_buffers()), names(net.named_children())]


def _delete(lib):
    net = model(lib)
    del net.scale, net.steps, net.norm
    return [
        names(net.named_parameters()),
        names(net.named_buffers()),
        hasattr(net, "scale"),
        hasattr(net, "norm"),
    ]


@pytest.mark.parametrize("case", cases(SEMANTICS))
def test_module_semantics(case):
    check(case)


# ---------------------------------------------------------------- containers


def _lin(lib, size):
    return lib.nn.Linear(size, size)


def _sizes(modules):
    return [m.in_features for m in modules]


def _keys(container):
    return list(container._modules) if hasattr(container, "_modules") else list(container)


CONTAINERS = {
    "Sequential forward, slicing and OrderedDict keys": lambda lib: (
        lambda s: [repr(s), repr(s[1:]), type(s[1:]).__name__, _keys(s[::2]), s[-1].in_features]
    )(lib.nn.Sequential(OrderedDict(a=_lin(lib, 1), b=_lin(lib, 2), c=_lin(lib, 3)))),
    "Sequential del renumbers": lambda lib: (
        lambda s: [s.__delitem__(1), _keys(s), _sizes(s), s.pop(0).in_features, _keys(s)]
    )(lib.nn.Sequential(_lin(lib, 1), _lin(lib, 2), _lin(lib, 3))),
    "Sequential insert, append, extend, setitem": lambda lib: (
        lambda s: [
            s.insert(-1, _lin(lib, 4)),
            s.append(_lin(lib, 5)),
            s.extend([_lin(lib, 6)]),
            s.__setitem__(0, _lin(lib, 7)),
            _keys(s),
            _sizes(s),
        ][4:]
    )(lib.nn.Sequential(_lin(lib, 1), _lin(lib, 2))),
    "Sequential + and * and +=": lambda lib: (
        lambda a, b: [
            _sizes(a + b),
            _sizes(a * 2),
            _sizes(2 * a),
            _sizes(a.__iadd__(b)),
            len(a),
        ]
    )(lib.nn.Sequential(_lin(lib, 1)), lib.nn.Sequential(_lin(lib, 2), _lin(lib, 3))),
    "Sequential applies its modules in order": lambda lib: lib.nn.Sequential(
        lib.nn.Flatten(), lib.nn.Unflatten(1, (3, 2)), lib.nn.Softmax(-1)
    )(tensor(lib, np.arange(12.0).reshape(2, 6, 1))),
    "ModuleList indexing, slicing, negative, len": lambda lib: (
        lambda m: [m[-1].in_features, _sizes(m[1:]), type(m[1:]).__name__, len(m), _keys(m)]
    )(lib.nn.ModuleList([_lin(lib, 1), _lin(lib, 2), _lin(lib, 3)])),
    "ModuleList insert, del, pop, +=, +": lambda lib: (
        lambda m: [
            m.insert(1, _lin(lib, 9)),
            m.__delitem__(0),
            m.pop(-1).in_features,
            m.__iadd__([_lin(lib, 4)]),
            _sizes(m + [_lin(lib, 5)]),
            _keys(m),
            _sizes(m),
        ][2:]
    )(lib.nn.ModuleList([_lin(lib, 1), _lin(lib, 2), _lin(lib, 3)])),
    "ModuleList del slice": lambda lib: (lambda m: [m.__delitem__(slice(0, 2)), _keys(m)][1])(
        lib.nn.ModuleList([_lin(lib, 1), _lin(lib, 2), _lin(lib, 3)])
    ),
    "ModuleList repr groups equal layers": lambda lib: repr(
        lib.nn.ModuleList(
            [_lin(lib, 2), _lin(lib, 2), _lin(lib, 2), lib.nn.ReLU(), _lin(lib, 2), lib.nn.ReLU()]
        )
    ),
    "empty ModuleList repr": lambda lib: repr(lib.nn.ModuleList()),
    "ModuleDict order, update with pairs, pop, contains": lambda lib: (
        lambda d: [
            d.update([("c", _lin(lib, 3)), ("a", _lin(lib, 4))]),
            list(d.keys()),
            d.pop("b").in_features,
            "b" in d,
            [m.in_features for m in d.values()],
            names(d.named_parameters()),
            repr(d),
        ][1:]
    )(lib.nn.ModuleDict({"b": _lin(lib, 1), "a": _lin(lib, 2)})),
    "ModuleDict clear and setitem": lambda lib: (
        lambda d: [d.clear(), len(d), d.__setitem__("x", _lin(lib, 1)), list(d)][1:]
    )(lib.nn.ModuleDict({"b": _lin(lib, 1)})),
    "ParameterList wraps tensors, keeps objects, slices": lambda lib: (
        lambda p: [
            [type(v).__name__ for v in p],
            p[0].requires_grad,
            names(p.named_parameters()),
            len(p[1:]),
            repr(p).replace("tinygrad_rnn.", "torch."),
            p.append(lib.zeros(1)) is p,
            len(p),
        ]
    )(lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3, 1)), "text"])),
    "ParameterDict sorts a plain dict, keeps an OrderedDict": lambda lib: [
        list(lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.ones(2)})),
        list(lib.nn.ParameterDict(OrderedDict(b=lib.ones(1), a=lib.ones(2)))),
        repr(lib.nn.ParameterDict({"b": lib.ones(1), "a": lib.zeros(2, 3)})),
    ],
    "ParameterDict dict methods": lambda lib: (
        lambda p: [
            p.setdefault("c", lib.ones(3)).requires_grad,
            p.get("missing", 5),
            "a" in p,
            p.popitem()[0],
            list(p.keys()),
            [list(v.shape) for v in p.values()],
            list(reversed(p)),
            list(p | lib.nn.ParameterDict({"z": lib.ones(1)})),
            list(p.copy()),
            list(p.fromkeys(["x", "y"])),
            names(p.named_parameters()),
        ]
    )(lib.nn.ParameterDict(OrderedDict(b=lib.ones(1), a=lib.ones(2)))),
}


@pytest.mark.parametrize("case", cases(CONTAINERS))
def test_containers(case):
    check(case)


# ---------------------------------------------------------------- errors


def _subclass(lib, body):
    class Broken(lib.nn.Module):
        def __init__(self):
            body(self)

    return Broken()


REFUSED = {
    "a parameter before __init__": lambda lib: _subclass(
        lib, lambda self: setattr(self, "w", lib.nn.Parameter(lib.ones(1)))
    ),
    "a module before __init__": lambda lib: _subclass(
        lib, lambda self: setattr(self, "m", lib.nn.Linear(1, 1))
    ),
    "register_buffer before __init__": lambda lib: _subclass(
        lib, lambda self: self.register_buffer("b", lib.ones(1))
    ),
    "Module(5)": lambda lib: lib.nn.Module(5),
    "Module(x=5)": lambda lib: lib.nn.Module(x=5),
    "a tensor assigned to a parameter's name": lambda lib: setattr(
        lib.nn.Linear(1, 1), "weight", lib.ones(1, 1)
    ),
    "a number assigned to a child's name": lambda lib: setattr(
        lib.nn.Sequential(lib.nn.ReLU()), "0", 5
    ),
    "a list assigned to a buffer's name": lambda lib: setattr(
        lib.nn.BatchNorm1d(2), "running_mean", [0.0, 0.0]
    ),
    "register_buffer with a dot": lambda lib: lib.nn.Module().register_buffer("a.b", None),
    "register_buffer with no name": lambda lib: lib.nn.Module().register_buffer("", None),
    "register_buffer over an attribute": lambda lib: lib.nn.Linear(1, 1).register_buffer(
        "in_features", lib.ones(1)
    ),
    "register_buffer of a number": lambda lib: lib.nn.Module().register_buffer("b", 1.0),
    "register_buffer named by an int": lambda lib: lib.nn.Module().register_buffer(1, None),
    "register_parameter of a tensor": lambda lib: lib.nn.Module().register_parameter(
        "w", lib.ones(1)
    ),
    "register_parameter over a method": lambda lib: lib.nn.Module().register_parameter(
        "forward", None
    ),
    "register_parameter with a dot": lambda lib: lib.nn.Module().register_parameter("a.b", None),
    "add_module of a number": lambda lib: lib.nn.Module().add_module("m", 3),
    "add_module with a dot": lambda lib: lib.nn.Module().add_module("a.b", None),
    "add_module over an attribute": lambda lib: lib.nn.Linear(1, 1).add_module(
        "weight", lib.nn.ReLU()
    ),
    "an unknown attribute": lambda lib: lib.nn.Linear(1, 1).nothing,
    "get_submodule of a missing name": lambda lib: lib.nn.Sequential(lib.nn.ReLU()).get_submodule(
        "1"
    ),
    "get_submodule of a parameter": lambda lib: lib.nn.Linear(1, 1).get_submodule("weight"),
    "get_parameter of a module": lambda lib: lib.nn.Sequential(lib.nn.ReLU()).get_parameter("0"),
    "get_buffer of a parameter": lambda lib: lib.nn.Linear(1, 1).get_buffer("weight"),
    "forward not defined": lambda lib: lib.nn.Module()(1),
    "train('yes')": lambda lib: lib.nn.Linear(1, 1).train("yes"),
    "to(int64)": lambda lib: lib.nn.Linear(1, 1).to(lib.int64),
    "load_state_dict of a list": lambda lib: lib.nn.Linear(1, 1).load_state_dict([1]),
    "load_state_dict of a number value": lambda lib: lib.nn.Linear(1, 1).load_state_dict(
        {"weight": 1.0, "bias": lib.zeros(1)}
    ),
    "load with num_batches_tracked missing from a state_dict()": lambda lib: (
        lambda bn: bn.load_state_dict(
            (lambda s: [s.pop("num_batches_tracked"), s][1])(bn.state_dict())
        )
    )(lib.nn.BatchNorm1d(2)),
    "load a buffer of another shape": lambda lib: lib.nn.BatchNorm1d(2).load_state_dict(
        {**lib.nn.BatchNorm1d(2).state_dict(), "running_var": lib.ones(3)}, strict=False
    ),
    "Sequential index out of range": lambda lib: lib.nn.Sequential(lib.nn.ReLU())[1],
    "Sequential index of a str": lambda lib: lib.nn.Sequential(lib.nn.ReLU())["0"],
    "Sequential + a list": lambda lib: lib.nn.Sequential() + [lib.nn.ReLU()],
    "Sequential * 0": lambda lib: lib.nn.Sequential(lib.nn.ReLU()) * 0,
    "Sequential insert out of range": lambda lib: lib.nn.Sequential().insert(2, lib.nn.ReLU()),
    "ModuleList index out of range": lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[-2],
    "ModuleList extend with a number": lambda lib: lib.nn.ModuleList().extend(3),
    "ModuleList of numbers": lambda lib: lib.nn.ModuleList([1]),
    "ModuleDict missing key": lambda lib: lib.nn.ModuleDict()["x"],
    "ModuleDict update with a number": lambda lib: lib.nn.ModuleDict().update(3),
    "ModuleDict update with triples": lambda lib: lib.nn.ModuleDict().update(
        [("a", lib.nn.ReLU(), 1)]
    ),
    "ModuleDict update with non-pairs": lambda lib: lib.nn.ModuleDict().update([1]),
    "ModuleDict called": lambda lib: lib.nn.ModuleDict()(1),
    "ParameterList index out of range": lambda lib: lib.nn.ParameterList()[0],
    "ParameterList extend with a tensor": lambda lib: lib.nn.ParameterList().extend(lib.ones(2)),
    "ParameterList called": lambda lib: lib.nn.ParameterList()(),
    "ParameterList of an integer tensor": lambda lib: lib.nn.ParameterList([lib.tensor([1])]),
    "ParameterDict missing key": lambda lib: lib.nn.ParameterDict()["x"],
    "ParameterDict int key": lambda lib: lib.nn.ParameterDict()[1],
    "ParameterDict update with a number": lambda lib: lib.nn.ParameterDict().update(1),
    "ParameterDict called": lambda lib: lib.nn.ParameterDict()(1),
}


@pytest.mark.parametrize("case", cases(REFUSED))
def test_refused(case):
    check_raises(case)


def test_register_buffer_persistence_can_change():
    def case(lib):
        m = lib.nn.Module()
        m.register_buffer("b", lib.ones(1), persistent=False)
        before = list(m.state_dict())
        m.register_buffer("b", lib.ones(1))
        m.b = lib.zeros(2)  # assigning keeps it a buffer
        return [before, list(m.state_dict()), m.b]

    check_same(case)
