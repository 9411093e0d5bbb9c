"""How mounts are asked for (`-v`, `--mount`, `--tmpfs`, VOLUME) and refused: parsing and
checking only, before anything is made (no root needed)."""

import pytest

from runtime.container import options
from runtime.errors import InvalidArgument
from runtime.volume import names, specs, tmpfs

IMAGE = {"config": {"Cmd": ["sh"]}}


# -- -v -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("/srv/site:/www", {"Type": "bind", "Source": "/srv/site", "Destination": "/www",
                        "Mode": "", "RW": True, "Propagation": "rprivate"}),
    ("/srv//site/:/www/./x:ro", {"Type": "bind", "Source": "/srv/site",
                                 "Destination": "/www/x", "Mode": "ro", "RW": False,
                                 "Propagation": "rprivate"}),
    ("/srv:/srv:rshared,z", {"Type": "bind", "Propagation": "rshared", "Mode": "rshared,z",
                             "RW": True}),
    ("data:/data", {"Type": "volume", "Name": "data", "Destination": "/data", "Mode": "z",
                    "RW": True, "Driver": "local", "CopyData": True, "Anonymous": False}),
    ("data:/data:ro,nocopy", {"Type": "volume", "Name": "data", "Mode": "ro,nocopy",
                              "RW": False, "CopyData": False}),
    ("/cache", {"Type": "volume", "Name": "", "Destination": "/cache", "Anonymous": True,
                "Mode": "z"}),
    ("my.vol_1-a:/x:rw,cached", {"Type": "volume", "Name": "my.vol_1-a", "RW": True}),
])
def test_v_strings_become_mount_points(text, expected):
    point = specs.parse_bind(text)
    assert {key: point[key] for key in expected} == expected


@pytest.mark.parametrize("text, message", [
    ("/data:ro", "invalid volume specification: '/data:ro'"),
    (":/data", "invalid volume specification: ':/data'"),
    ("a:/b:ro:x", "invalid volume specification: 'a:/b:ro:x'"),
    ("data:/data:ro,rw", "invalid mode: ro,rw"),
    ("data:/data:bogus", "invalid mode: bogus"),
    ("data:relative", "mount path must be absolute"),
    ("data:/", "destination can't be '/'"),
    ("/srv:/../..", "destination can't be '/'"),
    ("data:/data:rshared", 'type "volume": field BindOptions must not be specified'),
    ("/srv:/srv:nocopy", 'type "bind": field VolumeOptions must not be specified'),
    ("./dir:/x", 'includes invalid characters for a local volume name'),
    ("../etc:/x", 'includes invalid characters for a local volume name'),
    ("a/b:/x", 'includes invalid characters for a local volume name'),
    ("x:/x", "volume name is too short"),
    (".hidden:/x", "includes invalid characters"),
])
def test_bad_v_strings_are_refused_with_dockers_words(text, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(
            ")", r"\)")):
        specs.parse_bind(text)


def test_volume_names_follow_the_local_drivers_rule():
    assert names.validate("a1") == "a1"
    for bad in ("", "a", "-ab", "_ab", ".ab", "..", "a b", "a/b", "ab\0", "é" * 3, "a" * 256):
        with pytest.raises(InvalidArgument):
            names.validate(bad)
    anonymous = names.anonymous()
    assert len(anonymous) == 64 and names.validate(anonymous) == anonymous


# -- --mount --------------------------------------------------------------------------------

def test_mount_flags_become_dockers_api_objects():
    assert specs.parse_mount_flag("type=volume,src=data,dst=/data,readonly,volume-nocopy,"
                                  "volume-label=a=b,volume-label=c=") == {
        "Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": True,
        "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b", "c": ""}}}
    assert specs.parse_mount_flag("type=bind,source=/srv,destination=/www,ro=false,"
                                  "bind-propagation=rslave") == {
        "Type": "bind", "Source": "/srv", "Target": "/www", "ReadOnly": False,
        "BindOptions": {"Propagation": "rslave"}}
    assert specs.parse_mount_flag("type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770") == {
        "Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 64 << 20,
                                                           "Mode": 0o1770}}
    assert specs.parse_mount_flag("target=/anon")["Type"] == "volume"
    assert specs.parse_mount_flag('"type=volume","target=/a,b"')["Target"] == "/a,b"


@pytest.mark.parametrize("text, message", [
    ("type=volume,dst=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("type=volume,dst=/x,size", "invalid field 'size' must be a key=value pair"),
    ("type=volume,src=data", "target is required"),
    ("type=bind,src=/srv,dst=/x,volume-nocopy", "cannot mix 'volume-\\*' options with mount "
                                                "type 'bind'"),
    ("type=volume,dst=/x,bind-propagation=shared", "cannot mix 'bind-\\*' options"),
    ("type=bind,src=/srv,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-\\*' options"),
    ("type=volume,dst=/x,readonly=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,dst=/x,tmpfs-size=huge", "invalid value for tmpfs-size: huge"),
    ("type=tmpfs,dst=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
])
def test_bad_mount_flags_are_refused_with_the_clis_words(text, message):
    with pytest.raises(InvalidArgument, match=message):
        specs.parse_mount_flag(text)


@pytest.mark.parametrize("mount, message", [
    ({"Type": "bind", "Source": "/no/such/dir", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist: /no/such/dir'),
    ({"Type": "bind", "Target": "/x"}, "field Source must not be empty"),
    ({"Type": "bind", "Source": "srv", "Target": "/x"}, "mount path must be absolute"),
    ({"Type": "bind", "Source": "/srv", "Target": "/x",
      "BindOptions": {"Propagation": "sideways"}}, "invalid propagation mode: sideways"),
    ({"Type": "volume", "Target": "/x", "ReadOnly": True},
     "must not set ReadOnly mode when using anonymous volumes"),
    ({"Type": "volume", "Source": "../../etc", "Target": "/x"}, "invalid characters"),
    ({"Type": "volume", "Source": "v1", "Target": "/x",
      "VolumeOptions": {"DriverConfig": {"Name": "nfs"}}}, 'plugin "nfs" not found'),
    ({"Type": "volume", "Source": "v1", "Target": "/x", "VolumeOptions": {"Subpath": "a"}},
     "subpaths are not supported"),
    ({"Type": "tmpfs", "Source": "x", "Target": "/x"}, "field Source must not be specified"),
    ({"Type": "npipe", "Source": "x", "Target": "/x"}, "mount type unknown"),
    ({"Type": "volume", "Target": ""}, "field Target must not be empty"),
    ({"Type": "volume", "Target": "/x", "Propagation": "shared"},
     "unknown mount field: Propagation"),
    ({"Type": "bind", "Source": "/srv", "Target": "/x", "BindOptions": {"Recursive": "no"}},
     "unknown mount field in BindOptions: Recursive"),
])
def test_bad_api_mounts_are_refused(mount, message):
    with pytest.raises(InvalidArgument, match=message):
        specs.normalize_mount(mount)


def test_api_mounts_may_carry_nulls_for_what_is_unset():
    mount = specs.normalize_mount({"Type": "volume", "Source": "data", "Target": "/data",
                                   "ReadOnly": None, "BindOptions": None,
                                   "VolumeOptions": {"NoCopy": None, "Labels": None}})
    assert mount == {"Type": "volume", "Source": "data", "Target": "/data",
                     "VolumeOptions": {}}


# -- --tmpfs ----------------------------------------------------------------------------------

def test_tmpfs_options_start_from_dockers_defaults_and_later_ones_win():
    assert tmpfs.mount_options("") == ["noexec", "nosuid", "nodev", "rprivate"]
    assert tmpfs.mount_options("exec,size=64m,mode=1777,size=1g") == [
        "nosuid", "nodev", "rprivate", "exec", "mode=1777", "size=1g"]
    assert tmpfs.parse(["/run:size=1m", "/tmp"]) == {"/run": "size=1m", "/tmp": ""}


@pytest.mark.parametrize("value, message", [
    (["/run:size=lots"], "invalid tmpfs option 'size=lots'"),
    (["/run:bind"], "invalid tmpfs option 'bind'"),
    (["/run:uid=root"], "invalid tmpfs option 'uid=root'"),
    (["run"], "mount path must be absolute"),
    (["/"], "destination can't be '/'"),
])
def test_bad_tmpfs_is_refused(value, message):
    with pytest.raises(InvalidArgument, match=message):
        tmpfs.parse(value)


# -- all of them, through the create options ---------------------------------------------------

def _plan(create_options, image=IMAGE):
    config, host_config = options.build({"image": "busybox", **create_options}, image)
    return config, host_config, specs.plan(config, host_config)


def test_every_kind_of_mount_lands_in_dockers_documents(tmp_path):
    config, host, points = _plan({
        "binds": [f"{tmp_path}:/host", "data:/data"], "volumes": ["/anon"],
        "mounts": ["type=tmpfs,dst=/scratch,tmpfs-size=1m", {
            "Type": "volume", "Source": "logs", "Target": "/data/logs"}],
        "tmpfs": ["/run:size=64k"]}, {"config": {"Cmd": ["sh"], "Volumes": {"/cache": {}}}})
    assert host["Binds"] == [f"{tmp_path}:/host", "data:/data"]
    assert host["Mounts"][0] == {"Type": "tmpfs", "Target": "/scratch",
                                 "TmpfsOptions": {"SizeBytes": 1 << 20}}
    assert host["Tmpfs"] == {"/run": "size=64k"}
    assert config["Volumes"] == {"/cache": {}, "/anon": {}}
    assert [(p["Type"], p["Destination"]) for p in points] == [
        ("bind", "/host"), ("volume", "/data"), ("tmpfs", "/scratch"), ("volume", "/cache"),
        ("volume", "/anon"), ("volume", "/data/logs")]
    assert points[2]["TmpfsOptions"] == "size=1m"


def test_an_image_volume_gives_way_to_a_mount_at_its_path():
    _, _, points = _plan({"binds": ["mine:/cache"]},
                         {"config": {"Cmd": ["sh"], "Volumes": {"/cache": {}}}})
    assert [(p["Name"], p["Destination"]) for p in points] == [("mine", "/cache")]
    _, _, points = _plan({"tmpfs": {"/cache": ""}},
                         {"config": {"Cmd": ["sh"], "Volumes": {"/cache": {}}}})
    assert points == []


@pytest.mark.parametrize("create_options", [
    {"binds": ["a1:/data", "b1:/data/"]},
    {"binds": ["a1:/data"], "tmpfs": ["/data"]},
    {"binds": ["a1:/data"], "mounts": ["type=volume,dst=/data"]},
    {"mounts": ["type=tmpfs,dst=/x", "type=volume,src=v1,dst=/x"]},
])
def test_a_destination_named_twice_is_refused(create_options):
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /data|/x"):
        _plan(create_options)


def test_mount_options_of_the_wrong_shape_are_refused():
    for bad in ({"mounts": "type=volume,dst=/x"}, {"volumes": "/x"}, {"tmpfs": 3},
                {"volumes": ["relative"]}):
        with pytest.raises(InvalidArgument):
            _plan(bad)
