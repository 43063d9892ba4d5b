"""RLlib 2.60's own example scripts behave under ``rldebug debug`` as they do plain (slow:
each runs twice, ~25 scripts; the table is ``benchmarks/rllib_examples.py``)."""

import pytest

from benchmarks.rllib_examples import (
    CORPUS,
    NOT_HERE,
    PLAIN_CANNOT_RUN_HERE,
    agree,
    examples_dir,
    run_one,
)


def test_the_corpus_has_at_least_20_examples_that_exist():
    assert len(CORPUS) >= 20 and not set(CORPUS) & set(NOT_HERE)
    assert all((examples_dir() / script).is_file() for script in CORPUS)


@pytest.mark.slow
@pytest.mark.parametrize("script", CORPUS)
def test_an_rllib_example_behaves_under_rldebug_debug_as_plain(script):
    plain = None if script in PLAIN_CANNOT_RUN_HERE else run_one(script, debug=False,
                                                                 timeout=400)
    debugged = run_one(script, debug=True, timeout=400)
    assert agree(plain, debugged, script), (plain, debugged)
    if plain is None or plain.ok:
        assert debugged.in_process  # its trials trained in the debugged process
