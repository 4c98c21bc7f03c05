"""The shape of the code, read from its import graph (ast), so it stays as docs/ARCHITECTURE.md describes it.

- no import circle anywhere in firmware/, hal/ and drivers/ (imports inside functions count too);
- the protocol-independent blocks (core, auth, transactions, persistence, smart_charging,
  firmware_management) import no protocol adapter, no
  `protocol` package and not the `ocpp` library, and spell no OCPP 1.6 configuration key name outside
  docstrings (the frozen rename table of schema migration 4 is history and the one exception);
- the 1.6 and 2.0.1 adapters never import each other, `protocol` neither, and a built daemon has loaded only its own;
- hal/ and drivers/ import nothing from firmware/; in firmware/ only daemon/hardware.py names a driver;
- checking a config file loads no protocol library; every CSMS message has its handler file and one line.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.ocpp16.handlers import HANDLERS
from firmware.ocpp16.keys import KEYS
from firmware.ocpp201.handlers import HANDLERS as HANDLERS_201

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("firmware", "hal", "drivers")
NEUTRAL = ("firmware.core", "firmware.auth", "firmware.transactions", "firmware.persistence", "firmware.smart_charging",
           "firmware.firmware_management", "firmware.security")
"""The blocks that must work the same under every OCPP version."""
ADAPTER_SIDE = ("firmware.ocpp16", "firmware.ocpp201", "firmware.protocol", "ocpp", "websockets")
VERSIONS = ("firmware.ocpp16", "firmware.ocpp201")
"""The version adapters: neither imports the other, and the shared protocol package imports neither."""
KEY_NAME_HISTORY = ("firmware.persistence.migrations", "V4_SETTING_NAMES")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p))
            for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = modules()


def imports(name: str, tree: ast.Module) -> set[str]:
    """Every module `name` imports, anywhere in its body: `from a import b` counts as a.b when that is a module,
    else as a."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{name}: imports are absolute here"
            base = node.module
            for alias in node.names:  # a submodule by name, else a name defined in `base`
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


GRAPH = {name: {i for i in imports(name, tree) if i in MODULES and i != name} for name, tree in MODULES.items()}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_graph_is_read_from_the_real_code():
    assert "firmware.core.connector" in MODULES and "firmware.ocpp16.handlers.reset" in MODULES
    assert "firmware.core.services" in GRAPH["firmware.ocpp16.handlers.reset"]
    assert "firmware.persistence.db" in GRAPH["firmware.settings"]


def test_no_import_circle():
    """Tarjan's strongly connected components: any component of more than one module is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, NEUTRAL)))
def test_neutral_blocks_import_no_protocol(name):
    wrong = sorted(i for i in imports(name, MODULES[name]) if within(i, ADAPTER_SIDE))
    assert wrong == [], f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, (*VERSIONS, "firmware.protocol"))))
def test_versions_stay_apart(name):
    """A 1.6 module imports nothing of 2.0.1 and the other way round; `protocol` (the conversation both share) imports
    neither, so a charger loads only the version it speaks."""
    own = next((v for v in VERSIONS if within(name, (v,))), None)
    others = tuple(v for v in VERSIONS if v != own)
    wrong = sorted(i for i in imports(name, MODULES[name]) if within(i, others))
    assert wrong == [], f"{name} imports {wrong}"


def test_the_version_check_sees_a_crossing():
    tree = ast.parse("from firmware.ocpp16.keys import KEYS\n")
    assert any(within(i, ("firmware.ocpp16",)) for i in imports("firmware.ocpp201.x", tree))


UNUSED_BY_A_SIM_CHARGER = ("sqlite_utils", "cryptography", "gpiozero", "pymodbus", "serial", "nfc", "smartcard",
                           "segno", "click", "dateutil", "pluggy")
"""Libraries a simulated charger on plain ws:// does not use once its schema is current (issue 22: what the
configuration does not use is never imported): the hardware drivers', certificates', the QR sticker's, and
sqlite-utils (the migrations) with what it brings."""


@pytest.mark.parametrize(("protocol", "absent"), [("ocpp1.6", "firmware.ocpp201"), ("ocpp2.0.1", "firmware.ocpp16.")])
def test_a_charger_loads_only_the_adapter_it_speaks_and_no_library_it_does_not_use(tmp_path, protocol, absent):
    """The daemon built for one protocol has not imported the other version's adapter (2.0.1 reads the config
    file's [ocpp] presets through `ocpp16.keys`, pure data: that module alone is allowed), nor, from its second
    start on (the first one migrates the new database), a library of `UNUSED_BY_A_SIM_CHARGER`."""
    config = tmp_path / "evsed.toml"
    config.write_text(f'[charge_point]\nid = "CP"\nconnectors = 1\n[csms]\nurl = "ws://127.0.0.1:9/ocpp"\n'
                      f'protocol = "{protocol}"\n[hardware]\nbackend = "sim"\n[storage]\npath = "{tmp_path}/db"\n')
    code = ("import sys; from pathlib import Path; from firmware.config_file import load_config;"
            f"from firmware.app import App; app = App(load_config(Path({str(config)!r})));"
            f"print(type(app.adapter).__name__, sorted(m for m in sys.modules if m.startswith({absent!r})"
            " and m != 'firmware.ocpp16.keys'),"
            f" sorted({{m.split('.')[0] for m in sys.modules}} & set({UNUSED_BY_A_SIM_CHARGER!r})))")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    adapter = "Ocpp201Adapter" if protocol == "ocpp2.0.1" else "Ocpp16Adapter"
    assert first.stdout.split(" ", 2)[:2] == [adapter, "[]"], first.stdout + first.stderr
    assert "sqlite_utils" in first.stdout, "the first start migrated the schema with sqlite-utils"
    assert second.stdout == f"{adapter} [] []\n", second.stdout + second.stderr


def string_constants(tree: ast.Module) -> list[tuple[ast.Constant, str | None]]:
    """Every str constant that is not a docstring, with the name it is assigned to at module level (if any)."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    # attribute docstrings (a string statement after an assignment) are documentation too
    docstrings |= {id(node.value) for node in ast.walk(tree)
                   if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    owner = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for node in ast.walk(statement):
                owner[id(node)] = next((t.id for t in targets if isinstance(t, ast.Name)), None)
    return [(node, owner.get(id(node))) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, NEUTRAL)))
def test_neutral_blocks_spell_no_ocpp16_key_name(name):
    spelled = sorted({node.value for node, owner in string_constants(MODULES[name])
                      if any(key in node.value for key in KEYS) and (name, owner) != KEY_NAME_HISTORY})
    assert spelled == [], f"{name} spells 1.6 configuration keys {spelled}; read settings by their neutral names"


def test_the_key_check_sees_a_key_name_in_code():
    tree = ast.parse('"""LocalPreAuthorize in a docstring is fine."""\nX = settings.flag("LocalPreAuthorize")\n')
    assert [node.value for node, _ in string_constants(tree)] == ["LocalPreAuthorize"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if within(n, ("hal", "drivers"))))
def test_hardware_layers_import_nothing_from_firmware(name):
    assert not any(within(i, ("firmware",)) for i in imports(name, MODULES[name]))


def test_only_the_hardware_module_names_a_driver():
    naming = sorted(n for n in MODULES if within(n, ("firmware",))
                    and any(within(i, ("drivers",)) for i in imports(n, MODULES[n])))
    assert naming == ["firmware.daemon.hardware"]


def test_checking_a_config_file_loads_no_protocol_library(tmp_path):
    """`evsed config check` reads the [ocpp] presets through ocpp16.keys only: neither the `ocpp` library nor
    the adapter is imported (a 2.0.1 charger will not pay for 1.6, nor a 1.6 one for 2.0.1)."""
    config = tmp_path / "evsed.toml"
    config.write_text('[charge_point]\nid = "CP"\nconnectors = 1\n[csms]\nurl = "ws://127.0.0.1:9/ocpp"\n'
                      '[hardware]\nbackend = "sim"\n[storage]\npath = "db"\n[ocpp]\nHeartbeatInterval = 60\n')
    code = ("import sys; from firmware.config_file import load_config; from pathlib import Path;"
            f"load_config(Path({str(config)!r}));"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ocpp', 'websockets')"
            " or m.startswith('firmware.ocpp16.') and m != 'firmware.ocpp16.keys'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_each_csms_message_is_one_handler_file_and_one_registration():
    files = {p.stem for p in (ROOT / "firmware/ocpp16/handlers").glob("*.py")} - {"__init__"}
    registered = {h.handle.__module__.rpartition(".")[2] for h in HANDLERS}
    assert files == registered, "every handler file is registered, and only handler files are"
    for handler in HANDLERS:
        module = MODULES[handler.handle.__module__]
        assert ast.get_docstring(module) and "§" in ast.get_docstring(module), f"{handler.action} cites its clause"


def test_each_201_message_is_one_handler_file_and_one_registration():
    files = {p.stem for p in (ROOT / "firmware/ocpp201/handlers").glob("*.py")} - {"__init__"}
    registered = {h.handle.__module__.rpartition(".")[2] for h in HANDLERS_201}
    assert files == registered, "every handler file is registered, and only handler files are"
    for handler in HANDLERS_201:
        docstring = ast.get_docstring(MODULES[handler.handle.__module__]) or ""
        assert re.search(r"\b[A-P]\d\d\b", docstring), f"{handler.action} cites its 2.0.1 use case (B05, F01, ...)"
