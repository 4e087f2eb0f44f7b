"""Fixtures for the Redis/Sentinel infrastructure tests (Molecule verifier).

Molecule runs pytest with ``--hosts=all --connection=ansible``; per-host tests
get the ``host`` fixture. Cluster-wide checks use ``cluster``: a handle on every
Redis server of the same inventory, keyed by inventory name.
"""

import os
import sys
import time
import tomllib
from pathlib import Path

import pytest
import testinfra
import yaml
from testinfra.utils.ansible_runner import AnsibleRunner

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from engine_facts import engine_facts  # noqa: E402  (the kit's table of what differs between Redis and Valkey)

INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")
# The contract, from its one file (as the kit's vars plugin reads it).
with open(ROOT / "consumer/src/tickstockpl/contract.toml", "rb") as _f:
    CONTRACT = tomllib.load(_f)
REDIS_PORT = CONTRACT["redis_port"]
SENTINEL_PORT = CONTRACT["sentinel_port"]
# The engine when the inventory does not choose one: the role's default, read from its one place.
_ENGINE_DEFAULTS = yaml.safe_load((ROOT / "roles/tickstock_engine/defaults/main.yml").read_text())
DEFAULT_ENGINE = _ENGINE_DEFAULTS["tickstock_engine_name"]


# Written by molecule/failover after a password rotation passed: the passwords
# in use (Molecule rebuilds the inventory before verify, dropping the
# scenario's host_vars that held them).
SECRETS_IN_USE = Path(EPHEMERAL, "secrets-in-use.yml") if EPHEMERAL else None


def secrets_of(host):
    """tickstock_secrets as the kit uses them now: the inventory's, or a rotation's new ones."""
    secrets = dict(plain(host.ansible.get_variables())["tickstock_secrets"])
    if SECRETS_IN_USE is not None and SECRETS_IN_USE.exists():
        secrets.update(yaml.safe_load(SECRETS_IN_USE.read_text())["tickstock_secrets_new"])
    return secrets


def playbook_secrets(directory, secrets):
    """ansible-playbook options for a run against the scenario's inventory: after a rotation, the passwords in use."""
    if SECRETS_IN_USE is None or not SECRETS_IN_USE.exists():
        return []
    path = Path(directory, "secrets-in-use.yml")
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump({"tickstock_secrets": secrets}))
    return ["-e", f"@{path}"]


def current(secret):
    """The password clients log in with: the first of a rotation's pair."""
    return secret[0] if isinstance(secret, list) else secret


def every_password(secrets):
    """Each password of tickstock_secrets, both of a rotation's pair."""
    return [p for secret in secrets.values() for p in (secret if isinstance(secret, list) else [secret])]


# Written by molecule/migration after the tier moved to another engine than the inventory's.
ENGINE_IN_USE = Path(EPHEMERAL, "engine-in-use") if EPHEMERAL else None


def engine_of(variables):
    """The engine facts (packages, units, paths, user, CLI) of a host, as the roles see them."""
    if ENGINE_IN_USE is not None and ENGINE_IN_USE.exists():
        return engine_facts(ENGINE_IN_USE.read_text().strip())
    return engine_facts(variables.get("tickstock_engine_name", DEFAULT_ENGINE))


def host_engine(host):
    """engine_of() a testinfra host."""
    return engine_of(plain(host.ansible.get_variables()))


def plain(value):
    """Variables as testinfra reads them: unwrap Ansible's {"__ansible_unsafe": ...} markers."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Node:
    """One Redis server / Sentinel host, queried through redis-cli on the host."""

    def __init__(self, name, host):
        self.name = name
        self.host = host
        self.vars = plain(host.ansible.get_variables())
        self.secrets = secrets_of(host)
        self.master_name = self.vars.get("tickstock_master_name", CONTRACT["master_name"])
        self.engine = engine_of(self.vars)

    @property
    def address(self):
        return self.host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"][
            "ansible_default_ipv4"
        ]["address"]

    def password(self, kind, user):
        """The password clients use now for user ("redis" or "sentinel" kind)."""
        return current(self.secrets[f"{kind}_{user}"])

    def redis(self, *args, user="admin", password=True, port=REDIS_PORT):
        """Run the engine's CLI as an ACL user (admin unless told); the password goes in the environment."""
        kind = "redis" if port == REDIS_PORT else "sentinel"
        login = f"REDISCLI_AUTH='{self.password(kind, user)}' " if password else ""
        who = f"--user {user} " if password else ""
        quoted = " ".join(f"'{a}'" for a in args)
        cli = self.engine["cli"]
        cmd = self.host.run(f"{login}{cli} --no-auth-warning -h 127.0.0.1 -p {port} {self.tls}{who}--raw {quoted}")
        assert cmd.rc == 0, cmd.stderr
        return cmd.stdout.strip()

    @property
    def tls(self):
        """redis-cli's TLS options when the tier runs TLS only (the host's own certificate)."""
        if not self.vars.get("tickstock_tls", CONTRACT["tls"]):
            return ""
        tls_dir = self.engine["tls_dir"]
        return f"--tls --cacert {tls_dir}/ca.crt --cert {tls_dir}/host.crt --key {tls_dir}/host.key "

    def sentinel(self, *args, user="admin", password=True):
        return self.redis(*args, user=user, password=password, port=SENTINEL_PORT)

    def info(self, section):
        text = self.redis("INFO", section)
        return dict(
            line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
        )


def pairs(text):
    lines = text.splitlines()
    return dict(zip(lines[::2], lines[1::2], strict=False))


def wait_for(check, timeout=15.0, interval=0.5):
    """Retry ``check`` until it returns a truthy value; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="session")
def cluster():
    if not INVENTORY:
        pytest.skip("not run by Molecule (MOLECULE_INVENTORY_FILE unset)")
    names = AnsibleRunner(INVENTORY).get_hosts("redis_servers")
    assert len(names) >= 3, names
    return {
        name: Node(name, testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}"))
        for name in names
    }


@pytest.fixture(scope="session")
def expected_master(cluster):
    """The post-failover master if the drill ran, else the bootstrap master."""
    record = os.path.join(EPHEMERAL, "failover-master") if EPHEMERAL else ""
    if record and os.path.exists(record):
        with open(record, encoding="utf-8") as handle:
            return handle.read().strip()
    return next(iter(cluster.values())).address
