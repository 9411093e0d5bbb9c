"""A host's name becomes its queue (`host.<name>`), its Redis user and its channel names: it is
checked wherever one enters (a host made at set-up, a host key given, a join token), with a
message that says what a name may be."""
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from console.core.errors import Invalid
from console.hosts import keys
from console.hosts.models import Host, JoinToken

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


@pytest.mark.parametrize("name", BAD)
def test_a_host_key_is_given_only_to_a_good_name(name, tmp_path, redis_users):
    with pytest.raises(CommandError, match="invalid host name"):
        call_command("host_key", "--console=http://127.0.0.1:8000",
                     f"--write={tmp_path / 'host.key'}", "--", name)
    assert not Host.objects.exists() and not redis_users
    assert not (tmp_path / "host.key").exists()


@pytest.mark.parametrize("name", BAD)
def test_a_join_token_names_a_good_name(name, world):
    with pytest.raises(Invalid, match="lowercase letters, digits and '-'"):
        keys.make_join_token(world.user("superuser"), name, [])
    assert not JoinToken.objects.exists()
