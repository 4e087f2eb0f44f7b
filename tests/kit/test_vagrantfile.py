"""The inventory the Vagrantfile writes for the VM providers (libvirt, VirtualBox).

No VM boots on the CI machines, so the Vagrantfile's writer runs under plain Ruby
with Vagrant's environment stood in for (the users and keys `vagrant ssh-config`
would print); Ansible must then read it with the groups of inventories/vagrant.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

RUBY = r"""
require "pathname"
module Vagrant
  def self.configure(_version); end # only the Vagrantfile's helpers are wanted
end
load ARGV[0]
up = ARGV[2].split(",")
Env = Struct.new(:root_path) do
  define_method(:machine) do |name, provider|
    info = { username: "vagrant", private_key_path: ["/keys/#{name}/#{provider}/private_key"] }
    Struct.new(:ssh_info).new(up.include?(name.to_s) ? info : nil)
  end
end
write_vm_inventory(Env.new(Pathname.new(ARGV[1])), :libvirt)
"""
HOSTS = ["tsvag-redis1", "tsvag-redis2", "tsvag-redis3", "tsvag-consumer1"]
pytestmark = pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby comes with vagrant (lab/bootstrap)")


def write(tmp_path: Path, up: list[str], **env: str) -> Path:
    (tmp_path / "inventories/vagrant").mkdir(parents=True)
    (tmp_path / "inventories/vagrant-vm").mkdir()
    shutil.copy(ROOT / "inventories/vagrant/hosts.yml", tmp_path / "inventories/vagrant/hosts.yml")
    subprocess.run(["ruby", "-e", RUBY, str(ROOT / "Vagrantfile"), str(tmp_path), ",".join(up)],
                   check=True, env={**os.environ, **env})
    return tmp_path / "inventories/vagrant-vm/hosts.yml"


def test_inventory_has_the_vagrant_groups_private_addresses_and_keys(tmp_path):
    path = write(tmp_path, HOSTS)
    subprocess.run(["yamllint", "--strict", "-c", str(ROOT / ".yamllint"), str(path)], check=True)
    listed = json.loads(subprocess.run(["ansible-inventory", "-i", str(path), "--list"], check=True,
                                       capture_output=True, text=True).stdout)
    docker = yaml.safe_load((ROOT / "inventories/vagrant/hosts.yml").read_text())["all"]["children"]
    for group, members in docker.items():
        assert sorted(listed[group]["hosts"]) == sorted(members["hosts"]), group
    hostvars = listed["_meta"]["hostvars"]
    assert [hostvars[h]["ansible_host"] for h in HOSTS] == [f"192.168.56.{n}" for n in (11, 12, 13, 14)]
    for h in HOSTS:
        assert hostvars[h]["ansible_user"] == "vagrant"
        assert hostvars[h]["ansible_ssh_private_key_file"] == f"/keys/{h}/libvirt/private_key"
        assert hostvars[h]["ansible_connection"] == "ssh"
        # The roles bind to the default route's address unless told; on VirtualBox that is NAT's, the same on every VM.
        assert hostvars[h]["redis_server_bind_address"] == "{{ ansible_host }}"
        assert hostvars[h]["redis_sentinel_bind_address"] == "{{ ansible_host }}"


def test_subnet_and_release_come_from_the_environment(tmp_path):
    path = write(tmp_path, HOSTS, TICKSTOCK_VAGRANT_SUBNET="10.20.30", TICKSTOCK_VAGRANT_DEBIAN="13")
    text = path.read_text()
    assert "(Debian 13)" in text
    assert yaml.safe_load(text)["all"]["hosts"]["tsvag-consumer1"]["ansible_host"] == "10.20.30.14"


def test_nothing_is_written_until_every_vm_is_up(tmp_path):
    assert not write(tmp_path, HOSTS[:3]).exists()


def test_an_unknown_release_is_refused(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        write(tmp_path, HOSTS, TICKSTOCK_VAGRANT_DEBIAN="11")
