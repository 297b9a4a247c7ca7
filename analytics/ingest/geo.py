"""Region boundaries from an untrusted file: three formats, each opened with its own driver.

GDAL guesses a file's format from its content, and some of its formats point elsewhere: a
VRT (``<OGRVRTDataSource>``) can name any file of the server (``CSV:/etc/passwd``) or a URL
(``/vsicurl/http://...``), which GDAL then reads or fetches. So a regions file is never handed
to GDAL's guessing. Its bytes decide what it is, and only three formats are accepted:

* **GeoJSON** — text starting with ``{`` that names a ``"type"``; opened as ``GeoJSON:<file>``,
  which makes GDAL use the GeoJSON driver and no other;
* **GeoPackage** — an SQLite file whose header carries the GeoPackage application id
  (``GPKG``); opened as ``GPKG:<file>``;
* **zipped Shapefile** — a zip archive, judged by its directory before anything is
  extracted (:func:`analytics.ingest.safeio.zip_members`), with exactly one ``.shp`` and its
  ``.shx`` and ``.dbf``, whose headers are checked (Shapefile file code 9994, a dBase
  version byte); these members, and ``.prj``/``.cpg``, are copied under fixed names into a
  private folder and opened there: nothing else in the archive is ever given to GDAL.

VRT, other XML, paths of GDAL's virtual file systems (``/vsicurl/``, ``/vsis3/`` ...) and
URLs are refused with a sentence. And GDAL's network access is switched off for the whole
process (:func:`disable_network`): every HTTP request GDAL would make goes to a closed local
port and /vsicurl/ considers no remote file to exist, so even a path that reached GDAL by
another route could not fetch anything.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

from analytics.errors import IngestError
from analytics.ingest import safeio
from analytics.ingest.limits import Limits
from analytics.ingest.limits import current as current_limits

ACCEPTED = "a GeoJSON file, a GeoPackage or a zipped Shapefile (.zip with .shp, .shx, .dbf and .prj)"
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
SHAPEFILE_CODE = 9994
DBF_VERSIONS = frozenset((0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0xCB, 0xE5, 0xF5, 0xFB))
SIDECAR_MAX_BYTES = 1 << 16     # .prj and .cpg are a line of text

# GDAL configuration that keeps it off the network (see the module docstring).
NETWORK_OFF = {
    "GDAL_HTTP_PROXY": "127.0.0.1:9",                 # the discard port: nothing answers there
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "2",
    "GDAL_HTTP_CONNECTTIMEOUT": "2",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".network-access-disabled",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}
_NETWORK_OFF_DONE = False


def disable_network() -> None:
    """Switch GDAL's (and PROJ's) network access off for this process; idempotent."""
    global _NETWORK_OFF_DONE
    if _NETWORK_OFF_DONE:
        return
    os.environ["PROJ_NETWORK"] = "OFF"
    import pyogrio

    pyogrio.set_gdal_config_options(NETWORK_OFF)
    try:
        import pyproj.network

        pyproj.network.set_network_enabled(False)
    except (ImportError, AttributeError):   # pyproj is optional for reading; PROJ_NETWORK covers it
        pass
    _NETWORK_OFF_DONE = True


def network_disabled() -> bool:
    """True when GDAL in this process has the settings of :data:`NETWORK_OFF`."""
    import pyogrio

    return all(str(pyogrio.get_gdal_config_option(k)) == v for k, v in NETWORK_OFF.items())


def refuse_path(text: str, label: str | None) -> None:
    """GDAL virtual file systems (``/vsicurl/`` and kin), GDAL connection strings with a
    driver prefix, and URLs are refused: only files on this computer are read."""
    low = text.strip().lower()
    if low.startswith("/vsi") or "://" in low or low.startswith(
            ("http:", "https:", "ftp:", "zip:", "gpkg:", "geojson:", "csv:", "vrt:", "esri shapefile:")):
        raise IngestError("only files on this computer can be read, not network addresses, GDAL virtual file "
                          f"systems or connection strings. Give {ACCEPTED}.", file=label)


def kind_of(data: bytes) -> str:
    """``geojson``, ``gpkg`` or ``shapefile`` from the bytes, or IngestError saying what it is."""
    head = data[:4096]
    if head.startswith(safeio.SQLITE_MAGIC):
        if len(data) >= 72 and data[68:72] in GPKG_APPLICATION_IDS:
            return "gpkg"
        raise IngestError(f"this is an SQLite database but not a GeoPackage. Give {ACCEPTED}.", file=None)
    if head[:4] in (safeio.ZIP_MAGIC, safeio.ZIP_EMPTY):
        return "shapefile"
    if head[:2] == safeio.GZIP_MAGIC:
        raise IngestError(f"this is a gzip archive. Decompress it and give {ACCEPTED}.", file=None)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        raise IngestError("XML files (VRT, GML, KML) are not accepted as regions, because they can point GDAL at "
                          f"other files or addresses. Give {ACCEPTED}.", file=None)
    if text.startswith(b"{") and b'"type"' in data[:1 << 20]:
        return "geojson"
    other = safeio.other_format(head)
    raise IngestError(f"this is {other or 'not a format for region boundaries'}. Give {ACCEPTED}.", file=None)


def read_geo(source: Any, *, name: str | None = None, limits: Limits | None = None):
    """A GeoDataFrame from an upload (bytes or file-like) or a local path, opened as
    described in the module docstring. Raises :class:`IngestError` with a sentence."""
    import geopandas as gpd

    lim = current_limits(limits)
    disable_network()
    if isinstance(source, gpd.GeoDataFrame):
        return source.copy()
    label = name or getattr(source, "name", None)
    if isinstance(source, (str, Path)):
        label = name or Path(str(source)).name
        refuse_path(str(source), label)
        path = Path(source)
        if not path.is_file():
            raise IngestError("the regions file does not exist. Check the path.", file=label)
        safeio.check_size(path.stat().st_size, lim, label)
        data = path.read_bytes()
    else:
        data = bytes(source.getvalue() if hasattr(source, "getvalue") else (
            source.read() if hasattr(source, "read") else source))
        safeio.check_size(len(data), lim, label, upload=True)
    if not data.strip():
        raise IngestError(f"the regions file is empty. Give {ACCEPTED}.", file=label)
    try:
        kind = kind_of(data)
    except IngestError as exc:
        raise exc.with_file(label) from None
    with tempfile.TemporaryDirectory(prefix="regions_") as d:
        target = _stage(kind, data, Path(d), lim, label)
        return _open(target, kind, label)


def _stage(kind: str, data: bytes, folder: Path, lim: Limits, label: str | None) -> str:
    """Write the accepted bytes into ``folder`` under fixed names; the GDAL name to open."""
    if kind == "geojson":
        _check_json(data, label)
        (folder / "regions.geojson").write_bytes(data)
        return f"GeoJSON:{folder / 'regions.geojson'}"
    if kind == "gpkg":
        (folder / "regions.gpkg").write_bytes(data)
        return f"GPKG:{folder / 'regions.gpkg'}"
    return _stage_shapefile(data, folder, lim, label)


def _check_json(data: bytes, label: str | None) -> None:
    """GeoJSON must be JSON whose top level is a Feature or FeatureCollection."""
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IngestError(f"the GeoJSON file is not valid JSON ({str(exc)[:120]}). Export it again.",
                          file=label) from None
    if not isinstance(obj, dict) or obj.get("type") not in ("FeatureCollection", "Feature"):
        raise IngestError("the GeoJSON file is not a FeatureCollection of regions. Export the boundaries as "
                          "GeoJSON features with a region code property.", file=label)


def _stage_shapefile(data: bytes, folder: Path, lim: Limits, label: str | None) -> str:
    import zipfile

    infos = safeio.zip_members(data, limits=lim, name=label)
    files = [i for i in infos if not i.is_dir() and not Path(i.filename).name.startswith(".")
             and not i.filename.startswith("__MACOSX/")]
    shp = [i for i in files if i.filename.lower().endswith(".shp")]
    if len(shp) != 1:
        raise IngestError(f"the zip archive holds {len(shp)} Shapefiles (.shp); it must hold exactly one, with its "
                          ".shx, .dbf and .prj.", file=label)
    stem = shp[0].filename[:-4]
    parts = {}
    for ext in ("shp", "shx", "dbf", "prj", "cpg"):
        hit = [i for i in files if i.filename[:-4] == stem and i.filename[-4:].lower() == f".{ext}"]
        if hit:
            parts[ext] = hit[0]
    missing = [e for e in ("shx", "dbf") if e not in parts]
    if missing:
        raise IngestError(f"the Shapefile in the zip archive has no .{missing[0]} file beside its .shp. Zip the "
                          ".shp, .shx, .dbf and .prj together.", file=label)
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for ext, info in parts.items():
            if ext in ("prj", "cpg") and info.file_size > SIDECAR_MAX_BYTES:
                raise IngestError(f"the .{ext} file in the zip archive is too large to be what it should be.",
                                  file=label)
            try:
                content = zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise IngestError(f"the zip archive is damaged ({exc}). Create it again.", file=label) from None
            _check_part(ext, content, label)
            (folder / f"regions.{ext}").write_bytes(content)
    return str(folder / "regions.shp")


def _check_part(ext: str, content: bytes, label: str | None) -> None:
    """Header of a Shapefile member: file code 9994 (.shp/.shx), a dBase version (.dbf)."""
    if ext in ("shp", "shx"):
        if len(content) < 100 or struct.unpack(">i", content[:4])[0] != SHAPEFILE_CODE:
            raise IngestError(f"the .{ext} file in the zip archive is not a Shapefile. Export the boundaries "
                              "again.", file=label)
    elif ext == "dbf":
        if len(content) < 32 or content[0] not in DBF_VERSIONS:
            raise IngestError("the .dbf file in the zip archive is not a dBase table. Export the boundaries "
                              "again.", file=label)


def _open(target: str, kind: str, label: str | None):
    import pyogrio

    try:
        info = pyogrio.read_info(target)
        expected = {"geojson": "GeoJSON", "gpkg": "GPKG", "shapefile": "ESRI Shapefile"}[kind]
        if info.get("driver") != expected:
            raise IngestError(f"the file was not read as {expected}. Give {ACCEPTED}.", file=label)
        return pyogrio.read_dataframe(target)
    except IngestError:
        raise
    except Exception as exc:   # noqa: BLE001 - GDAL's message, in a sentence for the user
        raise IngestError(f"the regions could not be read ({str(exc).splitlines()[0][:160]}). Give {ACCEPTED}.",
                          file=label) from None
