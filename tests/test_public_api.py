"""The public API in rldebug/__init__.py resolves, and submodules do not shadow it."""

import importlib

import pytest

import rldebug


@pytest.mark.parametrize("name", rldebug.__all__)
def test_every_public_name_resolves(name):
    assert getattr(rldebug, name) is not None


def test_submodules_do_not_replace_the_functions_of_the_same_name():
    for module in ("rldebug.run", "rldebug.trace", "rldebug.inspect", "rldebug.reproduce",
                   "rldebug.reproduce.run"):
        importlib.import_module(module)
    assert callable(rldebug.run) and rldebug.run.__module__ == "rldebug.run"
    assert callable(rldebug.trace) and callable(rldebug.inspect)
    assert callable(rldebug.reproduce) and rldebug.reproduce.__module__ == "rldebug.reproduce"


def test_unknown_name_lists_the_public_ones():
    with pytest.raises(AttributeError, match="public names: AlgoSummary"):
        rldebug.local_mod  # noqa: B018
