"""`--format` through the real `moor` commands, on real containers, images and networks.

The templates are the examples of Docker's reference (docs/reference/commandline: ps,
inspect, images, history, network ls/inspect, stats, info, version), and each expected
output is what Docker prints for them, with our IDs, names, addresses and ports.
"""

import json
import re

import pytest

from tests.runtime.network.conftest import free_port

pytestmark = pytest.mark.privileged


class Scene:
    """What the examples run against: a web server with labels and a published port, a
    container that exited 3 after writing a file, an image committed from it, a labelled
    network."""

    def __init__(self, moor):
        self.port = free_port()
        self.web = moor("run", "-d", "--name", "fmt-web", "-l", "com.example.app=web", "-l",
                        "tier=front", "-p", f"127.0.0.1:{self.port}:80", "busybox", "httpd",
                        "-f", "-p", "80", check=True).stdout.strip()
        result = moor("run", "--name", "fmt-done", "busybox", "sh", "-c",
                      "echo hi > /note; exit 3")
        assert result.returncode == 3, result.stderr
        self.done = moor("inspect", "--format", "{{.Id}}", "fmt-done", check=True).stdout.strip()
        self.image = moor("commit", "-m", "add note", "fmt-done", "fmt-image:1",
                          check=True).stdout.strip()
        self.busybox = moor("image", "inspect", "--format", "{{.Id}}", "busybox",
                            check=True).stdout.strip()
        self.network = moor("network", "create", "--label", "team=a", "fmt-net",
                            check=True).stdout.strip()
        self.document = json.loads(moor("inspect", "fmt-web", check=True).stdout)[0]
        self.address = self.document["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        self.mac = self.document["NetworkSettings"]["Networks"]["bridge"]["MacAddress"]
        self.version = moor("version", check=True).stdout.split()[2]


@pytest.fixture
def scene(engine, moor):
    made = Scene(moor)
    yield made
    moor("rm", "-f", "fmt-web", "fmt-done")
    moor("rmi", "fmt-image:1")
    moor("network", "rm", "fmt-net")


# (arguments, expected stdout: a string, or a function of the scene giving one, or a
# compiled pattern the whole output must match)
CASES = [
    # docker ps --format "{{.ID}}: {{.Command}}"
    (["ps", "--filter", "name=fmt-web", "--format", "{{.ID}}: {{.Command}}"],
     lambda s: f'{s.web[:12]}: "httpd -f -p 80"\n'),
    # docker ps --format "table {{.ID}}\t{{.Labels}}"
    (["ps", "--filter", "name=fmt-web", "--format", "table {{.ID}}\\t{{.Labels}}"],
     lambda s: f"CONTAINER ID   LABELS\n{s.web[:12]}   com.example.app=web,tier=front\n"),
    # docker ps --format 'table {{.Names}}\t{{.Label "com.example.app"}}\t{{.Ports}}'
    (["ps", "-a", "--filter", "name=fmt-", "--format",
      'table {{.Names}}\\t{{.Label "com.example.app"}}\\t{{.Ports}}'],
     lambda s: "NAMES      app       PORTS\n"
               f"fmt-done             \nfmt-web    web       127.0.0.1:{s.port}->80/tcp\n"),
    (["ps", "-a", "--filter", "name=fmt-", "--format",
      "{{.Names}} {{.State}} {{.Networks}} {{.Image}} {{.Mounts}}|"],
     "fmt-done exited bridge busybox |\nfmt-web running bridge busybox |\n"),
    (["ps", "-a", "--filter", "name=fmt-done", "--format", "{{.Status}}"],
     re.compile(r"Exited \(3\) (Less than a second|\d+ seconds?) ago\n")),
    # .Size makes ps measure the writable layer, as Docker's --size
    (["ps", "-a", "--filter", "name=fmt-done", "--format", "{{.Size}}"],
     re.compile(r"3B \(virtual \d+(\.\d+)?MB\)\n")),
    (["ps", "-a", "-s", "--filter", "name=fmt-done", "--format", "table {{.Names}}\\t{{.Size}}"],
     re.compile(r"NAMES      SIZE\nfmt-done   3B \(virtual \d+(\.\d+)?MB\)\n")),
    (["ps", "--filter", "name=fmt-web", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
     lambda s: f'{s.web} "httpd -f -p 80"\n'),
    # docker ps --format json: one object per line, Docker's fields
    (["ps", "--filter", "name=fmt-web", "--format", "json"],
     lambda s: json.dumps({
         "Command": '"httpd -f -p 80"', "CreatedAt": "*", "ID": s.web[:12], "Image": "busybox",
         "Labels": "com.example.app=web,tier=front", "LocalVolumes": "0", "Mounts": "",
         "Names": "fmt-web", "Networks": "bridge", "Platform": None,
         "Ports": f"127.0.0.1:{s.port}->80/tcp", "RunningFor": "*", "Size": "0B",
         "State": "running", "Status": "*"}, separators=(",", ":"))),
    # docker inspect examples
    (["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
      "fmt-web"], lambda s: s.address + "\n"),
    (["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
      "fmt-web"], lambda s: s.mac + "\n"),
    (["inspect", "--format", "{{.LogPath}}", "fmt-web"], lambda s: s.document["LogPath"] + "\n"),
    (["inspect", "--format", "{{.Config.Image}}", "fmt-web"], "busybox\n"),
    (["inspect", "--format", "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> "
                             "{{(index $conf 0).HostPort}} {{end}}", "fmt-web"],
     lambda s: f" 80/tcp -> {s.port} \n"),
    (["inspect", "--format", '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}',
      "fmt-web"], lambda s: f"{s.port}\n"),
    (["inspect", "--format", "{{json .Config}}", "fmt-web"],
     lambda s: json.dumps(s.document["Config"], separators=(",", ":")) + "\n"),
    (["inspect", "--format", "{{.Name}} {{.State.Status}} {{.State.ExitCode}}", "fmt-web",
      "fmt-done"], "/fmt-web running 0\n/fmt-done exited 3\n"),
    (["inspect", "--format", '{{.Config.Labels.tier}}|{{.Config.Labels.nope}}|'
                             '{{index .Config.Labels "nope"}}|{{.Config.Entrypoint}}', "fmt-web"],
     "front|<no value>||[]\n"),
    (["inspect", "--format", "{{.Config.Cmd}} {{len .Config.Env}} {{.State.Running}}",
      "fmt-web"], "[httpd -f -p 80] 1 true\n"),
    (["inspect", "--format", "json", "fmt-web"],
     lambda s: json.dumps([s.document], separators=(",", ":")) + "\n"),
    # docker image inspect --format
    (["image", "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.Comment}}", "fmt-image:1"],
     lambda s: f"{s.image} [fmt-image:1] add note\n"),
    # docker images --format "{{.ID}}: {{.Repository}}"
    (["images", "fmt-image", "--format", "{{.ID}}: {{.Repository}}"],
     lambda s: f"{s.image[7:19]}: fmt-image\n"),
    # docker images --format "table {{.ID}}\t{{.Repository}}\t{{.Tag}}"
    (["images", "fmt-image", "--format", "table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}"],
     lambda s: f"IMAGE ID       REPOSITORY   TAG\n{s.image[7:19]}   fmt-image    1\n"),
    (["images", "fmt-image", "--no-trunc", "--format", "{{.ID}} {{.Digest}} {{.Containers}}"],
     lambda s: f"{s.image} <none> N/A\n"),
    # docker history --format "{{.ID}}: {{.CreatedSince}}"
    (["history", "--format", "{{.ID}}: {{.CreatedSince}}", "fmt-image:1"],
     lambda s: re.compile(re.escape(s.image[7:19]) + r": (Less than a second|\d+ seconds?) "
                          r"ago\n" + re.escape(s.busybox[7:19]) + r": .+ ago\n")),
    (["history", "--format", "table {{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}", "fmt-image:1"],
     re.compile(r"CREATED BY                                      SIZE      COMMENT\n"
                r"sh -c echo hi > /note; exit 3                   3B        add note\n"
                r"moor image bootstrap busybox \(BusyBox v1\.\S+   \d\S*MB    \n")),
    # docker network ls --format "{{.ID}}: {{.Driver}}"
    (["network", "ls", "--filter", "name=fmt-net", "--format", "{{.ID}}: {{.Driver}}"],
     lambda s: f"{s.network[:12]}: bridge\n"),
    (["network", "ls", "--filter", "name=fmt-net", "--format",
      'table {{.Name}}\\t{{.Label "team"}}\\t{{.Internal}}'],
     "NAME      team      INTERNAL\nfmt-net   a         false\n"),
    (["network", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Labels}} {{.Internal}}",
      "fmt-net"], "fmt-net bridge map[team:a] false\n"),
    # docker stats --format "{{.Container}}: {{.PIDs}}"
    (["stats", "--no-stream", "--format", "{{.Container}}: {{.Name}} {{.PIDs}}", "fmt-web"],
     "fmt-web: fmt-web 1\n"),
    (["stats", "--no-stream", "--format", "table {{.Name}}\\t{{.CPUPerc}}", "fmt-web"],
     re.compile(r"NAME      CPU %\nfmt-web   \d+\.\d\d%\n")),
    # docker info --format '{{json .ServerVersion}}', docker version --format
    (["info", "--format", "{{json .ServerVersion}} {{.Driver}}"],
     lambda s: f'"{s.version}" overlay\n'),
    (["version", "--format", "{{.Server.Version}}"], lambda s: f"{s.version}\n"),
]


def _check(scene, result, expected):
    if callable(expected):
        expected = expected(scene)
    if isinstance(expected, re.Pattern):
        assert expected.fullmatch(result.stdout), result.stdout
    elif '"*"' in expected:
        line = json.loads(result.stdout)
        wanted = json.loads(expected)
        assert list(line) == list(wanted)
        assert {k: v for k, v in line.items() if wanted[k] != "*"} == \
            {k: v for k, v in wanted.items() if v != "*"}
        assert result.stdout.count("\n") == 1
    else:
        assert result.stdout == expected


def test_dockers_reference_examples(scene, moor):
    """Every example in one scene: containers are slow to make, the table is the test."""
    failures = []
    for args, expected in CASES:
        result = moor(*args)
        try:
            assert result.returncode == 0, result.stderr
            assert result.stderr == "", result.stderr
            _check(scene, result, expected)
        except AssertionError as error:
            failures.append(f"moor {' '.join(args)}: {error}")
    assert not failures, "\n".join(failures)


# (arguments, exit status, the one line on stderr): errors in templates are errors, with
# Docker's words, the position, and Docker's status; nothing is printed on stdout.
ERRORS = [
    (["ps", "--format", "{{.Foo}}"], 1,
     'failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate '
     'field Foo in type *formatter.ContainerContext'),
    (["ps", "--format", "{{.Names"], 1, "failed to parse template: template: :1: unclosed action"),
    (["images", "--format", "{{.Bogus}}"], 1,
     'template parsing error: template: :1:2: executing "" at <.Bogus>: can\'t evaluate field '
     'Bogus in type *formatter.imageContext'),
    (["network", "ls", "--format", "{{.Name }"], 1,
     'template parsing error: template: :1: unexpected "}" in operand'),
    (["history", "--format", "{{index .ID 99}}", "busybox"], 1,
     'template parsing error: template: :1:2: executing "" at <index .ID 99>: error calling '
     'index: index out of range: 99'),
    (["stats", "--no-stream", "--format", "{{.Bad"], 1,
     "template parsing error: template: :1: unclosed action"),
    (["inspect", "--format", "{{.Foo}}", "fmt-web"], 1,
     'template parsing error: template: :1:2: executing "" at <.Foo>: map has no entry for '
     'key "Foo"'),
    (["inspect", "--format", "{{.State.Status", "fmt-web"], 64,
     "template parsing error: template: :1: unclosed action"),
    (["network", "inspect", "--format", "{{if}}", "fmt-net"], 64,
     "template parsing error: template: :1: missing value for if"),
    (["info", "--format", "{{.Foo}}"], 1,
     'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type '
     'system.dockerInfo'),
    (["version", "--format", "{{.Server.Version"], 64,
     "template parsing error: template: version:1: unclosed action"),
]


def test_template_errors_fail_with_dockers_words_and_status(scene, moor):
    failures = []
    for args, status, message in ERRORS:
        result = moor(*args)
        if (result.returncode, result.stderr) != (status, f"Error: {message}\n") or \
                result.stdout.strip():
            failures.append(f"moor {' '.join(args)}: {result.returncode} {result.stderr!r} "
                            f"{result.stdout!r}")
    assert not failures, "\n".join(failures)


def test_help_names_the_template_language(moor):
    assert "Go template" in moor("--help", check=True).stdout
    for verb in (["ps"], ["images"], ["inspect"], ["history"], ["stats"], ["info"], ["version"],
                 ["network", "ls"], ["network", "inspect"], ["image", "inspect"]):
        assert "Go template" in moor(*verb, "--help", check=True).stdout, verb
