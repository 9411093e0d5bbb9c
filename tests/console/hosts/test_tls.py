"""The lab CA of `./moorage up --tls` (console/hosts/tls.py): what it makes, for which names,
and that it makes the CA once."""
import os
import stat

from cryptography import x509

from console.hosts import tls


def read(directory, name) -> bytes:
    with open(os.path.join(directory, name), "rb") as handle:
        return handle.read()


def certificate(directory, name) -> x509.Certificate:
    return x509.load_pem_x509_certificate(read(directory, name))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_ca_signs_a_server_certificate_for_the_names_and_loopback(tmp_path):
    directory = str(tmp_path / "tls")
    assert tls.ensure(directory, ["console.lab.test", "10.9.8.7", "fe80::1"]) == [
        "ca.pem", "server.pem"]
    ca, server = certificate(directory, "ca.pem"), certificate(directory, "server.pem")
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert tls.certificate_names(server) == {"console.lab.test", "10.9.8.7", "fe80::1",
                                             "localhost", "127.0.0.1", "::1"}
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "10.9.8.7" not in san.get_values_for_type(x509.DNSName)   # an address, as one
    assert mode(directory) == 0o700
    assert mode(os.path.join(directory, "ca.key")) == 0o600
    assert mode(os.path.join(directory, "server.key")) == 0o600
    assert mode(os.path.join(directory, "ca.pem")) == 0o644


def test_the_ca_is_made_once_and_the_certificate_again_only_for_a_new_name(tmp_path):
    directory = str(tmp_path / "tls")
    tls.ensure(directory, ["console.lab.test"])
    ca, server = read(directory, "ca.pem"), read(directory, "server.pem")

    assert tls.ensure(directory, ["console.lab.test", "localhost"]) == []
    assert read(directory, "ca.pem") == ca and read(directory, "server.pem") == server

    assert tls.ensure(directory, ["console.lab.test", "other.lab.test"]) == ["server.pem"]
    assert read(directory, "ca.pem") == ca
    renewed = certificate(directory, "server.pem")
    renewed.verify_directly_issued_by(certificate(directory, "ca.pem"))
    assert {"console.lab.test", "other.lab.test"} <= tls.certificate_names(renewed)


def test_a_server_certificate_another_ca_signed_is_made_again(tmp_path):
    directory, elsewhere = str(tmp_path / "tls"), str(tmp_path / "elsewhere")
    tls.ensure(directory, ["a.test"])
    tls.ensure(elsewhere, ["a.test"])
    os.replace(os.path.join(elsewhere, "server.pem"), os.path.join(directory, "server.pem"))
    assert tls.ensure(directory, ["a.test"]) == ["server.pem"]
    certificate(directory, "server.pem").verify_directly_issued_by(
        certificate(directory, "ca.pem"))


def test_the_command_says_what_it_made(tmp_path, capsys):
    directory = str(tmp_path / "tls")
    assert tls.main([directory, "console.lab.test"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"made {directory}/ca.pem", f"made {directory}/server.pem"]
    assert tls.main([directory, "console.lab.test"]) == 0
    assert capsys.readouterr().out == ""
