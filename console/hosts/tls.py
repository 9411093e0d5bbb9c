"""A lab certificate authority for `./moorage up --tls`: a CA of its own and the console's
server certificate, which daphne (https, wss) and Redis (rediss) both present. Hosts trust
the CA (`./moorage join ... --ca ca.pem`) and check every certificate against it, names
included.

    python -m console.hosts.tls DIR [NAME ...]

makes in DIR, once, `ca.pem` (the CA's certificate, what hosts are given) and `ca.key`, and
the server's `server.pem` and `server.key`, for the NAMEs (DNS names or IP addresses) and
`localhost`, `127.0.0.1` and `::1`. The CA is kept for good; the server certificate is made
again, signed by the same CA, when it lacks a name asked for or is near its end, so hosts
that hold the CA never need it again. Keys are files of mode 0600, in DIR (0700).

No Django here: the script runs it before the console's settings exist.
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALWAYS = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 825           # what browsers still accept for a server certificate
RENEW_BEFORE = datetime.timedelta(days=30)


def wanted_names(names) -> list[str]:
    """The names asked for and the loopback ones, each once, in order."""
    seen = []
    for name in [*names, *ALWAYS]:
        name = name.strip().strip("[]")
        if name and name not in seen:
            seen.append(name)
    return seen


def subject_alternative_names(names) -> list:
    entries = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def certificate_names(certificate: x509.Certificate) -> set[str]:
    """The DNS names and addresses a certificate is valid for."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    return set(san.value.get_values_for_type(x509.DNSName)) | \
        {str(address) for address in san.value.get_values_for_type(x509.IPAddress)}


def write_private(path: str, data: bytes) -> None:
    temporary = f"{path}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def write_public(path: str, data: bytes) -> None:
    temporary = f"{path}.new"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def make_ca(directory: str) -> None:
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Moorage lab CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Moorage")])
    start = now() - datetime.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    write_private(os.path.join(directory, "ca.key"), key_pem(key))
    write_public(os.path.join(directory, "ca.pem"),
                 certificate.public_bytes(serialization.Encoding.PEM))


def make_server(directory: str, names: list[str]) -> None:
    with open(os.path.join(directory, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(os.path.join(directory, "ca.pem"), "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    key = new_key()
    start = now() - datetime.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + datetime.timedelta(days=SERVER_DAYS),
                             ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(subject_alternative_names(names)),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    write_private(os.path.join(directory, "server.key"), key_pem(key))
    write_public(os.path.join(directory, "server.pem"),
                 certificate.public_bytes(serialization.Encoding.PEM))


def server_is_current(directory: str, names: list[str]) -> bool:
    """The server certificate is there, signed by the CA there, for every name in `names`,
    and not near its end."""
    try:
        with open(os.path.join(directory, "server.pem"), "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
        with open(os.path.join(directory, "ca.pem"), "rb") as handle:
            ca = x509.load_pem_x509_certificate(handle.read())
        certificate.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    if not os.path.exists(os.path.join(directory, "server.key")):
        return False
    return set(names) <= certificate_names(certificate) and \
        certificate.not_valid_after_utc - now() > RENEW_BEFORE


def ensure(directory: str, names) -> list[str]:
    """Make what is missing in `directory`; what was made, by file name."""
    names = wanted_names(names)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    made = []
    if not (os.path.exists(os.path.join(directory, "ca.pem")) and
            os.path.exists(os.path.join(directory, "ca.key"))):
        make_ca(directory)
        made.append("ca.pem")
    if "ca.pem" in made or not server_is_current(directory, names):
        make_server(directory, names)
        made.append("server.pem")
    return made


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m console.hosts.tls DIR [NAME ...]", file=sys.stderr)
        return 2
    directory, names = argv[0], argv[1:]
    for made in ensure(directory, names):
        print(f"made {os.path.join(directory, made)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
