"""Every audit action the code writes has a Chinese label (console/security/audit_actions.py): the source is read
for each call that writes an audit row and its action argument — a literal, a choice of literals, a local
variable set from literals, or an f-string of a known family (`dispute.<workflow action>`, `incident.<kind>`,
`use:<permission>`). A function that passes its own parameter on as the action is a wrapper: it must be one of
the known writers below, so a new wrapper cannot hide its callers' actions from this test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from console.disputes.workflow import TRANSITIONS
from console.security.audit_actions import ACTION_LABELS, GROUP_LABELS, action_label, filter_options
from console.security.permissions import AUDITED_WHEN_GRANTED
from console.store.codes import INCIDENT_ACTIONS

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("console", "world", "scripts")

# The functions that write an audit row: (file, dotted call as written → the action's position, self excluded).
# `None` for the file: the call may be written anywhere.
WRITERS = {
    ("console/security/audit.py", "append"): 2,          # the one that writes the row
    (None, "audit.append"): 2,
    (None, "auditor.record"): 1,                         # Auditor.record (viewer.auditor, sec.auditor, ...)
    (None, "guard.audit"): 1,
    (None, "audit"): 1,                                  # `from console.security.guard import audit`
    (None, "viewer_audit"): 1,                           # the same, imported under another name
    ("console/security/accounts.py", "_audit"): 2,
    (None, "audit_refusal"): 1,                          # console/security/gate.py
    ("console/security/admin.py", "_refuse"): 1,
}
# The wrappers' definitions, as found by the scan (`audit.append` writes the row itself): (file, function) →
# position of the action parameter.
WRAPPERS = {
    ("console/security/audit.py", "record"): 1,
    ("console/security/guard.py", "audit"): 1, ("console/security/accounts.py", "_audit"): 2,
    ("console/security/gate.py", "audit_refusal"): 1, ("console/security/admin.py", "_refuse"): 1,
}
FAMILIES = {
    "dispute.": [t.action for t in TRANSITIONS],
    "incident.": list(INCIDENT_ACTIONS),
    "use:": sorted(AUDITED_WHEN_GRANTED),
}


def _writer(rel: str, call: ast.Call) -> int | None:
    try:
        name = ast.unparse(call.func)
    except Exception:  # pragma: no cover
        return None
    for (file, dotted), pos in WRITERS.items():
        # a bare name matches only itself (`rows.append` is not `append`); a dotted one any longer chain
        if (file is None or file == rel) and (name == dotted or ("." in dotted and name.endswith("." + dotted))):
            return pos
    return None


def _action_arg(call: ast.Call, pos: int):
    for kw in call.keywords:
        if kw.arg == "action":
            return kw.value
    return call.args[pos] if len(call.args) > pos else None


def _params(fn) -> list[str]:
    names = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    return names[1:] if names[:1] == ["self"] else names


def _resolve(node, fn, rel, found: dict, wrappers: dict, problems: list, where: str) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        found.setdefault(node.value, where)
    elif isinstance(node, ast.IfExp):
        _resolve(node.body, fn, rel, found, wrappers, problems, where)
        _resolve(node.orelse, fn, rel, found, wrappers, problems, where)
    elif isinstance(node, ast.JoinedStr):
        head = node.values[0].value if node.values and isinstance(node.values[0], ast.Constant) else ""
        if head not in FAMILIES:
            problems.append(f"{where}: f-string action of an unknown family {ast.unparse(node)}")
            return
        for member in FAMILIES[head]:
            found.setdefault(head + member, where)
    elif isinstance(node, ast.Name) and fn is not None:
        if node.id in _params(fn):
            wrappers[(rel, fn.name)] = _params(fn).index(node.id)
            return
        values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)]
        if not values:
            problems.append(f"{where}: cannot tell the action {node.id!r}")
        for value in values:
            _resolve(value, fn, rel, found, wrappers, problems, where)
    else:
        problems.append(f"{where}: cannot tell the action {ast.unparse(node) if node else '(missing)'}")


def _scan_tree(rel: str, tree, found: dict, wrappers: dict, problems: list) -> None:
    def visit(node, fn):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            if isinstance(child, ast.Call):
                pos = _writer(rel, child)
                if pos is not None:
                    _resolve(_action_arg(child, pos), inner, rel, found, wrappers, problems,
                             f"{rel}:{child.lineno}")
            visit(child, inner)

    visit(tree, None)


def scan(roots=SCANNED) -> tuple[dict, dict, list]:
    """(action → first place written, wrapper → action position, problems) over the source."""
    found, wrappers, problems = {}, {}, []
    for top in roots:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel:
                continue
            _scan_tree(rel, ast.parse(path.read_text(encoding="utf-8")), found, wrappers, problems)
    return found, wrappers, problems


@pytest.fixture(scope="module")
def scanned():
    return scan()


def test_every_action_written_in_the_code_has_a_label(scanned):
    found, _wrappers, problems = scanned
    assert not problems, problems
    missing = {a: where for a, where in found.items() if a not in ACTION_LABELS}
    assert not missing, f"audit actions without a label in console/security/audit_actions.py: {missing}"
    # the scan sees the writers it should: the sign-in, the gate, the pages, the features, the families
    assert {"login.success", "csrf.refused", "audit.verify", "ledger_import", "grid.commit", "dispute.accept",
            "incident.raise", "use:unmask", "account.enable", "account.disable", "logout", "session.end"} <= set(found)
    assert len(found) >= 80


def test_the_wrappers_are_the_known_writers(scanned):
    _found, wrappers, _problems = scanned
    assert wrappers == WRAPPERS, "a new function passes its parameter on as the audit action: add it to WRITERS"


def test_the_scan_fails_on_an_unlabelled_or_unreadable_action():
    src = ("from console.security import guard\n"
           "def f(viewer, how):\n"
           "    guard.audit(viewer, 'brand.new', 'x')\n"
           "    guard.audit(viewer, how.upper(), 'x')\n"
           "    guard.audit(viewer, f'thing.{how}', 'x')\n")
    found, wrappers, problems = {}, {}, []
    _scan_tree("console/x.py", ast.parse(src), found, wrappers, problems)
    assert "brand.new" in found and "brand.new" not in ACTION_LABELS
    assert len(problems) == 2 and not wrappers


def test_labels_are_chinese_and_an_unknown_key_is_shown_as_it_is():
    assert action_label("login.success") == "登录成功" and action_label("ledger_import") == "导入台账"
    assert action_label("use:unmask") == "使用权限：查看完整身份信息"
    assert action_label("some.old_action") == "some.old_action" and action_label(None) == ""
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in ACTION_LABELS.values())
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS), "two actions read the same"
    values = [o["value"] for o in filter_options()]
    assert len(values) == len(set(values)) and set(GROUP_LABELS) <= set(values) and set(ACTION_LABELS) <= set(values)
    assert all(any(a.startswith(p) for a in ACTION_LABELS) for p in GROUP_LABELS)
