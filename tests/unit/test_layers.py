"""The core's folders are layers: a module imports only from its own layer or the ones below."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "simulator"
# lowest first; "runner" is simulator/runner.py, "top" the package itself and __main__
ORDER = ["common", "mechanisms", "ml", "scenario", "engine", "report", "runner", "viz", "analysis", "workshop", "store",
         "brief", "cli", "top"]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else "top"


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simulator"):
            # "from simulator.report import findings_money" imports the module simulator.report.findings_money
            names = [f"{node.module}.{a.name}" if _is_module(f"{node.module}.{a.name}") else node.module
                     for a in node.names]
            out += [(n, node.lineno) for n in names]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("simulator")]
    return out


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(("simulator", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
        mods[name] = path
    return mods


def test_no_module_imports_a_higher_layer():
    bad = []
    for name, path in _modules().items():
        here = ORDER.index(_layer(name))
        for target, line in _imports(path):
            if ORDER.index(_layer(target)) > here:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules():
    mods = _modules()
    graph = {name: {t for t, _ in _imports(path) if t in mods and t != name} for name, path in mods.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, node]):
                return True
        state[node] = 2
        return False

    for name in graph:
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_the_core_never_imports_streamlit():
    bad = [str(p) for p in ROOT.rglob("*.py") if "import streamlit" in p.read_text(encoding="utf-8")]
    assert not bad, bad
