"""/etc/hosts and /etc/resolv.conf as Docker writes them, rewritten in place."""

import os

from runtime.network import hostfiles


def test_hosts_has_dockers_localhost_lines_then_the_container():
    text = hostfiles.hosts_text(("172.17.0.2", ["abc123", "web", "web"]),
                                [("172.18.0.3", ["db", "0123456789ab"])])
    assert text.startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    assert text.endswith("172.17.0.2\tabc123 web\n172.18.0.3\tdb 0123456789ab\n")


def test_none_mode_hosts_has_only_localhost_lines():
    assert hostfiles.hosts_text(None, []) == hostfiles.LOCALHOST_LINES


def test_resolv_conf_drops_loopback_nameservers(tmp_path, monkeypatch):
    host = tmp_path / "resolv.conf"
    host.write_text("# comment\nnameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.53\n"
                    "search example.test\noptions ndots:2\n")
    monkeypatch.setattr(hostfiles, "HOST_RESOLV_CONF", str(host))
    assert hostfiles.resolv_conf_text() == ("# comment\nnameserver 10.0.0.53\n"
                                            "search example.test\noptions ndots:2\n")


def test_resolv_conf_falls_back_to_dockers_public_servers(tmp_path, monkeypatch):
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.11\nsearch lan\n")
    monkeypatch.setattr(hostfiles, "HOST_RESOLV_CONF", str(host))
    assert hostfiles.resolv_conf_text() == "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_resolv_conf_follows_systemd_resolved(tmp_path, monkeypatch):
    stub, upstream = tmp_path / "stub", tmp_path / "upstream"
    stub.write_text("nameserver 127.0.0.53\noptions edns0\n")
    upstream.write_text("nameserver 192.0.2.53\n")
    monkeypatch.setattr(hostfiles, "HOST_RESOLV_CONF", str(stub))
    monkeypatch.setattr(hostfiles, "SYSTEMD_RESOLV_CONF", str(upstream))
    assert hostfiles.resolv_conf_text() == "nameserver 192.0.2.53\n"


def test_rewriting_keeps_the_inode_and_cuts_the_old_tail(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("a much longer first version of the file\n")
    inode = os.stat(path).st_ino
    hostfiles.write_in_place(str(path), "short\n")
    assert path.read_text() == "short\n"
    assert os.stat(path).st_ino == inode
