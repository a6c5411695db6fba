"""Opening uploaded grid files: size and format checks, zipped shapefiles (members, missing parts, several
.shp, GBK member names), a private temporary folder for GDAL (removed afterwards), layer choice.
Used by `gridfile`."""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from geodata.planner.gridfile_encoding import read_ldid

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
FORMAT_LABELS = {"geojson": "GeoJSON", "shp": "Shapefile", "gpkg": "GeoPackage"}
_EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".zip": "shp", ".gpkg": "gpkg"}
_SUPPORTED = "GeoJSON（.geojson/.json）、Shapefile 压缩包（.zip，内含 .shp/.shx/.dbf）或 GeoPackage（.gpkg）"
_POLYGONAL = ("Polygon", "MultiPolygon")


class GridFileError(ValueError):
    """A grid file that cannot be imported or exported as asked; str(error) is the message for the user."""


@dataclass
class Source:
    format: str
    path: str
    cpg: str | None = None          # raw .cpg text
    has_prj: bool = True
    ldid: int | None = None         # the DBF header's code-page byte


# ---------------------------------------------------------------- opening files


def detect_format(data: bytes, filename: str) -> str:
    if not data:
        raise GridFileError("文件为空，请重新选择文件。")
    if len(data) > MAX_FILE_BYTES:
        raise GridFileError(
            f"文件过大（{len(data) / 1048576:.1f} MB），上限为 {MAX_FILE_BYTES // 1048576} MB。请只导出本村/社区的网格后再导入。"
        )
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        raise GridFileError("Shapefile 由多个文件组成，请把同名的 .shp、.shx、.dbf（以及 .prj、.cpg）一起打包成 .zip 后上传。")
    if suffix not in _EXTENSIONS:
        raise GridFileError(f"不支持的文件格式“{suffix or filename}”。请上传 {_SUPPORTED}。")
    fmt = _EXTENSIONS[suffix]
    magic_ok = {
        "shp": data[:4] == b"PK\x03\x04",
        "gpkg": data[:16] == b"SQLite format 3\x00",
        "geojson": data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["),
    }[fmt]
    if not magic_ok:
        raise GridFileError(f"文件“{filename}”已损坏或不是有效的 {FORMAT_LABELS[fmt]} 文件，无法读取。")
    return fmt


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name for messages: Windows zips store GBK names without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _shapefile_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    files = [
        i for i in zf.infolist()
        if not i.is_dir() and not i.filename.startswith("__MACOSX/") and not Path(i.filename).name.startswith("._")
    ]
    shps = [i for i in files if i.filename.lower().endswith(".shp")]
    if not shps:
        raise GridFileError("压缩包中没有 .shp 文件。请把 Shapefile 的 .shp、.shx、.dbf（以及 .prj、.cpg）打包后上传。")
    if len(shps) > 1:
        names = "、".join(_member_name(i) for i in shps)
        raise GridFileError(f"压缩包中有 {len(shps)} 个 Shapefile（{names}），请只保留要导入的一个后重新打包上传。")
    stem = shps[0].filename[:-4].lower()
    members = {".shp": shps[0]}
    for info in files:
        base, ext = info.filename[:-4].lower(), info.filename[-4:].lower()
        if base == stem and ext in (".shx", ".dbf", ".prj", ".cpg"):
            members[ext] = info
    missing = [ext for ext in (".dbf", ".shx") if ext not in members]
    if missing:
        what = {".dbf": ".dbf（属性表）", ".shx": ".shx（索引）"}
        raise GridFileError(
            f"压缩包中缺少 {'、'.join(what[m] for m in missing)} 文件：Shapefile 至少需要同名的 .shp、.shx 和 .dbf，请补齐后重新打包上传。"
        )
    if sum(i.file_size for i in members.values()) > MAX_UNZIPPED_BYTES:
        raise GridFileError(f"压缩包解压后超过 {MAX_UNZIPPED_BYTES // 1048576} MB，请只导出本村/社区的网格后再导入。")
    return members


@contextmanager
def open_source(data: bytes, filename: str) -> Iterator[Source]:
    """The upload written to a private temporary folder (removed afterwards) in a form GDAL can open."""
    fmt = detect_format(data, filename)
    with tempfile.TemporaryDirectory(prefix="gridfile-") as tmp:
        if fmt != "shp":
            path = Path(tmp) / f"upload.{fmt}"
            path.write_bytes(data)
            yield Source(fmt, str(path))
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members = _shapefile_members(zf)
                for ext, info in members.items():  # member names never become paths (no zip slip)
                    (Path(tmp) / f"upload{ext}").write_bytes(zf.read(info))
        except RuntimeError as exc:  # encrypted members
            raise GridFileError(f"压缩包“{filename}”设有密码，无法解压。请去掉密码后重新打包上传。") from exc
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
            raise GridFileError(f"压缩包“{filename}”已损坏或压缩方式不受支持，无法解压。请用常见的 zip 格式重新打包后上传。") from exc
        cpg = None
        if ".cpg" in members:
            cpg = (Path(tmp) / "upload.cpg").read_bytes().decode("ascii", "ignore").strip()
        yield Source("shp", str(Path(tmp) / "upload.shp"), cpg, ".prj" in members, read_ldid(str(Path(tmp) / "upload.dbf")))


def corrupt(filename: str, exc: Exception) -> GridFileError:
    """The user's message for a file GDAL cannot read; GDAL's own text stays on the exception chain (raise ... from)."""
    return GridFileError(f"文件“{filename}”已损坏或格式不正确，无法读取。请在 GIS 软件中重新导出后再试。")


def list_layers(src: Source, filename: str) -> list[tuple[str, str]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return [(str(n), str(t)) for n, t in pyogrio.list_layers(src.path)]
    except (DataSourceError, DataLayerError) as exc:
        raise corrupt(filename, exc) from exc


def _polygonal(layers: list[tuple[str, str]]) -> list[str]:
    """Layers that may hold polygons: polygon types and mixed ("Unknown"); not points, lines or plain tables."""
    return [n for n, t in layers if any(p in t for p in _POLYGONAL) or t == "Unknown"]


def polygon_layer(layers: list[tuple[str, str]]) -> str | None:
    """The layer to read: the only layer, or the only polygon layer; None when that is ambiguous or absent."""
    if len(layers) == 1:
        return layers[0][0]
    polygonal = _polygonal(layers)
    return polygonal[0] if len(polygonal) == 1 else None


def choose_layer(layers: list[tuple[str, str]]) -> str:
    """polygon_layer, or a GridFileError naming the layers the user has to choose from."""
    if not layers:
        raise GridFileError("文件中没有任何图层，无法导入。")
    layer = polygon_layer(layers)
    if layer is None:
        names = "、".join(f"{n}（{t}）" for n, t in layers)
        if not _polygonal(layers):
            raise GridFileError(f"文件中没有面图层（现有图层：{names}），无法作为网格边界导入。")
        raise GridFileError(f"文件中有多个图层：{names}。请在“图层”中选择要导入的网格面图层（或在 GIS 软件中只保留它后再导入）。")
    return layer
