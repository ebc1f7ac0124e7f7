"""The layout rules of the repository: the benchmarks never import the tests, nothing reaches a package by
editing sys.path (pyproject.toml's pytest pythonpath is the one place that says where they are), and the pure
packages' names cannot collide with a package of the package index."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_MODULES = {p.stem for p in (ROOT / "tests").rglob("*.py")} | {"conftest", "tests"}
PURE = {
    "mro_analytics": ROOT / "addons/mro_predictive",
    "mro_planning": ROOT / "addons/mro_jit_procurement",
    "mro_ingestion": ROOT / "addons/mro_sensor_bridge",
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def python_files(*folders: str):
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("bench"), ids=lambda p: p.name)
def test_a_benchmark_never_imports_the_tests(path):
    assert not imported(path) & TEST_MODULES


@pytest.mark.parametrize("path", python_files("bench", "tests", "scripts"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_edits_sys_path(path):
    calls = [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"insert", "append"}
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "path"
    ]
    assert not calls, f"{path} edits sys.path (line {calls[0].lineno}); list the folder in pyproject.toml instead"


def test_the_pure_packages_are_where_pyproject_says_and_import_without_odoo():
    import tomllib

    paths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["pythonpath"]
    for package, folder in PURE.items():
        assert (folder / package / "__init__.py").is_file()
        assert str(folder.relative_to(ROOT)) in paths
        for module in (folder / package).rglob("*.py"):
            assert "odoo" not in imported(module), f"{module} imports Odoo"
