"""A host's name becomes its queue (`host.<name>`) and its channel names: it is checked wherever
one enters, with a message that says what a name may be."""
import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from console.agent import worker
from console.hosts.models import Host

pytestmark = pytest.mark.django_db

BAD = ["Web1", "-edge", "has space", "dot.ted", "x" * 64, "queue;rm"]


@pytest.mark.parametrize("name", ["a", "web-1", "0edge", "x" * 63])
def test_good_names_pass(name):
    Host(name=name).full_clean()


@pytest.mark.parametrize("name", BAD)
def test_the_model_refuses_bad_names(name):
    with pytest.raises(ValidationError) as error:
        Host(name=name).full_clean()
    assert "lowercase letters, digits and '-'" in str(error.value)


@pytest.mark.parametrize("name", BAD)
def test_moorage_init_refuses_bad_names(name):
    with pytest.raises(CommandError, match="invalid host name"):
        call_command("moorage_init", f"--host={name}")
    assert not Host.objects.exists()


def test_a_worker_with_a_bad_host_name_serves_no_host(settings, caplog):
    settings.MOORAGE_HOST = "Bad Name"
    with caplog.at_level(logging.ERROR, logger="console.agent.worker"):
        worker.become_host()
    assert "MOORAGE_HOST='Bad Name'" in caplog.text and "serves no host" in caplog.text
    assert not Host.objects.exists()


def test_the_stream_bridge_refuses_a_bad_host_name(settings):
    settings.MOORAGE_HOST = "under_score"
    with pytest.raises(CommandError, match="MOORAGE_HOST='under_score'"):
        call_command("stream_bridge")
