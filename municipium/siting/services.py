"""Every change to a siting project: checked, in one transaction, audited. A refusal is a
`SitingError` naming the field, in the reader's language, and stores nothing.

The maths is in `municipium.lib.siting`; this module turns the stored project into its plain
inputs, words the library's refusals, keeps the runs and hands a joint site to the
cooperation module's cost sharing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import numpy as np
import shapely
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from shapely.geometry import mapping, shape

from municipium.audit.models import record, snapshot
from municipium.lib.numbers import format_number
from municipium.lib.siting import ahp, layers, pipeline, rank
from municipium.lib.siting import grid as gridlib

from .models import RASTER_TOPICS, CriteriaSet, Criterion, Expert, Layer, Member, Project, Run, Topic


class SitingError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _audit(action, instance, actor, before=None, note="", after=None):
    record(
        action,
        instance,
        actor=actor,
        before=before,
        after=after if after is not None else snapshot(instance),
        via="web",
        note=note,
    )


def _layer_snapshot(layer: Layer) -> dict:
    return {
        "topic": layer.topic,
        "name": layer.name,
        "kind": layer.kind,
        "crs": layer.crs,
        "features": layer.features,
        "size": layer.size,
    }


# --- the library's refusals, worded -----------------------------------------------------


def layer_message(error: layers.LayerError, name: str) -> str:
    p = error.params
    messages = {
        "type": _("%(name)s is not GeoJSON, a GeoPackage, a zipped Shapefile or a GeoTIFF."),
        "size": _("%(name)s is larger than the limit of %(limit)s MB."),
        "empty": _("%(name)s is empty."),
        "zip": _("%(name)s is not a readable zip file."),
        "zip_path": _("%(name)s: the zip holds a file that points outside it (%(member)s)."),
        "zip_bomb": _("%(name)s unpacks to more than %(limit)s MB."),
        "zip_shapes": _("%(name)s must hold exactly one Shapefile (.shp)."),
        "zip_part": _("%(name)s: the Shapefile has no %(part)s file."),
        "features": ngettext(
            "%(name)s has more than %(limit)s feature.", "%(name)s has more than %(limit)s features.", p.get("limit", 0)
        ),
        "unreadable": _("%(name)s cannot be read: %(detail)s"),
        "crs": _("%(name)s has no coordinate reference system, or one that is not known."),
        "geometry": _("%(name)s: feature %(n)s cannot be read."),
        "invalid": _("%(name)s: feature %(n)s is not a valid geometry (%(reason)s)."),
        "vertices": ngettext(
            "%(name)s has more than %(limit)s point.", "%(name)s has more than %(limit)s points.", p.get("limit", 0)
        ),
        "coordinates": _("%(name)s: feature %(n)s lies outside the earth in its coordinate reference system."),
        "no_features": _("%(name)s holds no geometry."),
        "not_vector": _("%(name)s is a raster; this layer takes points, lines or areas."),
        "not_raster": _("%(name)s is not a GeoTIFF; this layer takes a raster."),
        "cells": ngettext(
            "%(name)s has more than %(limit)s cell.", "%(name)s has more than %(limit)s cells.", p.get("limit", 0)
        ),
        "georeference": _("%(name)s is not georeferenced."),
        "no_values": _("%(name)s holds no values."),
    }
    limit = p.get("limit", 0)
    values = {
        "name": name or "?",
        "limit": format_number(limit // 1048576 if error.code in ("size", "zip_bomb") else limit, 0),
        "member": p.get("name", ""),
        "part": p.get("part", ""),
        "detail": p.get("detail", ""),
        "n": format_number(p.get("n", 0), 0),
        "reason": p.get("reason", ""),
    }
    return messages.get(error.code, _("%(name)s cannot be read: %(detail)s")) % values


def ahp_message(error: ahp.AHPError, names: list[str]) -> str:
    if error.where is not None:
        i, j = error.where
        where = {"row": names[i] if i < len(names) else i + 1, "column": names[j] if j < len(names) else j + 1}
        messages = {
            "positive": _("%(row)s against %(column)s: a judgement must be a positive number."),
            "diagonal": _("%(row)s against %(column)s: a criterion compared with itself is 1."),
            "scale": _("%(row)s against %(column)s: judgements run from 1/9 to 9."),
            "reciprocal": _("%(row)s against %(column)s: the judgement is not the reciprocal of its mirror."),
        }
        return messages.get(error.code, _("%(row)s against %(column)s: the judgement cannot be used.")) % where
    return _("The comparisons cannot be used: they must compare the same criteria, each pair once.")


def pipeline_message(error: Exception) -> str:
    code = getattr(error, "code", "")
    params = getattr(error, "params", {})
    if code == "missing_layer":
        return _("Upload the layer “%(topic)s”: a criterion uses it.") % {"topic": Topic(params["topic"]).label}
    if code == "cells":
        return _("The study area needs too many cells at this cell size: take larger cells.")
    if code == "no_factors":
        return _("The criteria set has no factor to score the land.")
    if code == "weights":
        return _("Every factor needs a positive weight (%(code)s).") % {"code": params.get("criterion", "")}
    if code == "area":
        return _("The study area covers no cell.")
    if code in ("control", "shape"):
        return _("A factor's second control point must be above its first.")
    if code == "alpha":
        return _("The risk attitude must be a positive number.")
    return _("The analysis cannot run: %(error)s") % {"error": error}


# --- projects, areas, members ----------------------------------------------------------


def _area_from_units(units) -> Any:
    parts = []
    for unit in units:
        if unit.boundary:
            found = shape(unit.boundary)
            parts.append(found if found.is_valid else shapely.make_valid(found))
    if not parts:
        raise SitingError(_("None of the member municipalities has a boundary: upload the study area."), "area")
    return shapely.union_all(parts)


def save_project(actor, project: Project) -> Project:
    checks = [
        ("cell", 10 <= project.cell <= 5000, _("The cell size must be between 10 and 5,000 metres.")),
        ("alpha", 0 < project.alpha <= 1000, _("The risk attitude must be a positive number.")),
        ("threshold", 0 <= project.threshold <= 1, _("The least suitability is between 0 and 1.")),
        ("years", 1 <= project.years <= 100, _("The design period is between 1 and 100 years.")),
        ("growth", -0.5 < project.growth < 0.5, _("The growth rate is a share a year, e.g. 0.015.")),
        ("kg_per_person_day", 0 < project.kg_per_person_day <= 10, _("Waste per person a day is between 0 and 10 kg.")),
        ("density", 0.1 <= project.density <= 2, _("The density is between 0.1 and 2 t/m³.")),
        ("fill_height", 1 <= project.fill_height <= 200, _("The fill height is between 1 and 200 m.")),
        ("cover_share", 0 <= project.cover_share < 1, _("A share is between 0 and 1.")),
        ("infrastructure_share", 0 <= project.infrastructure_share < 1, _("A share is between 0 and 1.")),
    ]
    for field, ok, message in checks:
        if not ok:
            raise SitingError(message, field)
    ranking = [project.weight_suitability, project.weight_haul, project.weight_area, project.weight_compactness]
    if any(w < 0 for w in ranking) or sum(ranking) <= 0:
        raise SitingError(_("The ranking weights must be positive."), "weight_suitability")
    before = snapshot(Project.objects.get(pk=project.pk)) if project.pk else None
    with transaction.atomic():
        if project.area and not project.epsg:
            centre = shape(project.area).centroid
            project.epsg = gridlib.utm_epsg(centre.x, centre.y)
        if not project.pk and actor is not None and actor.is_authenticated:
            project.created_by = actor
        project.save()
        _audit("update" if before else "create", project, actor, before, after=_project_snapshot(project))
    return project


def _project_snapshot(project: Project) -> dict:
    data = snapshot(project)
    if data.get("area"):
        data["area"] = {"type": data["area"].get("type"), "bounds": list(shape(project.area).bounds)}
    return data


def set_area(actor, project: Project, *, units=None, data: bytes | None = None, name: str = "") -> Project:
    """The study area from the member units' boundaries, or from an uploaded polygon layer."""
    if data is not None:
        try:
            vector = layers.read_vector(data, name)
        except layers.LayerError as error:
            raise SitingError(layer_message(error, name), "area") from None
        polygons = [g for g in vector.geometries if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polygons:
            raise SitingError(_("%(name)s holds no area (polygon).") % {"name": name}, "area")
        area = shapely.union_all(polygons)
    else:
        area = _area_from_units(
            units if units is not None else [m.unit for m in project.members.select_related("unit")]
        )
    centre = area.centroid
    before = _project_snapshot(Project.objects.get(pk=project.pk))
    project.area = mapping(area)
    project.epsg = gridlib.utm_epsg(centre.x, centre.y)
    try:
        gridlib.grid_for(area, project.cell, project.epsg)
    except gridlib.GridError:
        raise SitingError(
            _("The study area needs too many cells at this cell size: take larger cells."), "area"
        ) from None
    with transaction.atomic():
        project.save()
        _audit("update", project, actor, before, note="area", after=_project_snapshot(project))
    return project


def save_member(actor, member: Member) -> Member:
    if not (-180 <= member.lon <= 180 and -90 <= member.lat <= 90):
        raise SitingError(_("The waste centroid must be a longitude and latitude."), "lon")
    if member.population is None or member.population <= 0:
        raise SitingError(_("The population must be positive."), "population")
    before = snapshot(Member.objects.get(pk=member.pk)) if member.pk else None
    with transaction.atomic():
        member.save()
        _audit("update" if before else "create", member, actor, before)
    return member


def member_for(project: Project, unit, population: int) -> Member:
    """A member with its waste centroid at the centroid of the unit's boundary."""
    if not unit.boundary:
        raise SitingError(_("%(unit)s has no boundary: give its waste centroid.") % {"unit": unit.label}, "unit")
    centre = shape(unit.boundary).centroid
    return Member(project=project, unit=unit, population=population, lon=centre.x, lat=centre.y)


# --- layers ---------------------------------------------------------------------------


def upload_layer(actor, project: Project, topic: str, data: bytes, name: str, synthetic: bool = False) -> Layer:
    """Read and check an uploaded layer (type, CRS, validity, size, overlap with the study
    area) and keep it, replacing the topic's earlier layer. A refusal stores nothing."""
    if topic not in Topic.values:
        raise SitingError(_("Choose which layer this file is."), "topic")
    if not project.area:
        raise SitingError(_("Set the study area before uploading layers."), "topic")
    area = shape(project.area)
    raster = topic in RASTER_TOPICS and layers.kind_of_safe(data, name) == "geotiff"
    if topic in (Topic.ELEVATION, Topic.GROUNDWATER) and not raster:
        raise SitingError(layer_message(layers.LayerError("not_raster", "not a GeoTIFF"), name), "file")
    try:
        if raster:
            found_raster = layers.read_raster(data, name)
            bounds, crs, count = found_raster.bounds, found_raster.crs, found_raster.width * found_raster.height
            geometry = None
        else:
            vector = layers.read_vector(data, name)
            bounds, crs, count = vector.bounds, vector.crs, len(vector.geometries)
            geometry = {"type": "GeometryCollection", "geometries": [mapping(g) for g in vector.geometries]}
    except layers.LayerError as error:
        raise SitingError(layer_message(error, name), "file") from None
    if not layers.overlaps(bounds, area):
        raise SitingError(
            _("%(name)s lies wholly outside the study area (its extent is %(extent)s).")
            % {"name": name, "extent": ", ".join(f"{v:.4f}" for v in bounds)},
            "file",
        )
    existing = Layer.objects.filter(project=project, topic=topic).first()
    before = _layer_snapshot(existing) if existing else None
    layer = existing or Layer(project=project, topic=topic)
    layer.name = name[:200]
    layer.kind = "geotiff" if raster else layers.kind_of(data, name)
    layer.crs = crs[:200]
    layer.bounds = list(bounds)
    layer.geometry = geometry
    layer.raster = data if raster else None
    layer.features = count
    layer.size = len(data)
    layer.synthetic = synthetic
    layer.uploaded_by = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        layer.save()
        _audit("update" if before else "create", layer, actor, before, after=_layer_snapshot(layer))
    return layer


def delete_layer(actor, layer: Layer) -> None:
    before = _layer_snapshot(layer)
    with transaction.atomic():
        _audit("delete", layer, actor, before, after={})
        layer.delete()


# --- criteria -------------------------------------------------------------------------


def adopt(actor, project: Project, starter: CriteriaSet) -> CriteriaSet:
    """The project's own copy of a starter set (which stays as it is)."""
    with transaction.atomic():
        copy = CriteriaSet.objects.create(
            name=starter.name,
            project=project,
            based_on=starter,
            version=1,
            source=starter.source,
            legal_status=starter.legal_status,
        )
        for c in starter.criteria.all():
            c.pk = None
            c.criteria_set = copy
            c.save()
        before = snapshot(Project.objects.get(pk=project.pk))
        project.criteria_set = copy
        project.save(update_fields=["criteria_set"])
        _audit("create", copy, actor, note=f"copy of {starter.pk}")
        _audit("update", project, actor, before, note="criteria", after=_project_snapshot(project))
    return copy


def save_criteria_set(actor, criteria_set: CriteriaSet) -> CriteriaSet:
    """Change a project's own set's name, source or legal status; the version goes up."""
    if criteria_set.project_id is None:
        raise SitingError(_("A starter set is not changed: adopt it in a project and change the copy."), "name")
    if not criteria_set.name.strip():
        raise SitingError(_("Give the set a name."), "name")
    before = snapshot(CriteriaSet.objects.get(pk=criteria_set.pk))
    with transaction.atomic():
        criteria_set.version = before["version"] + 1
        criteria_set.save()
        _audit("update", criteria_set, actor, before)
    return criteria_set


def check_criterion(c: Criterion) -> None:
    if c.kind == Criterion.Kind.CONSTRAINT:
        if c.measure == Criterion.Measure.DISTANCE:
            if c.topic in RASTER_TOPICS - {Topic.LANDUSE}:
                raise SitingError(_("A raster layer is constrained by its values, not by a buffer."), "measure")
            if not (0 <= c.buffer_m <= 50_000):
                raise SitingError(_("The buffer is between 0 and 50,000 metres."), "buffer_m")
        else:
            if c.low is None and c.high is None:
                raise SitingError(_("Give the values allowed: from, up to, or both."), "low")
            if c.low is not None and c.high is not None and c.high < c.low:
                raise SitingError(_("The highest value allowed must not be below the lowest."), "high")
    else:
        if c.b <= c.a:
            raise SitingError(_("The second control point must be above the first."), "b")
        if c.weight is not None and c.weight < 0:
            raise SitingError(_("A weight cannot be negative."), "weight")
    if c.measure != Criterion.Measure.DISTANCE and c.topic not in RASTER_TOPICS:
        raise SitingError(
            _("Values and slopes are read from a raster layer (elevation, groundwater depth, land use)."), "topic"
        )
    if c.measure == Criterion.Measure.SLOPE and c.topic != Topic.ELEVATION:
        raise SitingError(_("The slope is read from the elevation."), "topic")


def save_criterion(actor, criterion: Criterion) -> Criterion:
    """Add or change a criterion of a project's own set; the set's version goes up."""
    criteria_set = criterion.criteria_set
    if criteria_set.project_id is None:
        raise SitingError(_("A starter set is not changed: adopt it in a project and change the copy."), "code")
    check_criterion(criterion)
    clash = Criterion.objects.filter(criteria_set=criteria_set, code=criterion.code).exclude(pk=criterion.pk)
    if clash.exists():
        raise SitingError(_("Another criterion of the set has this code."), "code")
    before = snapshot(Criterion.objects.get(pk=criterion.pk)) if criterion.pk else None
    with transaction.atomic():
        criterion.save()
        CriteriaSet.objects.filter(pk=criteria_set.pk).update(version=criteria_set.version + 1)
        criteria_set.version += 1
        _audit("update" if before else "create", criterion, actor, before, note=f"v{criteria_set.version}")
    return criterion


def delete_criterion(actor, criterion: Criterion) -> None:
    criteria_set = criterion.criteria_set
    if criteria_set.project_id is None:
        raise SitingError(_("A starter set is not changed: adopt it in a project and change the copy."), "code")
    before = snapshot(criterion)
    with transaction.atomic():
        _audit("delete", criterion, actor, before, after={})
        criterion.delete()
        CriteriaSet.objects.filter(pk=criteria_set.pk).update(version=criteria_set.version + 1)


def factors(project: Project) -> list[Criterion]:
    if project.criteria_set_id is None:
        return []
    return list(project.criteria_set.criteria.filter(kind=Criterion.Kind.FACTOR))  # type: ignore[union-attr]


# --- AHP ------------------------------------------------------------------------------


def pair_key(a: str, b: str) -> str:
    return f"{a}|{b}"


def matrix_of(expert: Expert, codes: list[str]) -> np.ndarray:
    pairs = {}
    for i, a in enumerate(codes):
        for j in range(i + 1, len(codes)):
            value = expert.judgements.get(pair_key(a, codes[j]))
            if value is None:
                raise SitingError(
                    _("%(expert)s has not compared %(a)s with %(b)s.") % {"expert": expert.name, "a": a, "b": codes[j]},
                    "judgements",
                )
            pairs[(i, j)] = float(value)
    return ahp.from_pairs(len(codes), pairs)


def parse_judgement(text) -> float:
    """A judgement as typed: 3, 1/3, 0.333."""
    raw = str(text).strip().replace(" ", "")
    try:
        if "/" in raw:
            top, bottom = raw.split("/", 1)
            value = float(top) / float(bottom)
        else:
            value = float(raw)
    except (ValueError, ZeroDivisionError):
        raise SitingError(
            _("“%(value)s” is not a judgement: type 1 to 9 or 1/2 to 1/9.") % {"value": text}, "judgements"
        ) from None
    return value


def save_expert(actor, expert: Expert) -> Expert:
    codes = [c.code for c in factors(expert.project)]
    names = [c.name for c in factors(expert.project)]
    if not expert.name.strip():
        raise SitingError(_("Give the expert's name."), "name")
    judgements = {}
    for key, value in (expert.judgements or {}).items():
        judgements[key] = parse_judgement(value)
    expert.judgements = judgements
    try:
        ahp.check(matrix_of(expert, codes))
    except ahp.AHPError as error:
        raise SitingError(ahp_message(error, names), "judgements") from None
    before = snapshot(Expert.objects.get(pk=expert.pk)) if expert.pk else None
    with transaction.atomic():
        expert.save()
        _audit("update" if before else "create", expert, actor, before)
    return expert


def delete_expert(actor, expert: Expert) -> None:
    with transaction.atomic():
        _audit("delete", expert, actor, snapshot(expert), after={})
        expert.delete()


def weighting(project: Project) -> dict:
    """The factor weights the next run will use: by AHP (each expert and the group's
    geometric mean) or typed directly. {codes, names, weights, experts: [...], group: {...}}"""
    found = factors(project)
    codes = [c.code for c in found]
    names = [c.name for c in found]
    out: dict[str, Any] = {"codes": codes, "names": names, "experts": [], "group": None, "weights": {}}
    if not codes:
        return out
    if project.weighting == Project.Weighting.DIRECT:
        direct = [c.weight or 0 for c in found]
        total = sum(direct)
        out["weights"] = {c: (w / total if total else 0.0) for c, w in zip(codes, direct)}
        return out
    matrices = []
    for expert in project.experts.all():
        try:
            m = matrix_of(expert, codes)
            result = ahp.weights(m)
        except (SitingError, ahp.AHPError):
            out["experts"].append({"name": expert.name, "complete": False})
            continue
        matrices.append(m)
        out["experts"].append({"name": expert.name, "complete": True, **_result(result, names)})
    if matrices:
        combined = ahp.group(matrices)
        result = ahp.weights(combined)
        out["group"] = {**_result(result, names), "matrix": combined.tolist()}
        out["weights"] = dict(zip(codes, result.weights))
    return out


def _result(result: ahp.Result, names: list[str]) -> dict:
    return {
        "weights": list(result.weights),
        "lambda_max": result.lambda_max,
        "ci": result.ci,
        "cr": result.cr,
        "consistent": result.consistent,
        "responsible": [
            {"a": names[j.i], "b": names[j.j], "given": j.given, "implied": j.implied} for j in result.responsible
        ],
    }


# --- runs -----------------------------------------------------------------------------


def need(project: Project) -> rank.Need:
    population = sum(m.population for m in project.members.all())
    if population <= 0:
        raise SitingError(_("Add the member municipalities and their population."), "members")
    try:
        return rank.required_area(
            population,
            project.growth,
            project.years,
            project.kg_per_person_day,
            project.density,
            project.fill_height,
            project.cover_share,
            project.infrastructure_share,
        )
    except rank.RankError:
        raise SitingError(_("The figures for the required area are out of range."), "years") from None


def _criterion_data(c: Criterion) -> dict:
    return {
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "measure": c.measure,
        "topic": c.topic,
        "buffer_m": c.buffer_m,
        "low": c.low,
        "high": c.high,
        "shape": c.shape,
        "benefit": c.benefit,
        "a": c.a,
        "b": c.b,
        "weight": c.weight,
        "citation": c.citation,
    }


def inputs_for(project: Project, draws: int = 500) -> tuple[pipeline.Inputs, dict]:
    """The plain inputs of a run, and the record of them kept with it."""
    if not project.area:
        raise SitingError(_("Set the study area first."), "area")
    if project.criteria_set is None:
        raise SitingError(_("Choose a criteria set first."), "criteria_set")
    criteria = list(project.criteria_set.criteria.all())
    weights = weighting(project)
    if not weights["weights"]:
        raise SitingError(_("Give the factor weights: the experts' comparisons or direct weights."), "weighting")
    required = need(project)
    members = list(project.members.select_related("unit"))
    population = sum(m.population for m in members)
    vectors, rasters = {}, {}
    for layer in project.layers.all():
        if layer.raster is not None:
            rasters[layer.topic] = bytes(layer.raster)
        elif layer.geometry:
            vectors[layer.topic] = [shape(g) for g in layer.geometry["geometries"]]
    tonnes_year = required.tonnes / project.years
    inputs = pipeline.Inputs(
        area=shape(project.area),
        cell=project.cell,
        criteria=[
            pipeline.Criterion(
                c.code, c.kind, c.measure, c.topic, c.buffer_m, c.low, c.high, c.shape, c.benefit, c.a, c.b
            )
            for c in criteria
        ],
        weights=weights["weights"],
        vectors=vectors,
        rasters=rasters,
        method=project.method,
        alpha=project.alpha,
        threshold=project.threshold,
        min_area_m2=required.area_m2,
        sources=[(m.unit.code, m.lon, m.lat, tonnes_year * m.population / population) for m in members],
        topsis_weights=(
            project.weight_suitability,
            project.weight_haul,
            project.weight_area,
            project.weight_compactness,
        ),
        draws=draws,
    )
    kept = {
        "criteria_set": {
            "id": project.criteria_set.pk,
            "name": project.criteria_set.name,
            "version": project.criteria_set.version,
            "source": project.criteria_set.source,
            "legal_status": project.criteria_set.legal_status,
        },
        "criteria": [_criterion_data(c) for c in criteria],
        "weighting": project.weighting,
        "weights": weights["weights"],
        "ahp": {"group": weights["group"], "experts": weights["experts"]},
        "method": project.method,
        "alpha": project.alpha,
        "threshold": project.threshold,
        "cell": project.cell,
        "need": {
            "tonnes": required.tonnes,
            "waste_m3": required.waste_m3,
            "cover_m3": required.cover_m3,
            "footprint_m2": required.footprint_m2,
            "area_m2": required.area_m2,
            "population": population,
            "years": project.years,
        },
        "members": [
            {"code": m.unit.code, "name": m.unit.label, "population": m.population, "lon": m.lon, "lat": m.lat}
            for m in members
        ],
        "ranking_weights": list(inputs.topsis_weights),
    }
    return inputs, kept


def run(actor, project: Project, draws: int = 500) -> Run:
    """Compute the suitability and the candidates, and keep the run."""
    inputs, kept = inputs_for(project, draws)
    started = time.perf_counter()
    try:
        outcome = pipeline.analyse(inputs)
    except (pipeline.PipelineError, gridlib.GridError, rank.RankError) as error:
        raise SitingError(pipeline_message(error), "run") from None
    image, bounds = pipeline.png(outcome)
    tiff = pipeline.geotiff(outcome)
    seconds = time.perf_counter() - started
    grid = outcome.grid
    stability = outcome.stability
    results = {
        "grid": {
            "epsg": grid.epsg,
            "cell": grid.cell,
            "west": grid.west,
            "north": grid.north,
            "width": grid.width,
            "height": grid.height,
        },
        "image_bounds": list(bounds),
        "inside_m2": outcome.inside_cells * grid.cell_area,
        "excluded_m2": outcome.excluded_cells * grid.cell_area,
        "no_data_m2": outcome.no_data_cells * grid.cell_area,
        "exclusions": outcome.exclusions,
        "classes": outcome.classes,
        "candidates": sorted(outcome.candidates, key=lambda c: c["rank"]),
        "stability": None
        if stability is None
        else {
            "base_rank": stability.base_rank,
            "one_at_a_time": stability.one_at_a_time,
            "draws": stability.draws,
            "best_share": stability.best_share,
            "min_rank": stability.min_rank,
            "max_rank": stability.max_rank,
            "rank_share": stability.rank_share,
        },
        "timings": outcome.timings,
    }
    # Keep the stability aligned with the candidates as sorted: by label.
    if stability is not None:
        order = {c["label"]: k for k, c in enumerate(outcome.candidates)}
        results["stability_index"] = {str(c["label"]): order[c["label"]] for c in outcome.candidates}
    results = json.loads(json.dumps(results, default=_json))
    with transaction.atomic():
        number_ = (project.runs.aggregate(n=Max("number"))["n"] or 0) + 1
        saved = Run.objects.create(
            project=project,
            number=number_,
            created_by=actor if actor is not None and actor.is_authenticated else None,
            inputs=kept,
            results=results,
            png=image,
            geotiff=tiff,
            seconds=seconds,
        )
        _audit(
            "create",
            saved,
            actor,
            after={"project": project.pk, "number": number_, "candidates": len(outcome.candidates)},
        )
    return saved


def _json(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    raise TypeError(type(value))


def candidate(run_: Run, rank_: int) -> dict:
    for c in run_.results.get("candidates", []):
        if c["rank"] == rank_:
            return c
    raise SitingError(_("The run has no candidate ranked %(rank)s.") % {"rank": rank_}, "rank")


def stability_of(run_: Run, c: dict) -> dict | None:
    s = run_.results.get("stability")
    if not s:
        return None
    k = run_.results["stability_index"][str(c["label"])]
    return {
        "best_share": s["best_share"][k],
        "min_rank": s["min_rank"][k],
        "max_rank": s["max_rank"][k],
        "rank_share": s["rank_share"][k],
        "one_at_a_time": [
            {"criterion": e["criterion"], "change": e["change"], "rank": e["ranks"][k]} for e in s["one_at_a_time"]
        ],
    }


# --- the hand-off to cost sharing -----------------------------------------------------


def hand_off(actor, run_: Run, rank_: int, year: int | None = None):
    """Make (or update) the cooperation facility for the chosen site: the members as
    participants with their waste a year (tonnes) and their haul distance to the site
    (haul_km) as drivers; the variable cost shared by tonnes. Costs are then entered and
    shared in the cooperation module."""
    from municipium.cooperation import services as cooperation
    from municipium.cooperation.models import Facility, Participant, Scenario

    project = run_.project
    chosen = candidate(run_, rank_)
    kept = run_.inputs
    population = kept["need"]["population"]
    tonnes_year = kept["need"]["tonnes"] / kept["need"]["years"]
    members = {m.unit.code: m for m in project.members.select_related("unit")}
    with transaction.atomic():
        facility = project.facility
        if facility is None:
            code = f"siting-{project.code}"[:64]
            facility = Facility(
                code=code,
                name=_("%(project)s: site %(rank)s") % {"project": project.name, "rank": rank_},
                kind=Facility.Kind.LANDFILL,
                group=project.group,
                year=year or dt.date.today().year,
                variable_driver="tonnes",
                fixed_driver="population",
            )
            facility = cooperation.save_facility(actor, facility)
            before = snapshot(Project.objects.get(pk=project.pk))
            project.facility = facility
            project.save(update_fields=["facility"])
            _audit(
                "update",
                project,
                actor,
                before,
                note=f"hand-off run {run_.number} site {rank_}",
                after=_project_snapshot(project),
            )
        for code, km in chosen["haul_by_member"].items():
            member = members.get(code)
            if member is None:
                continue
            participant = Participant.objects.filter(facility=facility, unit=member.unit).first() or Participant(
                facility=facility, unit=member.unit, drivers={}
            )
            drivers = dict(participant.drivers or {})
            drivers["population"] = member.population
            drivers["tonnes"] = round(tonnes_year * member.population / population, 1)
            drivers["haul_km"] = round(km, 2)
            participant.drivers = drivers
            cooperation.save_participant(actor, participant)
        # Beside the split by tonnes, the one where the variable cost follows the haul
        # (tonnes × km to this site), for the councils to compare.
        name = _("Variable cost shared by tonne-km")
        if not facility.scenarios.filter(name=name).exists():
            cooperation.save_scenario(actor, Scenario(facility=facility, name=name, variable_driver="tonne_km"))
    return facility
