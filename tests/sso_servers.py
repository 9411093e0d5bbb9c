"""The directories the single sign-on tests log in through, each the tests' own process on a
loopback port in a temporary directory, ended by PID: Debian's `slapd` (LDAP) and a small
OpenID Connect provider (django-oauth-toolkit, `tests/oidc_provider/`, run by daphne)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.parse

from tests.stack import PYTHON, REPO, VENV_BIN, free_port, wait_until

SLAPD = "/usr/sbin/slapd"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def end(process, timeout=10):
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Slapd:
    """An LDAP directory: `dc=moorage,dc=test`, people under `ou=people` (inetOrgPerson, uid),
    groups under `ou=groups` (groupOfNames). Bind as `ADMIN_DN`/`ADMIN_PASSWORD`."""

    SUFFIX = "dc=moorage,dc=test"
    ADMIN_DN = "cn=admin,dc=moorage,dc=test"
    ADMIN_PASSWORD = "directory admin"
    PEOPLE = "ou=people,dc=moorage,dc=test"
    GROUPS = "ou=groups,dc=moorage,dc=test"

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="moorage-slapd-")
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        config = os.path.join(self.tmp, "slapd.conf")
        with open(config, "w") as handle:
            handle.write("".join(f"include /etc/ldap/schema/{name}.schema\n"
                                 for name in SCHEMAS))
            handle.write(f"modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
                         f"pidfile {self.tmp}/slapd.pid\nargsfile {self.tmp}/slapd.args\n"
                         f"database mdb\nmaxsize 16777216\nsuffix \"{self.SUFFIX}\"\n"
                         f"rootdn \"{self.ADMIN_DN}\"\nrootpw \"{self.ADMIN_PASSWORD}\"\n"
                         f"directory {data}\n")
        log = open(os.path.join(self.tmp, "slapd.log"), "ab")
        # -d: stay in the foreground (our child, ended by its PID), logging nothing extra.
        self.process = subprocess.Popen([SLAPD, "-h", self.uri + "/", "-f", config, "-d", "0"],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.bound, timeout=20, what="slapd")
        self.add(self.SUFFIX, objectClass=["dcObject", "organization"], dc="moorage",
                 o="Moorage tests")
        self.add(self.PEOPLE, objectClass=["organizationalUnit"], ou="people")
        self.add(self.GROUPS, objectClass=["organizationalUnit"], ou="groups")
        return self

    def connection(self):
        import ldap

        connection = ldap.initialize(self.uri)
        connection.simple_bind_s(self.ADMIN_DN, self.ADMIN_PASSWORD)
        return connection

    def bound(self):
        assert self.process.poll() is None, self.log()
        self.connection().unbind_s()
        return True

    def add(self, dn, **attributes):
        import ldap.modlist

        values = {name: [v.encode() for v in (value if isinstance(value, list) else [value])]
                  for name, value in attributes.items()}
        connection = self.connection()
        try:
            connection.add_s(dn, ldap.modlist.addModlist(values))
        finally:
            connection.unbind_s()

    def person_dn(self, uid):
        return f"uid={uid},{self.PEOPLE}"

    def add_person(self, uid, password, email=""):
        self.add(self.person_dn(uid), objectClass=["inetOrgPerson"], uid=uid, cn=uid, sn=uid,
                 userPassword=password, mail=email or f"{uid}@directory.test")

    def add_group(self, name, *members):
        # groupOfNames needs a member: the admin stands in for an empty group.
        self.add(f"cn={name},{self.GROUPS}", objectClass=["groupOfNames"], cn=name,
                 member=[self.ADMIN_DN] + [self.person_dn(uid) for uid in members])

    def set_members(self, name, *members):
        import ldap

        connection = self.connection()
        try:
            connection.modify_s(f"cn={name},{self.GROUPS}", [(
                ldap.MOD_REPLACE, "member",
                [dn.encode() for dn in [self.ADMIN_DN] + [self.person_dn(uid)
                                                            for uid in members]])])
        finally:
            connection.unbind_s()

    def console_environment(self) -> dict:
        """The console's MOORAGE_LDAP_* for this directory."""
        return {"MOORAGE_LDAP_URI": self.uri, "MOORAGE_LDAP_BIND_DN": self.ADMIN_DN,
                "MOORAGE_LDAP_BIND_PASSWORD": self.ADMIN_PASSWORD,
                "MOORAGE_LDAP_USER_BASE": self.PEOPLE,
                "MOORAGE_LDAP_GROUP_BASE": self.GROUPS,
                "MOORAGE_LDAP_GROUP_FILTER": "(objectClass=groupOfNames)"}

    def log(self):
        with open(os.path.join(self.tmp, "slapd.log"), errors="replace") as handle:
            return handle.read()[-3000:]

    def stop(self):
        end(self.process)
        shutil.rmtree(self.tmp, ignore_errors=True)


class OidcProvider:
    """The OpenID Connect provider of tests/oidc_provider/ on a loopback port: its issuer is
    `<base>/o`, its one client `CLIENT_ID`/`CLIENT_SECRET`, its people `set_person(...)`."""

    CLIENT_ID = "moorage-console"
    CLIENT_SECRET = "the console's client secret"

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="moorage-oidc-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = self.base + "/o"
        self.people = {}
        self.process = None
        self.env = dict(os.environ, OIDC_PROVIDER_DIR=self.tmp, OIDC_PROVIDER_ISSUER=self.issuer,
                        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
                        PYTHONUNBUFFERED="1")

    def start(self, *redirect_uris):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(os.path.join(self.tmp, "key.pem"), "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        with open(os.path.join(self.tmp, "secret"), "w") as handle:
            handle.write(os.urandom(24).hex())
        self.write_people()
        subprocess.run([PYTHON, "-m", "tests.oidc_provider.prepare", self.CLIENT_ID,
                        self.CLIENT_SECRET, *redirect_uris], cwd=REPO, env=self.env, check=True,
                       capture_output=True)
        log = open(os.path.join(self.tmp, "provider.log"), "ab")
        self.process = subprocess.Popen(
            [os.path.join(VENV_BIN, "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
             "tests.oidc_provider.asgi:application"], cwd=REPO, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.answers, timeout=30, what="the OpenID Connect provider")
        return self

    def answers(self):
        import requests

        assert self.process.poll() is None, self.log()
        return requests.get(self.issuer + "/.well-known/openid-configuration",
                            timeout=2).status_code == 200

    def set_person(self, username, password, *, groups=(), email="", **claims):
        self.people[username] = {"password": password, "groups": list(groups),
                                 "email": email or f"{username}@provider.test", **claims}
        self.write_people()

    def write_people(self):
        path = os.path.join(self.tmp, "users.json")
        with open(path + ".new", "w") as handle:
            json.dump(self.people, handle)
        os.replace(path + ".new", path)

    def console_environment(self, name="Test IdP") -> dict:
        """The console's MOORAGE_OIDC_* for this provider."""
        return {"MOORAGE_OIDC_ISSUER": self.issuer, "MOORAGE_OIDC_CLIENT_ID": self.CLIENT_ID,
                "MOORAGE_OIDC_CLIENT_SECRET": self.CLIENT_SECRET, "MOORAGE_OIDC_NAME": name}

    def sign_in(self, authorize_url, username, password) -> str:
        """What a browser does at the provider, sent to `authorize_url` by the console: log
        in, and come back with the URL the provider sends it to (the console's callback)."""
        import requests

        browser, url = requests.Session(), authorize_url
        for _ in range(10):
            answer = browser.get(url, allow_redirects=False, timeout=10)
            if answer.status_code != 200:
                assert answer.status_code == 302, (answer.status_code, answer.text[-500:])
                url = urllib.parse.urljoin(url, answer.headers["Location"])
                if not url.startswith(self.base):
                    return url
                continue
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)
            next_url = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["next"][0]
            answer = browser.post(url, data={"csrfmiddlewaretoken": token.group(1),
                                             "username": username, "password": password,
                                             "next": next_url},
                                  allow_redirects=False, timeout=10)
            assert answer.status_code == 302, "the provider refused the login"
            url = urllib.parse.urljoin(url, answer.headers["Location"])
        raise AssertionError("the provider kept redirecting")

    def log(self):
        with open(os.path.join(self.tmp, "provider.log"), errors="replace") as handle:
            return handle.read()[-3000:]

    def stop(self):
        end(self.process)
        shutil.rmtree(self.tmp, ignore_errors=True)
