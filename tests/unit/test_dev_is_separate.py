"""Development code (embedded servers, demo county, demo accounts) stays out of the production package."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_PACKAGES = ("backend", "admin", "points_rules")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_production_module_imports_dev():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in PRODUCTION_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path)
        if name == "dev" or name.startswith("dev.")
    ]
    assert offenders == []


def test_distribution_ships_only_the_production_packages():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(included) == sorted(f"{name}*" for name in PRODUCTION_PACKAGES)
    assert (ROOT / "dev" / "embedded.py").exists() and not (ROOT / "backend" / "embedded.py").exists()


def test_production_command_without_servers_says_what_to_set(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CUNXIN_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr and "python -m dev" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir()), "the production command must not start embedded servers"
