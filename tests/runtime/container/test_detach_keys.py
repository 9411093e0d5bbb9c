"""Detach keys as both relays read them, `moor attach` on a terminal and the service's attach
(runtime/container/attach.py, runtime/service/attach.py): the spellings, and input cut at the
keys even when they arrive split across reads."""

import pytest

from runtime.container.attach import DETACH_KEYS, parse_detach_keys, split_at_detach_keys
from runtime.errors import InvalidArgument
from runtime.service import attach as service_attach
from runtime.service.wire import ApiError


@pytest.mark.parametrize(("text", "keys"), [
    (None, b"\x10\x11"), ("", b"\x10\x11"), ("ctrl-p,ctrl-q", b"\x10\x11"),
    ("ctrl-a", b"\x01"), ("a,b", b"ab"), ("ctrl-@, ctrl-[ ,ctrl-_", b"\x00\x1b\x1f")])
def test_the_spellings_read_alike_by_moor_and_the_service(text, keys):
    assert parse_detach_keys(text) == keys
    assert service_attach.parse_detach_keys(text) == keys


def test_keys_it_cannot_read_are_a_flag_error_for_moor_and_a_400_for_the_service():
    with pytest.raises(InvalidArgument) as moor_error:
        parse_detach_keys("ctrl-1")
    with pytest.raises(ApiError) as api_error:
        service_attach.parse_detach_keys("ctrl-1")
    assert api_error.value.status == 400
    assert api_error.value.message == moor_error.value.message
    assert moor_error.value.message.startswith("invalid detach keys 'ctrl-1': ")


def test_input_is_cut_at_the_keys_and_a_prefix_of_them_is_held_for_the_next_read():
    assert split_at_detach_keys(b"ls\n", DETACH_KEYS) == (b"ls\n", b"", False)
    assert split_at_detach_keys(b"ls\x10\x11rest", DETACH_KEYS) == (b"ls", b"", True)
    assert split_at_detach_keys(b"ls\x10", DETACH_KEYS) == (b"ls", b"\x10", False)
    # the held byte and the next read: the keys, across two reads
    assert split_at_detach_keys(b"\x10" + b"\x11", DETACH_KEYS) == (b"", b"", True)
    # a held byte that does not go on into the keys is sent after all
    assert split_at_detach_keys(b"\x10" + b"x", DETACH_KEYS) == (b"\x10x", b"", False)
    assert split_at_detach_keys(b"abc", b"xyz") == (b"abc", b"", False)
    assert split_at_detach_keys(b"abcxy", b"xyz") == (b"abc", b"xy", False)
