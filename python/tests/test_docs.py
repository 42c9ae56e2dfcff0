"""The examples in the docstrings run and print what they say."""

import doctest

import pytest

import xcorr
import xcorr._engine


@pytest.mark.parametrize("module", [xcorr, xcorr._engine])
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0
