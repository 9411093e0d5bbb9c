"""How `moor` prints what a --format asks for, without an engine: Go's tabwriter, Docker's
formatter fields (ports, sizes, truncation), `table`/`json`/`raw`, the column titles, the
struct and map rules of documents, and the errors and statuses of bad templates.

Expected outputs are Docker's: docker/cli's formatter tests (DisplayablePorts, Ellipsis) and
outputs recorded from Docker 28 and Go's text/tabwriter.
"""

import pytest

from runtime.cli.output import TemplateFailed, go_document, render_documents, render_rows
from runtime.cli.rows import (
    ContainerRow,
    HistoryRow,
    ImageRow,
    NetworkRow,
    displayable_ports,
    ellipsis,
    human_size,
    truncate_id,
)
from runtime.cli.tabwriter import align

# Recorded from Go's tabwriter.NewWriter(out, 20, 1, 1, ' ', 0) (what `docker version`
# writes through) and NewWriter(out, 10, 1, 3, ' ', 0) (Docker's tables).
TABWRITER_CASES = [
    ("a\tbb\tc\nccc\td\te\n", 20, 1,
     "a                   bb                  c\nccc                 d                   e\n"),
    ("x\ty\nlonger text here\tz\nno tabs\nq\tr\n", 20, 1,
     "x                   y\nlonger text here    z\nno tabs\nq                   r\n"),
    ("\ta\n\t\tb\nc\t\t\n", 20, 1,
     "                    a\n                                        b\n"
     "c                                       \n"),
    ("h1\th2\th3\nv1\t\tv3\n", 20, 1,
     "h1                  h2                  h3\nv1                                      v3\n"),
    ("CONTAINER ID\tNAMES\nabc\tweb\n", 10, 3, "CONTAINER ID   NAMES\nabc            web\n"),
    ("REPOSITORY\tTAG\tIMAGE ID\nbusybox\tlatest\ted30e2bb54ed\n", 10, 3,
     "REPOSITORY   TAG       IMAGE ID\nbusybox      latest    ed30e2bb54ed\n"),
    ("NAMES\n", 10, 3, "NAMES\n"),
]


@pytest.mark.parametrize("text,minwidth,padding,expected", TABWRITER_CASES)
def test_tabwriter_aligns_as_go(text, minwidth, padding, expected):
    assert align(text, minwidth, padding) == expected


def _port(private, kind, address="", public=0):
    port = {"PrivatePort": private, "Type": kind}
    if address:
        port["IP"] = address
    if public:
        port["PublicPort"] = public
    return port


# docker/cli cli/command/formatter/container_test.go TestDisplayablePorts.
PORT_CASES = [
    ([_port(9988, "tcp")], "9988/tcp"),
    ([_port(9988, "udp")], "9988/udp"),
    ([_port(9988, "tcp", "0.0.0.0")], "0.0.0.0:0->9988/tcp"),
    ([_port(9988, "tcp", "::")], "[::]:0->9988/tcp"),
    ([_port(9988, "tcp", public=8899)], "9988/tcp"),
    ([_port(9988, "tcp", "4.3.2.1", 8899)], "4.3.2.1:8899->9988/tcp"),
    ([_port(9988, "tcp", "4.3.2.1", 9988)], "4.3.2.1:9988->9988/tcp"),
    ([_port(9988, "udp"), _port(9988, "udp")], "9988/udp, 9988/udp"),
    ([_port(9998, "udp", "1.2.3.4", 9998), _port(9999, "udp", "1.2.3.4", 9999)],
     "1.2.3.4:9998-9999->9998-9999/udp"),
    ([_port(9998, "udp", "1.2.3.4", 8887), _port(9999, "udp", "1.2.3.4", 8888)],
     "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp"),
    ([_port(9998, "udp"), _port(9999, "udp")], "9998-9999/udp"),
    ([_port(6677, "tcp", "1.2.3.4", 7766), _port(9988, "udp", public=8899)],
     "9988/udp, 1.2.3.4:7766->6677/tcp"),
    ([_port(9988, "udp", "1.2.3.4", 8899), _port(9988, "tcp", "1.2.3.4", 8899),
      _port(2233, "tcp", "4.3.2.1", 3322)],
     "4.3.2.1:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp"),
    ([_port(9988, "udp", public=8899), _port(6677, "tcp", "1.2.3.4", 7766),
      _port(2233, "tcp", "4.3.2.1", 3322)],
     "9988/udp, 4.3.2.1:3322->2233/tcp, 1.2.3.4:7766->6677/tcp"),
    ([_port(80, "tcp"), _port(1024, "tcp"), _port(80, "udp"), _port(1024, "udp"),
      _port(1024, "tcp", "1.1.1.1", 80), _port(1024, "udp", "1.1.1.1", 80),
      _port(80, "tcp", "1.1.1.1", 1024), _port(80, "udp", "1.1.1.1", 1024),
      _port(1024, "tcp", "2.1.1.1", 80), _port(1024, "udp", "2.1.1.1", 80),
      _port(80, "tcp", "2.1.1.1", 1024), _port(80, "udp", "2.1.1.1", 1024),
      _port(12345, "sctp")],
     "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, "
     "1.1.1.1:1024->80/udp, 2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, "
     "1.1.1.1:80->1024/udp, 2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp"),
]


@pytest.mark.parametrize("ports,expected", PORT_CASES, ids=[c[1] for c in PORT_CASES])
def test_ports_are_shown_as_docker_groups_them(ports, expected):
    assert displayable_ports(ports) == expected


@pytest.mark.parametrize("function,args,expected", [
    (human_size, (0,), "0B"), (human_size, (2,), "2B"), (human_size, (999,), "999B"),
    (human_size, (1000,), "1kB"), (human_size, (4213000,), "4.21MB"),
    (human_size, (999999,), "1e+03kB"), (human_size, (4213000, 4), "4.213MB"),
    (ellipsis, ("sh -c echo x > /file; exit 3", 20), "sh -c echo x > /fil…"),
    (ellipsis, ("short", 20), "short"), (ellipsis, ("abcdef", 1), "a"),
    (ellipsis, ("你好你好你好", 5), "你好…"), (ellipsis, ("", 0), ""),
    (truncate_id, ("sha256:ed30e2bb54ed249b567eb3906f87a035466fa9003b40b",), "ed30e2bb54ed"),
    (truncate_id, ("<missing>",), "<missing>"),
])
def test_units_and_truncation(function, args, expected):
    assert function(*args) == expected


SUMMARY = {"Id": "e4e0141d9c6a54af52bac8bcd1d014e6f1c8245f1551244a7ef3ac67c1eadbc7",
           "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:ed30e2bb54ed249b567e",
           "Command": "httpd -f -p 80 -h /var/www/html", "Created": 1700000000,
           "State": "running", "Status": "Up 2 minutes",
           "Ports": [_port(80, "tcp", "0.0.0.0", 8080)],
           "Labels": {"tier": "front", "com.example.app": "web"}}
OTHER = {**SUMMARY, "Id": "fa2a787d3d3f" + "0" * 52, "Names": ["/a-much-longer-name"],
         "Image": "sha256:ed30e2bb54ed249b567e", "Ports": [], "Labels": {},
         "Command": "sleep 1000", "State": "exited", "Status": "Exited (3) 5 seconds ago"}
ROWS = [ContainerRow(SUMMARY), ContainerRow(OTHER)]

LISTING_CASES = [
    ("{{.ID}}: {{.Command}}",
     'e4e0141d9c6a: "httpd -f -p 80 -h /…"\nfa2a787d3d3f: "sleep 1000"\n'),
    ("table {{.ID}}\\t{{.Labels}}",
     "CONTAINER ID   LABELS\ne4e0141d9c6a   com.example.app=web,tier=front\nfa2a787d3d3f   \n"),
    ('table {{.Names}}\\t{{.Label "com.example.app"}}\\t{{.Image}}',
     "NAMES                app       IMAGE\nweb                  web       busybox\n"
     "a-much-longer-name             ed30e2bb54ed\n"),
    ("table {{.Names}}\\t{{.Ports}}",
     "NAMES                PORTS\nweb                  0.0.0.0:8080->80/tcp\n"
     "a-much-longer-name   \n"),
    ("table {{.Names | upper}}\\t{{json .State}}\\t{{pad .Status 1 1}}|",
     "NAMES                STATE        STATUS |\n"
     "WEB                  \"running\"    Up 2 minutes |\n"
     "A-MUCH-LONGER-NAME   \"exited\"     Exited (3) 5 seconds ago |\n"),
    ("{{.Names}}\\n{{.State}}", "web\nrunning\na-much-longer-name\nexited\n"),
    ("  {{.Names}}  ", "web\na-much-longer-name\n"),     # spaces around are trimmed
    ('{{range split .Labels ","}}[{{.}}]{{end}}', "[com.example.app=web][tier=front]\n[]\n"),
    ("{{if eq .State \"running\"}}up{{else}}{{.State}}{{end}}", "up\nexited\n"),
    ("{{.Platform}}", "<nil>\n<nil>\n"),
]


@pytest.mark.parametrize("template,expected", LISTING_CASES, ids=[c[0] for c in LISTING_CASES])
def test_listing_templates(template, expected):
    assert render_rows(template, ROWS, ContainerRow) == expected


@pytest.mark.parametrize("template", [None, "table", "raw", "{{.ID}}\\t{{.Platform}}",
                                      "{{.ID}} {{.Image}} {{.Command}}"] +
                         [case[0] for case in LISTING_CASES])
def test_plain_field_templates_print_what_the_template_prints(template, monkeypatch):
    """Listings call the rows' methods themselves for templates of `{{.Field}}`s alone (a
    shortcut for `ps` of many containers): the same text as running the template."""
    from runtime.cli import output
    rows = ROWS + [ContainerRow(OTHER, trunc=False)]
    shortcut = render_rows(template, rows, ContainerRow)
    monkeypatch.setattr(output, "_plain_rows", lambda text, rows: None)
    assert shortcut == render_rows(template, rows, ContainerRow)


def test_json_lines_carry_every_field_sorted_and_html_escaped():
    import json
    line = render_rows("json", ROWS[:1], ContainerRow)
    assert line.count("\n") == 1 and ">" not in line
    document = json.loads(line)
    assert list(document) == sorted(document) == sorted(ContainerRow.FIELDS)
    assert document["Command"] == '"httpd -f -p 80 -h /…"' and document["Platform"] is None
    assert document["Ports"] == "0.0.0.0:8080->80/tcp"
    assert '"Ports":"0.0.0.0:8080-\\u003e80/tcp"' in line
    assert render_rows("{{json .}}", ROWS[:1], ContainerRow) == line


def test_no_trunc_shows_everything():
    row = ContainerRow(OTHER, trunc=False)
    assert render_rows("{{.ID}} {{.Image}} {{.Command}}", [row], ContainerRow) == \
        f"{OTHER['Id']} sha256:ed30e2bb54ed249b567e \"sleep 1000\"\n"


def test_default_table_and_raw():
    import re
    table = render_rows(None, ROWS[:1], ContainerRow).splitlines()
    assert re.split(" {3,}", table[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                           "STATUS", "PORTS", "NAMES"]
    assert re.split(" {3,}", table[1])[:3] == ["e4e0141d9c6a", "busybox",
                                               '"httpd -f -p 80 -h /…"']
    assert table[0].index("NAMES") == table[1].index("web")
    assert render_rows("table", ROWS[:1], ContainerRow) == render_rows(None, ROWS[:1],
                                                                       ContainerRow)
    raw = render_rows("raw", ROWS[:1], ContainerRow)
    assert raw.startswith("container_id: e4e0141d9c6a\nimage: busybox\n")
    assert "labels: com.example.app=web,tier=front\nports: 0.0.0.0:8080->80/tcp\n\n" in raw


def test_a_table_without_rows_prints_its_header():
    assert render_rows("table {{.ID}}\\t{{.Names}}", [], ContainerRow) == \
        "CONTAINER ID   NAMES\n"
    assert render_rows("{{.ID}}", [], ContainerRow) == ""


def test_other_listings_have_dockers_titles():
    image = ImageRow({"Id": "sha256:ed30e2bb54ed249b567eb3906f87", "Created": 1700000000,
                      "Size": 4213000}, "busybox", "latest")
    assert render_rows("table {{.ID}}\\t{{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t"
                       "{{.Containers}}\\t{{.Size}}", [image], ImageRow) == (
        "IMAGE ID       REPOSITORY   TAG       DIGEST    CONTAINERS   SIZE\n"
        "ed30e2bb54ed   busybox      latest    <none>    N/A          4.21MB\n")
    step = HistoryRow({"Id": "<missing>", "Created": 0, "CreatedBy": "a\tb", "Size": 2000,
                       "Comment": "c"}, human=False)
    assert render_rows("table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}",
                       [step], HistoryRow) == (
        "IMAGE       CREATED                CREATED BY   SIZE\n"
        "<missing>   1970-01-01T00:00:00Z   a b          2000\n")
    network = NetworkRow({"Id": "40490cde1f5d9f0a", "Name": "bridge", "Driver": "bridge",
                          "Scope": "local", "Labels": {"team": "a"},
                          "Created": "2026-12-06T14:37:34.349443900Z"})
    assert render_rows('table {{.ID}}\\t{{.Label "team"}}\\t{{.IPv6}}\\t{{.CreatedAt}}',
                       [network], NetworkRow) == (
        "NETWORK ID     team      IPV6      CREATED AT\n"
        "40490cde1f5d   a         false     2026-12-06 14:37:34.3494439 +0000 UTC\n")


# (template, message, status) of templates a listing refuses: nothing is printed.
LISTING_ERRORS = [
    ("{{.Foo}}", 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t '
                 'evaluate field Foo in type *formatter.ContainerContext', 1),
    ("{{.Names", "template parsing error: template: :1: unclosed action", 1),
    ("table {{.ID}}\\t{{.Bad}}", 'template parsing error: template: :1:10: executing "" at '
                                 '<.Bad>: can\'t evaluate field Bad in type '
                                 '*formatter.ContainerContext', 1),
    ('{{.Label}}', 'template parsing error: template: :1:2: executing "" at <.Label>: wrong '
                   'number of args for Label: want 1 got 0', 1),
]


@pytest.mark.parametrize("template,message,status", LISTING_ERRORS,
                         ids=[c[0] for c in LISTING_ERRORS])
def test_a_bad_template_fails_the_listing(template, message, status):
    with pytest.raises(TemplateFailed) as raised:
        render_rows(template, ROWS, ContainerRow)
    assert (raised.value.message, raised.value.status) == (message, status)


DOCUMENT = {
    "Id": "abc", "Name": "/web", "Args": None, "SizeRootFs": None,
    "State": {"Status": "running", "Running": True, "Pid": 42, "Health": None},
    "Config": {"Cmd": ["httpd", "-f"], "Entrypoint": None, "Env": ["A=1"],
               "Labels": {"tier": "front"}, "ExposedPorts": {"80/tcp": {}}, "Volumes": None},
    "HostConfig": {"Binds": None, "LogConfig": {"Type": "k8s-file", "Config": {}}},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}},
                        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                                  "443/tcp": None}},
}

DOCUMENT_CASES = [
    ("{{.State.Status}} {{.State.Pid}} {{.State.Running}}", "running 42 true\n"),
    ("{{.State}}", "{running true 42 <nil>}\n"),
    ("{{.Config.Cmd}} {{.Config.Entrypoint}} {{.Args}} {{.HostConfig.Binds}}",
     "[httpd -f] [] [] []\n"),
    ("{{.Config.Volumes}} {{.SizeRootFs}} {{.State.Health}}", "map[] <nil> <nil>\n"),
    ("{{.Config.Labels.tier}}|{{.Config.Labels.nope}}|{{index .Config.Labels \"nope\"}}|",
     "front|<no value>||\n"),
    ("{{.Config.ExposedPorts}} {{.HostConfig.LogConfig.Config.missing}}",
     "map[80/tcp:{}] <no value>\n"),
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "172.17.0.2\n"),
    ("{{range $p, $conf := .NetworkSettings.Ports}}{{$p}}:{{len $conf}} {{end}}",
     "443/tcp:0 80/tcp:1 \n"),
    ("{{.NetworkSettings.Ports}}", "map[443/tcp:[] 80/tcp:[{0.0.0.0 8080}]]\n"),
    ('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', "8080\n"),
    ("{{json .Config}}", '{"Cmd":["httpd","-f"],"Entrypoint":null,"Env":["A=1"],'
                         '"Labels":{"tier":"front"},"ExposedPorts":{"80/tcp":{}},'
                         '"Volumes":null}\n'),
    ("{{.Name}}\\t{{.Id}}", "/web\\tabc\n"),
]


@pytest.mark.parametrize("template,expected", DOCUMENT_CASES, ids=[c[0] for c in DOCUMENT_CASES])
def test_document_templates(template, expected):
    assert render_documents(template, [DOCUMENT]) == (expected, [])


def test_document_errors():
    text, errors = render_documents("{{.Name}} {{.Foo}}", [DOCUMENT, {"Name": "x", "Foo": 1}])
    assert text == "x 1\n"
    assert errors == ['template parsing error: template: :1:12: executing "" at <.Foo>: map has '
                      'no entry for key "Foo"']
    assert render_documents("{{.Foo}}", [DOCUMENT])[0] == "\n"
    with pytest.raises(TemplateFailed) as raised:
        render_documents("{{.Foo", [DOCUMENT])
    assert raised.value.status == 64
    assert raised.value.message == "template parsing error: template: :1: unclosed action"
    assert render_documents("json", [{"a": 1}, {"b": [2]}]) == ('[{"a":1},{"b":[2]}]\n', [])


def test_documents_keep_structs_and_maps_apart():
    value = go_document({"Labels": {"a": {"b": 1}}, "Config": {"x": None}}, type_name="T")
    assert type(value.get("Labels")) is dict
    assert value.get("Labels")["a"].get("b") == 1          # a map's objects are structs
    assert value.type_name == "T" and value.get("Config").type_name is None
