"""`create` options refused with one clear line before anything is made (no root needed)."""

import pytest

from runtime.container import options
from runtime.errors import InvalidArgument

IMAGE = {"config": {"Cmd": ["sh"]}}


def test_a_stop_timeout_that_is_not_a_number_is_refused_clearly():
    with pytest.raises(InvalidArgument, match="invalid stop timeout: 'soon'"):
        options.build({"image": "busybox", "stop_timeout": "soon"}, IMAGE)


def test_unknown_options_are_named():
    with pytest.raises(InvalidArgument, match="unknown option\\(s\\): colour, size"):
        options.build({"image": "busybox", "size": 1, "colour": "red"}, IMAGE)
