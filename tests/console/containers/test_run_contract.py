"""The console's run request and the engine's options are one contract: every field
`validate_run` accepts, through the job's option builder (`specs.create_options`), is taken by
the engine's own validation (`runtime.container.options.build`) and lands where the engine
keeps it. A field added on one side only fails here, before a user's job fails on a host."""
import pytest

from console.containers import actions
from console.containers.run_request import FIELDS, HOST_FIELDS, validate_run
from console.core.errors import Invalid
from console.hostapi import specs
from runtime.container import options as engine_options

# One valid value of every field a run request may carry (a superuser's: the host fields too).
SAMPLES = {
    "image": "busybox", "host": "h1", "team": "alpha", "name": "contract",
    "cmd": ["sleep", "1"], "env": ["A=1"], "memory": "64m", "cpus": 0.5, "pids_limit": 64,
    "tty": True, "ports": ["8080:80", "127.0.0.1:5353:53/udp"], "network": "bridge",
    "restart": "on-failure:3", "start": False, "workdir": "/srv", "user": "nobody",
    "entrypoint": ["/bin/sh", "-c"], "binds": ["/srv:/srv:ro"], "privileged": True,
    "cap_add": ["NET_ADMIN"],
}
# Other spellings the console accepts for some fields.
VARIANTS = [
    {"memory": 67108864}, {"cmd": "sleep 1"}, {"env": {"A": "1"}}, {"ports": "8080:80, 443"},
    {"network": "none"}, {"network": "host"}, {"network": "container:web"},
    {"restart": "unless-stopped"}, {"pids_limit": -1}, {"entrypoint": "/bin/sh -c"},
    {"cpus": "2"}, {"tty": False, "privileged": False}, {"start": True},
]


def engine_view(world, body):
    """What the engine makes of `body` sent by a superuser: (Config, HostConfig)."""
    superuser = world.user("superuser")
    container, _ = actions.run(superuser, validate_run(superuser, body))
    return engine_options.build(specs.create_options(container), {"config": {}})


def test_every_field_of_a_run_request_has_a_sample():
    assert set(SAMPLES) == FIELDS | HOST_FIELDS


def test_the_api_documents_every_field_a_run_request_may_carry(client_for):
    schema = client_for("viewer").get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/containers/"]["post"]["requestBody"]["content"]
    reference = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    documented = schema["components"]["schemas"][reference]["properties"]
    assert set(documented) == FIELDS | HOST_FIELDS


def test_every_field_the_console_accepts_is_one_the_engine_takes(world):
    config, host = engine_view(world, dict(SAMPLES))
    assert (config["Cmd"], config["Entrypoint"], config["Env"]) == (
        ["sleep", "1"], ["/bin/sh", "-c"], ["A=1"])
    assert (config["Tty"], config["WorkingDir"], config["User"]) == (True, "/srv", "nobody")
    assert config["Labels"] == {"moorage.team": "alpha"}
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (64 << 20, 500_000_000, 64)
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert (host["NetworkMode"], host["PortSpecs"]) == (
        "bridge", ["8080:80", "127.0.0.1:5353:53/udp"])
    assert (host["Binds"], host["Privileged"], host["CapAdd"]) == (
        ["/srv:/srv:ro"], True, ["NET_ADMIN"])


def test_the_image_runs_by_id_and_is_shown_by_the_name_asked_for(world):
    superuser = world.user("superuser")
    container, _ = actions.run(superuser, validate_run(superuser, dict(SAMPLES)))
    options = specs.create_options(container)
    assert options["image"] == container.image.image_id and options["image_name"] == "busybox"
    engine_options.build(options, {"config": {}})


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v))
def test_each_spelling_the_console_accepts_is_one_the_engine_takes(world, variant):
    engine_view(world, dict(SAMPLES, **variant))


@pytest.mark.parametrize("field", ["devices", "pid", "runtime", "stdin_open", "labels"])
def test_options_the_console_does_not_offer_are_refused_even_to_a_superuser(world, field):
    with pytest.raises(Invalid) as refused:
        validate_run(world.user("superuser"), dict(SAMPLES, **{field: "host"}))
    assert refused.value.fields == {field: [f"Unknown field {field!r}."]}
