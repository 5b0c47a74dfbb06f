"""save/load as PyTorch 2.6+: what weights_only loading accepts and refuses, from the same
program on both libraries."""

import argparse
import io
import pickle

from diff_harness import check, check_raises


def round_trip(lib, obj, **load_options):
    buffer = io.BytesIO()
    lib.save(obj, buffer)
    buffer.seek(0)
    return lib.load(buffer, **load_options)


def linear(lib):
    layer = lib.nn.Linear(2, 3)
    with lib.no_grad():
        layer.weight.copy_(lib.arange(6.0).reshape(3, 2))
        layer.bias.fill_(0.5)
    return layer


def test_state_dicts_and_plain_containers_load_by_default():
    def case(lib):
        state = {"w": lib.arange(6.0).reshape(2, 3), "steps": [1, 2.5, None], "seen": {4, 5}}
        loaded = round_trip(lib, {**state, ("a", 1): lib.zeros(())})
        return [loaded["w"], loaded["steps"], sorted(loaded["seen"]), loaded[("a", 1)]]

    check(case)


def test_a_whole_module_is_refused_by_default():
    check_raises(lambda lib: round_trip(lib, linear(lib)))


def test_an_arbitrary_class_is_refused_by_default():
    check_raises(lambda lib: round_trip(lib, {"args": argparse.Namespace(lr=0.1)}))


def test_allow_listed_or_trusted_modules_load():
    def case(lib):
        with lib.serialization.safe_globals([lib.nn.Linear]):
            allowed = round_trip(lib, linear(lib))
        trusted = round_trip(lib, linear(lib), weights_only=False)
        x = lib.ones(1, 2)
        return [allowed(x), trusted(x), allowed.weight.requires_grad]

    check(case)


def test_both_raise_unpickling_errors():
    for lib_name in ("torch", "tinygrad_rnn"):
        lib = __import__(lib_name)
        try:
            round_trip(lib, {"args": argparse.Namespace()})
        except pickle.UnpicklingError as error:
            assert "add_safe_globals" in str(error) and "argparse.Namespace" in str(error)
        else:
            raise AssertionError(f"{lib_name} loaded an argparse.Namespace by default")
