"""Reading the layers a planner uploads: vectors (GeoJSON, GeoPackage, zipped Shapefile) with
pyogrio and rasters (GeoTIFF) with rasterio, each checked before anything is kept.

A refusal is a `LayerError` with a code and the values that locate it (a feature number, a
file inside the zip), for the app to word in the reader's language. Hostile files are stopped
before GDAL reads them: the size of the upload, a zip's member names (no paths out of it)
and its unpacked size (no zip bombs), a raster's cell count (read from the header first).
Vectors come out as shapely geometries in longitude/latitude (EPSG:4326).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, reproject, transform_bounds

from municipium.lib.zones import transform as transform_geometry

MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024
MAX_FEATURES = 50_000
MAX_VERTICES = 1_000_000
MAX_CELLS = 16_000_000
KINDS = ("geojson", "gpkg", "shapefile", "geotiff")


class LayerError(ValueError):
    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass
class Vector:
    geometries: list  # shapely, lon/lat
    crs: str
    bounds: tuple[float, float, float, float]  # lon/lat
    fields: list[str] = field(default_factory=list)


@dataclass
class Raster:
    data: bytes  # the GeoTIFF as uploaded
    crs: str
    width: int
    height: int
    bounds: tuple[float, float, float, float]  # lon/lat
    minimum: float
    maximum: float


def kind_of(data: bytes, name: str) -> str:
    """What the upload is, from its content and name (the two must agree)."""
    lower = (name or "").lower()
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") and lower.endswith((".tif", ".tiff")):
        return "geotiff"
    if data.startswith(b"SQLite format 3\x00") and lower.endswith(".gpkg"):
        return "gpkg"
    if data.startswith(b"PK\x03\x04") and lower.endswith(".zip"):
        return "shapefile"
    if lower.endswith((".geojson", ".json")) and data.lstrip()[:1] == b"{":
        return "geojson"
    raise LayerError("type", f"{name} is not GeoJSON, GeoPackage, a zipped Shapefile or GeoTIFF", name=name)


def kind_of_safe(data: bytes, name: str) -> str:
    """`kind_of`, or "" when the file is none of the kinds."""
    try:
        return kind_of(data, name)
    except LayerError:
        return ""


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise LayerError("size", "the file is too large", size=len(data), limit=MAX_BYTES)
    if not data:
        raise LayerError("empty", "the file is empty")


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise LayerError("zip", f"the zip cannot be read: {error}") from error
    total = 0
    shapes = []
    for member in members:
        name = member.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise LayerError("zip_path", f"{name} points outside the zip", name=name)
        total += member.file_size
        if total > MAX_UNPACKED:
            raise LayerError("zip_bomb", "the zip unpacks to too much", limit=MAX_UNPACKED)
        if name.lower().endswith(".shp"):
            shapes.append(name)
    if len(shapes) != 1:
        raise LayerError("zip_shapes", "the zip must hold exactly one .shp", count=len(shapes))
    stem = shapes[0][:-4].lower()
    present = {m.filename.lower() for m in members}
    for part in (".shx", ".dbf", ".prj"):
        if stem + part not in present:
            raise LayerError("zip_part", f"the Shapefile has no {part}", part=part)


def read_vector(data: bytes, name: str) -> Vector:
    _check_size(data)
    kind = kind_of(data, name)
    if kind == "geotiff":
        raise LayerError("not_vector", "a raster was given where a vector layer is expected")
    if kind == "shapefile":
        _check_zip(data)
    try:
        info = pyogrio.read_info(data)
        if int(info.get("features") or 0) > MAX_FEATURES:
            raise LayerError("features", "too many features", count=int(info["features"]), limit=MAX_FEATURES)
        meta, _fids, wkb, _values = pyogrio.raw.read(data, force_2d=True)
    except LayerError:
        raise
    except Exception as error:  # GDAL says many things; none may reach the reader as a 500
        raise LayerError("unreadable", f"the file cannot be read: {error}", detail=str(error)[:200]) from error
    crs_text = meta.get("crs")
    if not crs_text:
        raise LayerError("crs", "the layer has no coordinate reference system")
    try:
        crs = CRS.from_user_input(crs_text)
    except CRSError as error:
        raise LayerError("crs", f"unknown coordinate reference system {crs_text}", crs=str(crs_text)) from error
    to_wgs84 = None if crs.equals(CRS.from_epsg(4326)) else Transformer.from_crs(crs, 4326, always_xy=True).transform
    geometries = []
    vertices = 0
    for n, blob in enumerate(wkb if wkb is not None else [], start=1):
        if blob is None:
            continue
        try:
            geometry = shapely.from_wkb(blob)
        except shapely.errors.ShapelyError as error:
            raise LayerError("geometry", f"feature {n} cannot be read", n=n) from error
        if geometry.is_empty:
            continue
        if not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry)
            raise LayerError("invalid", f"feature {n} is not valid: {reason}", n=n, reason=reason)
        vertices += shapely.get_num_coordinates(geometry)
        if vertices > MAX_VERTICES:
            raise LayerError("vertices", "too many points", limit=MAX_VERTICES)
        if to_wgs84 is not None:
            geometry = transform_geometry(to_wgs84, geometry)
        minx, miny, maxx, maxy = geometry.bounds
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or not (
            -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
        ):
            raise LayerError("coordinates", f"feature {n} lies outside the earth in its CRS", n=n)
        geometries.append(geometry)
    if not geometries:
        raise LayerError("no_features", "the layer has no geometry")
    bounds = tuple(float(v) for v in shapely.total_bounds(geometries))
    fields = [str(f) for f in (meta.get("fields") if meta.get("fields") is not None else [])]
    return Vector(geometries, crs.to_string(), bounds, fields)  # type: ignore[arg-type]


def read_raster(data: bytes, name: str) -> Raster:
    _check_size(data)
    if kind_of(data, name) != "geotiff":
        raise LayerError("not_raster", "a vector was given where a GeoTIFF is expected")
    try:
        with MemoryFile(data) as memory, memory.open() as source:
            if source.driver != "GTiff":
                raise LayerError("not_raster", "not a GeoTIFF")
            if source.width * source.height > MAX_CELLS:
                raise LayerError(
                    "cells", "the raster has too many cells", count=source.width * source.height, limit=MAX_CELLS
                )
            if source.crs is None:
                raise LayerError("crs", "the raster has no coordinate reference system")
            if source.transform.is_identity:
                raise LayerError("georeference", "the raster is not georeferenced")
            band = source.read(1, masked=True).astype(np.float64)
            values = band.compressed()
            values = values[np.isfinite(values)]
            if values.size == 0:
                raise LayerError("no_values", "the raster holds no values")
            west, south, east, north = transform_bounds(source.crs, "EPSG:4326", *source.bounds)
            return Raster(
                data,
                source.crs.to_string(),
                source.width,
                source.height,
                (west, south, east, north),
                float(values.min()),
                float(values.max()),
            )
    except LayerError:
        raise
    except Exception as error:
        raise LayerError("unreadable", f"the raster cannot be read: {error}", detail=str(error)[:200]) from error


def overlaps(bounds: tuple[float, float, float, float], area) -> bool:
    """Whether a layer's lon/lat bounds meet the study area."""
    return shapely.box(*bounds).intersects(area)


def warp(data: bytes, grid) -> np.ndarray:
    """A stored GeoTIFF's first band on the analysis grid (bilinear), NaN where it has no data."""
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    with MemoryFile(data) as memory, memory.open() as source:
        reproject(
            source=rasterio.band(source, 1),
            destination=out,
            dst_transform=grid.transform,
            dst_crs=f"EPSG:{grid.epsg}",
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
    return out
