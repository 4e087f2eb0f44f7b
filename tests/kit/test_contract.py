"""The contract is read from one file, and a literal copy elsewhere fails lint."""

import shutil
import subprocess
import tomllib

from conftest import ROOT
from tickstock_contract import CONTRACT_PATH, load_contract


def test_vars_plugin_offers_every_key():
    with open(CONTRACT_PATH, "rb") as f:
        data = tomllib.load(f)
    offered = load_contract()
    assert {f"tickstock_{k}": v for k, v in data.items()}.items() <= offered.items()
    assert sorted(offered["tickstock_contract_names"]) == sorted(f"tickstock_{k}" for k in data)


def test_lint_contract_passes_on_the_tree_and_fails_on_a_planted_literal(tmp_path):
    ok = subprocess.run(["python3", str(ROOT / "lab/lint-contract")], check=False, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    copy = tmp_path / "kit"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "reports", "*.egg-info", "build"))
    subprocess.run(["git", "init", "-q", str(copy)], check=True)
    planted = copy / "playbooks" / "planted.yml"
    planted.write_text("---\n- name: x\n  vars:\n    name: \"{{ x | default('tickstock-redis') }}\"\n")
    bad = subprocess.run(["python3", str(copy / "lab/lint-contract")], check=False, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "playbooks/planted.yml:4: master_name" in bad.stdout


def test_role_docs_are_current():
    cmd = ["python3", str(ROOT / "lab/role-docs"), "--check"]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_role_docs_refuses_a_role_without_argument_specs(tmp_path):
    role = tmp_path / "roles" / "planted"
    (role / "defaults").mkdir(parents=True)
    (role / "defaults" / "main.yml").write_text("planted_var: 1\n")
    (role / "README.md").write_text("# planted\n")
    cmd = ["python3", str(ROOT / "lab/role-docs"), "--check", "--root", str(tmp_path)]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert run.returncode == 1
    assert "roles/planted has no meta/argument_specs.yml" in run.stdout
