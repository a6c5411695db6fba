"""The exchange package: a zip with `manifest.json` (format, version, source, scope, time, and for each file its
kind, row count and SHA-256) and one UTF-8 CSV (with BOM, so Excel and WPS open it) per ledger kind, headed by
the kind's canonical headers. Import checks the manifest and every checksum before a row is read, then runs each
file through the ledger import pipeline, all kinds in dependency order (persons before special populations)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.plan import ImportPlan, file_hash
from console.ledgers.reader import LedgerError, read_ledger
from console.security import audit
from console.store import AreaScope

from .rows import ROWS

FORMAT = "pingan-exchange"
VERSION = 1
ORDER = ("person", "special", "key_youth", "organisation", "camera", "grid_worker", "survey", "key_place",
         "safety_line")  # references first
MAX_MEMBER_BYTES = 2 * 1024**3  # a zip bomb stops here


class ExchangeError(ValueError):
    """A package that cannot be used; the message names the file and what is wrong."""


@dataclass
class Exported:
    counts: dict[str, int]
    sha256: str


def export_package(session_factory, scope: AreaScope, out, *, source: str, actor: str,
                   kinds: tuple[str, ...] = ORDER) -> Exported:
    """Write the package to `out` (a path or a binary file); audited (`export`) with the package's checksum."""
    manifest = {"format": FORMAT, "version": VERSION, "source": source,
                "scope": sorted(scope.codes) if not scope.is_city else ["610900"],
                "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "files": []}
    counts: dict[str, int] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, session_factory() as s:
        for key in kinds:
            kind = KINDS[key]
            columns = kind.spec.columns
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([c.header for c in columns])
            n = 0
            for row in ROWS[key](s, scope):
                writer.writerow([_cell(row.get(c.field)) for c in columns])
                n += 1
            data = ("\ufeff" + text.getvalue()).encode("utf-8")
            name = f"{key}.csv"
            z.writestr(name, data)
            manifest["files"].append({"name": name, "kind": key, "label": kind.label, "rows": n,
                                      "sha256": hashlib.sha256(data).hexdigest()})
            counts[key] = n
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    body = buffer.getvalue()
    digest = hashlib.sha256(body).hexdigest()
    if hasattr(out, "write"):
        out.write(body)
    else:
        with open(out, "wb") as f:
            f.write(body)
    with session_factory() as s, s.begin():
        audit.append(s, actor, "export", object="exchange package", detail={"sha256": digest, "rows": counts,
                                                                             "scope": manifest["scope"]})
    return Exported(counts, digest)


def _cell(value) -> str:
    if value is None:
        return ""
    return str(value)


def read_manifest(data: bytes) -> tuple[dict, zipfile.ZipFile]:
    """The manifest of a package, every member checked against it (names, sizes, checksums)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ExchangeError("不是交换数据包（应为 zip 文件）") from None
    try:
        manifest = json.loads(z.read("manifest.json").decode("utf-8"))
    except KeyError:
        raise ExchangeError("数据包里没有 manifest.json") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ExchangeError("manifest.json 不是有效的 UTF-8 JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExchangeError(f"manifest.json 的 format 应为“{FORMAT}”")
    if manifest.get("version") != VERSION:
        raise ExchangeError(f"数据包版本为 {manifest.get('version')!r}，本系统读取版本 {VERSION}")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise ExchangeError("manifest.json 缺少 files 列表")
    for f in files:
        if not isinstance(f, dict) or f.get("kind") not in KINDS or not isinstance(f.get("name"), str):
            raise ExchangeError(f"manifest.json 中的文件条目无效：{str(f)[:80]}")
        try:
            info = z.getinfo(f["name"])
        except KeyError:
            raise ExchangeError(f"manifest.json 列出的 {f['name']} 不在数据包里") from None
        if info.file_size > MAX_MEMBER_BYTES:
            raise ExchangeError(f"{f['name']} 解压后超过 {MAX_MEMBER_BYTES // 2**30} GB")
        if hashlib.sha256(z.read(info)).hexdigest() != f.get("sha256"):
            raise ExchangeError(f"{f['name']} 的校验值与 manifest.json 不符：文件被改动或损坏")
    return manifest, z


def import_package(session_factory, data: bytes, *, scope: AreaScope, actor: str) -> dict[str, ImportPlan]:
    """Every file of the package through the ledger import, in dependency order; each kind saved in its own
    transaction (a kind's rows all or none), rows with problems reported, never saved."""
    manifest, z = read_manifest(data)
    by_kind = {f["kind"]: f for f in manifest["files"]}
    out: dict[str, ImportPlan] = {}
    for key in [k for k in ORDER if k in by_kind] + [k for k in by_kind if k not in ORDER]:
        f = by_kind[key]
        raw = z.read(f["name"])
        try:
            ledger = read_ledger(raw, f["name"], KINDS[key].spec)
        except LedgerError as exc:
            raise ExchangeError(f"{f['name']}：{getattr(exc, 'message', None) or exc}") from None
        out[key] = commit_import(session_factory, ledger, kind_key=key, data_hash=file_hash(raw),
                                 filename=f"{f['name']}（交换包）", scope=scope, actor=actor)
    return out
