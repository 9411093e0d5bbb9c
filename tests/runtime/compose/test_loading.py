"""Loading Compose projects: interpolation, the schema and Moorage's own refusals with their
lines, merging, profiles, names, and hostile files. Pure: no engine, no root."""

import time

import pytest

from runtime.compose import load, source
from runtime.compose.errors import ComposeError
from runtime.compose.interpolation import Variables, parse_env_file, substitute


def _load(tmp_path, text, environ=None, **options):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load(files=[str(path)], environ=environ or {}, **options)


def _refused(tmp_path, text, environ=None, **options) -> str:
    with pytest.raises(ComposeError) as caught:
        _load(tmp_path, text, environ, **options)
    return caught.value.message


# -- interpolation ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("$A", "a"), ("${A}", "a"), ("x${A}y", "xay"), ("$$A", "$A"), ("$${A}", "${A}"),
    ("$$$A", "$a"), ("${UNSET:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""), ("${UNSET-dflt}", "dflt"), ("${A:+set}", "set"),
    ("${UNSET:+set}", ""), ("${EMPTY+set}", "set"), ("${EMPTY:+set}", ""),
    ("${UNSET:-${A}}", "a"), ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("${UNSET:-a}}", "a}"), ("${A:?never}", "a"), ("price: $$5", "price: $5"),
    ("${UNSET:-$$HOME}", "$HOME"), ("no dollars", "no dollars"),
])
def test_interpolation_follows_the_spec(text, expected):
    variables = Variables({"A": "a", "EMPTY": ""})
    assert substitute(text, variables, "here") == expected


@pytest.mark.parametrize("text, message", [
    ("${REQ:?set REQ to the registry}", "required variable REQ is missing a value: set REQ "
                                        "to the registry"),
    ("${REQ?}", "required variable REQ is missing a value"),
    ("${EMPTY:?must not be empty}", "required variable EMPTY is missing a value: must not be "
                                    "empty"),
])
def test_required_variables_fail_with_their_message(text, message):
    with pytest.raises(ComposeError, match=message):
        substitute(text, Variables({"EMPTY": ""}), "here")


@pytest.mark.parametrize("text", ["$", "cost $", "${", "${A", "${1A}", "${A/x/y}", "$-"])
def test_malformed_interpolation_is_an_error(text):
    with pytest.raises(ComposeError, match="invalid interpolation format"):
        substitute(text, Variables({"A": "a"}), "here")


def test_an_unset_variable_is_blank_with_a_warning(tmp_path):
    project = _load(tmp_path, "services:\n  web:\n    image: busybox:${TAG}\n")
    assert project.services["web"]["image"] == "busybox:"
    assert project.warnings == ['The "TAG" variable is not set. Defaulting to a blank string.']


def test_a_required_variable_names_the_file_line_and_key(tmp_path):
    message = _refused(tmp_path, "services:\n  web:\n    image: busybox\n"
                                 "    command: echo ${WHO:?say who}\n")
    assert message == (f"{tmp_path}/compose.yaml, line 4: services.web.command: required "
                       f"variable WHO is missing a value: say who")


def test_keys_are_not_interpolated_but_values_are(tmp_path):
    project = _load(tmp_path, "services:\n  web:\n    image: busybox\n    labels:\n"
                              "      $KEY: $VALUE\n    environment:\n      - $KEY=$VALUE\n",
                    environ={"KEY": "k", "VALUE": "v"})
    assert project.services["web"]["labels"] == {"$KEY": "v"}
    assert project.services["web"]["environment"] == {"k": "v"}


def test_dot_env_fills_variables_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("# settings\nTAG=1.0\nexport NAME='lit $TAG'\n"
                                   "GREETING=\"hi ${TAG}\\n\"\nOVER=file\n")
    project = _load(tmp_path, "services:\n  web:\n    image: busybox:$TAG\n"
                              "    environment: [N=$NAME, G=$GREETING, O=$OVER]\n",
                    environ={"OVER": "shell"})
    assert project.services["web"]["image"] == "busybox:1.0"
    assert project.services["web"]["environment"] == {"N": "lit $TAG", "G": "hi 1.0\n",
                                                      "O": "shell"}


def test_env_file_option_replaces_dot_env(tmp_path):
    (tmp_path / ".env").write_text("TAG=from-dot-env\n")
    other = tmp_path / "other.env"
    other.write_text("TAG=from-other\n")
    project = _load(tmp_path, "services:\n  web:\n    image: busybox:$TAG\n",
                    env_files=[str(other)])
    assert project.services["web"]["image"] == "busybox:from-other"


def test_a_bad_dot_env_line_is_reported_with_its_line():
    with pytest.raises(ComposeError, match=r"\.env, line 2: expected KEY=value"):
        parse_env_file("A=1\nnot a variable\n", ".env", lambda name: None)


def test_service_env_files_are_read_and_environment_overrides_them(tmp_path):
    (tmp_path / "web.env").write_text("A=from-file\nB=from-file\n")
    project = _load(tmp_path, "services:\n  web:\n    image: busybox\n    env_file: web.env\n"
                              "    environment:\n      B: from-environment\n      C:\n",
                    environ={"C": "from-shell"})
    assert project.services["web"]["environment"] == {
        "A": "from-file", "B": "from-environment", "C": "from-shell"}


def test_without_read_files_no_file_of_this_machine_is_read(tmp_path):
    """The console's web process checks a file that runs on another host: a service's
    env_file (here this machine's own) and the project directory's .env are not read."""
    (tmp_path / ".env").write_text("TAG=from-dot-env\n")
    (tmp_path / "web.env").write_text("SECRET=on-this-machine\n")
    text = ("services:\n  web:\n    image: busybox:${TAG:-given}\n"
            "    env_file: [web.env, /etc/hostname]\n")
    project = load(content=text, working_dir=str(tmp_path), environ={}, read_files=False)
    assert project.services["web"]["image"] == "busybox:given"
    assert "environment" not in project.services["web"]
    assert [entry["path"] for entry in project.services["web"]["env_file"]] == [
        str(tmp_path / "web.env"), "/etc/hostname"]
    read = load(content=text.replace(", /etc/hostname", ""), working_dir=str(tmp_path),
                environ={})
    assert read.services["web"]["environment"] == {"SECRET": "on-this-machine"}
    assert read.services["web"]["image"] == "busybox:from-dot-env"


# -- the schema and what Moorage supports ---------------------------------------------------

@pytest.mark.parametrize("text, line, message", [
    ("services:\n  web:\n    image: busybox\n    imagee: x\n", 4,
     "services.web.imagee: not a key the Compose Specification defines here"),
    ("services:\n  web:\n    image: busybox\n    ports:\n      - target: 80\n"
     "        pubished: 8080\n", 6,
     "services.web.ports.0.pubished: not a key the Compose Specification defines here"),
    ("services:\n  web:\n    image: 3.5\n", 3, "services.web.image: must be string, not a number"),
    ("services:\n  web:\n    image: busybox\n    depends_on:\n      db:\n"
     "        condition: service_ready\n", 6, "services.web.depends_on.db.condition: "
                                              "'service_ready' is not one of"),
])
def test_schema_errors_name_the_key_and_its_line(tmp_path, text, line, message):
    refused = _refused(tmp_path, text)
    assert refused.startswith(f"{tmp_path}/compose.yaml, line {line}: {message}"), refused


@pytest.mark.parametrize("text, line, key", [
    ("services:\n  web:\n    image: busybox\n    privileged: true\n", 4,
     "services.web.privileged"),
    ("services:\n  web:\n    image: busybox\n    networks:\n      front:\n"
     "        ipv4_address: 10.0.0.5\nnetworks:\n  front: {}\n", 6,
     "services.web.networks.front.ipv4_address"),
    ("services:\n  web:\n    image: busybox\nsecrets:\n  key:\n    file: ./key\n", 4,
     "secrets"),
    ("x-base: &base\n  image: busybox\n  logging:\n    driver: json-file\n"
     "services:\n  web:\n    <<: *base\n", 3, "services.web.logging"),
])
def test_keys_moorage_does_not_support_are_refused_with_their_line(tmp_path, text, line, key):
    refused = _refused(tmp_path, text)
    assert refused == (f"{tmp_path}/compose.yaml, line {line}: {key}: Moorage does not support "
                       f"this key of the Compose Specification")


def test_extension_keys_are_allowed_everywhere(tmp_path):
    project = _load(tmp_path, "x-top: 1\nservices:\n  web:\n    image: busybox\n    x-note: "
                              "hello\nnetworks:\n  default:\n    x-more: {}\n")
    assert project.services["web"]["image"] == "busybox"


# -- the whole project -----------------------------------------------------------------------

def test_an_unknown_dependency_is_refused_at_its_line(tmp_path):
    refused = _refused(tmp_path, "services:\n  web:\n    image: busybox\n    depends_on:\n"
                                 "      - dbb\n  db:\n    image: busybox\n")
    assert refused == (f"{tmp_path}/compose.yaml, line 4: services.web.depends_on.dbb: "
                       f"service web depends on undefined service dbb")


def test_a_dependency_cycle_is_refused_with_the_cycle(tmp_path):
    refused = _refused(tmp_path, "services:\n  a:\n    image: busybox\n    depends_on: [b]\n"
                                 "  b:\n    image: busybox\n    depends_on: [c]\n"
                                 "  c:\n    image: busybox\n    depends_on: [a]\n")
    assert "dependency cycle: a -> b -> c -> a" in refused


@pytest.mark.parametrize("first, second", [
    ("8080:80", "8080:81"), ("127.0.0.1:8080:80", "8080:80"), ("8080:80/udp", "8080:53/udp"),
])
def test_two_services_publishing_one_port_are_refused(tmp_path, first, second):
    refused = _refused(tmp_path, f"services:\n  a:\n    image: busybox\n    ports: ['{first}']\n"
                                 f"  b:\n    image: busybox\n    ports: ['{second}']\n")
    assert "services a and b both publish port 8080" in refused
    assert "line 7" in refused


def test_different_addresses_or_protocols_do_not_conflict(tmp_path):
    project = _load(tmp_path, "services:\n  a:\n    image: busybox\n"
                              "    ports: ['127.0.0.1:8080:80', '8080:80/udp']\n"
                              "  b:\n    image: busybox\n    ports: ['127.0.0.2:8080:80']\n")
    assert [port["published"] for port in project.services["a"]["ports"]] == ["8080", "8080"]


def test_undeclared_networks_and_volumes_are_refused(tmp_path):
    assert "refers to undefined network back" in _refused(
        tmp_path, "services:\n  web:\n    image: busybox\n    networks: [back]\n")
    assert "refers to undefined volume data" in _refused(
        tmp_path, "services:\n  web:\n    image: busybox\n    volumes: ['data:/data']\n")


# -- merging, profiles, names ---------------------------------------------------------------

def test_files_merge_as_the_spec_says(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    command: [echo, base]\n"
        "    environment: [A=1, B=1]\n    ports: ['8080:80', '9090:90']\n"
        "    volumes: ['./a:/data', './c:/cache']\n    cap_add: [NET_ADMIN]\n"
        "    labels: {keep: 'yes', drop: 'yes'}\n")
    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  web:\n    command: [echo, override]\n    environment:\n      B: 2\n"
        "    ports: ['8080:80', '7070:70']\n    volumes: ['./b:/data']\n    cap_add: [NET_ADMIN,"
        " SYS_TIME]\n    labels:\n      drop: !reset null\n")
    project = load(working_dir=str(tmp_path), environ={})
    web = project.services["web"]
    assert web["command"] == ["echo", "override"]
    assert web["environment"] == {"A": "1", "B": "2"}
    assert [port["published"] for port in web["ports"]] == ["8080", "9090", "7070"]
    assert [(volume["source"], volume["target"]) for volume in web["volumes"]] == [
        (f"{tmp_path}/b", "/data"), (f"{tmp_path}/c", "/cache")]
    assert web["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert web["labels"] == {"keep": "yes"}


def test_override_tag_replaces_a_sequence(tmp_path):
    (tmp_path / "a.yaml").write_text("services:\n  web:\n    image: busybox\n"
                                     "    ports: ['8080:80']\n")
    (tmp_path / "b.yaml").write_text("services:\n  web:\n    ports: !override ['8443:443']\n")
    project = load(files=[str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")], environ={})
    assert [port["target"] for port in project.services["web"]["ports"]] == [443]


def test_compose_file_variable_and_project_name_sources(tmp_path):
    (tmp_path / "one.yaml").write_text("name: from-file\nservices:\n  web:\n    image: busybox\n")
    environ = {"COMPOSE_FILE": "one.yaml"}
    assert load(working_dir=str(tmp_path), environ=environ).name == "from-file"
    assert load(working_dir=str(tmp_path), environ={**environ, "COMPOSE_PROJECT_NAME": "env"}
                ).name == "env"
    assert load(working_dir=str(tmp_path), environ=environ, project_name="flag").name == "flag"
    with pytest.raises(ComposeError, match="invalid project name 'Bad Name'"):
        load(working_dir=str(tmp_path), environ=environ, project_name="Bad Name")
    (tmp_path / "one.yaml").write_text("services:\n  web:\n    image: busybox\n")
    directory = tmp_path / "My_App.v2"
    directory.mkdir()
    (directory / "compose.yml").write_text("services:\n  web:\n    image: busybox\n")
    assert load(working_dir=str(directory), environ={}).name == "my_appv2"


def test_profiles_enable_services_and_targets_bring_their_dependencies(tmp_path):
    text = ("services:\n  app:\n    image: busybox\n  debug:\n    image: busybox\n"
            "    profiles: [debug]\n  seed:\n    image: busybox\n    profiles: [tools]\n"
            "    depends_on: [app]\n")
    assert _load(tmp_path, text).active == ["app"]
    assert _load(tmp_path, text, profiles=["debug"]).active == ["app", "debug"]
    assert _load(tmp_path, text, environ={"COMPOSE_PROFILES": "tools,debug"}).active == [
        "app", "debug", "seed"]
    assert _load(tmp_path, text, services=["seed"]).active == ["app", "seed"]


def test_a_service_depending_on_a_disabled_profile_is_refused(tmp_path):
    refused = _refused(tmp_path, "services:\n  app:\n    image: busybox\n    depends_on: [db]\n"
                                 "  db:\n    image: busybox\n    profiles: [data]\n")
    assert "service app depends on db, which no enabled profile includes" in refused


def test_canonical_forms(tmp_path):
    project = _load(tmp_path, "services:\n  web:\n    image: busybox\n"
                              "    command: sh -c 'echo \"a b\"'\n"
                              "    ports: [80, '127.0.0.1::81', '8080:82/udp']\n"
                              "    volumes: ['/srv:/srv:ro', './rel:/rel']\n"
                              "    mem_limit: 64m\n    deploy:\n      resources:\n"
                              "        limits: {cpus: '0.5', pids: 100}\n"
                              "    stop_grace_period: 1m30s\n    healthcheck:\n"
                              "      test: redis-cli ping\n      interval: 2s\n")
    web = project.services["web"]
    assert web["command"] == ["sh", "-c", 'echo "a b"']
    assert web["ports"] == [{"target": 80, "protocol": "tcp"},
                            {"target": 81, "host_ip": "127.0.0.1", "protocol": "tcp"},
                            {"target": 82, "published": "8080", "protocol": "udp"}]
    assert web["volumes"][0] == {"type": "bind", "source": "/srv", "target": "/srv",
                                 "read_only": True, "bind": {"create_host_path": True}}
    assert web["volumes"][1]["source"] == f"{tmp_path}/rel"
    assert (web["mem_limit"], web["cpus"], web["pids_limit"]) == (64 << 20, 0.5, 100)
    assert web["healthcheck"] == {"test": ["CMD-SHELL", "redis-cli ping"], "interval": "2s"}
    assert "mem_limit and deploy.resources.limits.memory must be equal" in _refused(
        tmp_path, "services:\n  web:\n    image: busybox\n    mem_limit: 64m\n"
                  "    deploy: {resources: {limits: {memory: 32m}}}\n")


# -- hostile files ---------------------------------------------------------------------------

def test_a_yaml_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    lines.append("services:\n  web:\n    image: busybox\n    command: *i")
    started = time.monotonic()
    refused = _refused(tmp_path, "\n".join(lines) + "\n")
    assert "expands to more than 250000 values through its aliases" in refused
    assert time.monotonic() - started < 2


def test_a_recursive_anchor_is_refused(tmp_path):
    assert "recursive anchor" in _refused(
        tmp_path, "services:\n  web: &web\n    image: busybox\n    labels: *web\n")


def test_a_deeply_nested_document_is_refused(tmp_path):
    assert "nested too deeply" in _refused(
        tmp_path, "services:\n  web:\n    image: busybox\nx-deep: " + "[" * 5000 + "]" * 5000)


def test_a_ten_megabyte_file_is_refused_unread(tmp_path):
    path = tmp_path / "compose.yaml"
    with open(path, "w") as file:
        file.write("services:\n  web:\n    image: busybox\nx-padding: |\n")
        line = "  " + "x" * 98 + "\n"
        file.write(line * (10 * 1024 * 1024 // len(line)))
    with pytest.raises(ComposeError, match=r"compose.yaml is 10\.0 MiB, larger than the "
                                           r"4\.0 MiB a Compose file may be"):
        load(files=[str(path)], environ={})
    with pytest.raises(ComposeError, match="larger than the 4.0 MiB"):
        load(content=path.read_text(), environ={})


def test_broken_yaml_names_its_line(tmp_path):
    refused = _refused(tmp_path, "services:\n  web:\n    image: busybox\n   bad: [\n")
    assert refused.startswith(f"{tmp_path}/compose.yaml, line 4:")


def test_no_compose_file_is_a_clear_error(tmp_path):
    with pytest.raises(ComposeError, match="no Compose file in"):
        load(working_dir=str(tmp_path), environ={})


def test_yaml_marks_locate_values_through_merge_keys():
    document = source.parse("x-a: &a\n  image: busybox\nservices:\n  web:\n    <<: *a\n", "f")
    assert document.line(("services", "web", "image")) == 2
    assert document.where(("services", "web")) == "f, line 4"
