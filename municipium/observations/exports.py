"""Exporting observations as CSV or Excel.

Observations are written in the long format the importer reads (unit, variable, period,
breakdown, value, missing, status, source, comment), so an exported file can be edited and
imported back; the name columns beside the codes are for people and the importer ignores
them. Derived indicator values are exported by `benchmarks.exports` with the filters here;
the file writers (CSV, xlsx) are `lib.tabular`'s.

Who may see what is the caller's business (access checks live with the views and the API);
these functions export exactly what the filters select.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from municipium.catalog.models import ServiceArea, Variable
from municipium.lib import frames
from municipium.lib.tabular import csv_pieces, to_xlsx
from municipium.lib.texts import pick
from municipium.places.models import Group, Unit, member_in_own_period

from .models import Observation, Period

OBSERVATION_COLUMNS = [
    "unit",
    "unit_name",
    "variable",
    "variable_name",
    "unit_of_measure",
    "period",
    "breakdown",
    "value",
    "missing",
    "status",
    "source",
    "comment",
]


def codes(items, model) -> list | None:
    """Accept objects, codes or ids; None means 'no filter'."""
    if items is None:
        return None
    if isinstance(items, (str, model)):
        items = [items]
    return [item.code if isinstance(item, model) else str(item) for item in items]


def unit_filter(queryset, units, group, prefix="unit"):
    if units is not None:
        queryset = queryset.filter(**{f"{prefix}__code__in": codes(units, Unit)})
    if group is not None:
        group = group if isinstance(group, Group) else Group.objects.get(code=group)
        # Members in each row's own period, as the group's statistics count them.
        queryset = queryset.filter(member_in_own_period([group.pk], unit_field=prefix))
    return queryset


def period_filter(queryset, periods):
    if periods is None:
        return queryset
    codes = [
        p.code if isinstance(p, Period) else str(p)
        for p in ([periods] if isinstance(periods, (str, Period)) else periods)
    ]
    return queryset.filter(period__code__in=codes)


# Units read at a time: 50 units × 100 variables × 20 years are 100,000 rows.
CHUNK_UNITS = 50

OBSERVATION_SCHEMA = {
    "unit_id": pl.Int64,
    "variable_id": pl.Int64,
    "period": pl.String,
    "breakdown": pl.String,
    "value": pl.Float64,
    "missing": pl.String,
    "status": pl.String,
    "source": pl.String,
    "comment": pl.String,
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(OBSERVATION_COLUMNS, pl.String))


def observations_frame(**selection) -> pl.DataFrame:
    """`observations_frames` as one frame (a workbook, the tests)."""
    chunks = list(observations_frames(**selection))
    return pl.concat(chunks) if chunks else _empty()


def observations_frames(
    *,
    units=None,
    group=None,
    variables=None,
    service_area=None,
    periods=None,
    status: str | Iterable[str] | None = None,
    language: str | None = None,
) -> Iterator[pl.DataFrame]:
    """The selected observations, one row each, ordered by unit, variable, period, category:
    a frame for each `CHUNK_UNITS` units in the order of their codes, so that memory holds a
    chunk whatever the selection (a country's five million observations read whole took
    2.2 GB through `municipium export`, issue 18)."""
    queryset = period_filter(unit_filter(Observation.objects.all(), None, group), periods)
    if variables is not None:
        queryset = queryset.filter(variable__code__in=codes(variables, Variable))
    if service_area is not None:
        queryset = queryset.filter(variable__service_area__code__in=codes(service_area, ServiceArea))
    if status is not None:
        queryset = queryset.filter(status__in=[status] if isinstance(status, str) else list(status))
    chosen = Unit.objects.order_by("code")
    if units is not None:
        chosen = chosen.filter(code__in=codes(units, Unit))
    ordered = queryset.order_by("unit__code", "variable__code", "period__kind", "period__ordinal", "breakdown")
    chunks = read_by(ordered, "unit_id", list(chosen.values_list("pk", flat=True)), CHUNK_UNITS, OBSERVATION_SCHEMA)
    variables_frame: pl.DataFrame | None = None
    for chunk, frame in chunks:
        if variables_frame is None:  # read once: the variables' names are the catalogue's size
            variables_frame = names(Variable.objects.all(), "variable", language, with_measure=True)
        units_frame = names(Unit.objects.filter(pk__in=chunk), "unit", language)
        yield (
            frame.join(units_frame, on="unit_id", how="left", maintain_order="left")
            .join(variables_frame, on="variable_id", how="left", maintain_order="left")
            .select(OBSERVATION_COLUMNS)
        )


def read_by(rows: QuerySet, key: str, ids: list, size: int, schema: dict) -> Iterator[tuple[list, pl.DataFrame]]:
    """The rows of `rows` (ordered, with a `schema` field "period" read as the period's
    code) for `size` of `ids` at a time, as (those ids, their frame) for each that has any:
    an export's chunks, read in `ids`' order so that they follow one another as one read
    of the whole ordered selection would give them (`lib/frames.read_query`)."""
    fields = [field if field != "period" else "period__code" for field in schema]
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        frame = frames.read_query(rows.filter(**{f"{key}__in": chunk}).values_list(*fields), schema=schema)
        if not frame.is_empty():
            yield chunk, frame


def names(queryset, prefix: str, language: str | None, with_measure: bool = False) -> pl.DataFrame:
    records = [
        {
            f"{prefix}_id": obj.pk,
            prefix: obj.code,
            f"{prefix}_name": pick(obj.name, language).text,
            **({"unit_of_measure": pick(obj.unit_of_measure, language).text} if with_measure else {}),
        }
        for obj in queryset
    ]
    schema = {f"{prefix}_id": pl.Int64, prefix: pl.String, f"{prefix}_name": pl.String}
    if with_measure:
        schema["unit_of_measure"] = pl.String
    return pl.DataFrame(records, schema=schema)


def export_observations(
    format: str = "csv",
    *,
    delimiter: str = ",",
    decimal: str = ".",
    bom: bool = False,
    language: str | None = None,
    **filters,
) -> bytes:
    """Observations as CSV or xlsx bytes; `filters` as for `observations_frames`. A large
    selection as CSV is better written piece by piece (`observations_csv`)."""
    if format == "xlsx":
        return to_xlsx({_("Observations"): observations_frame(language=language, **filters)})
    return b"".join(observations_csv(delimiter=delimiter, decimal=decimal, bom=bom, language=language, **filters))


def observations_csv(
    *, delimiter: str = ",", decimal: str = ".", bom: bool = False, language: str | None = None, **filters
) -> Iterator[bytes]:
    """The CSV of `export_observations` in pieces, a chunk of units each, for a caller that
    writes them as they come (`municipium export`): memory holds one chunk."""
    chunks = observations_frames(language=language, **filters)
    return csv_pieces(chunks, delimiter=delimiter, decimal=decimal, bom=bom, empty=_empty())
