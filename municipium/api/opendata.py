"""Open-data formats for indicator values: CSV, Excel, JSON-stat 2.0 and SDMX-CSV 2.0.

Pure functions over rows, so that the API, pages and exports write the same files. The
streamed formats (CSV, SDMX-CSV, JSON-stat) take the rows as Polars frames of the columns
`FRAME_SCHEMA` (a chunk at a time, each written with a few column operations: a country's
fifty million values are too many for a Python call each, issue 18); Excel takes them as
mappings with the same keys:

    unit, unit_name, indicator, indicator_name, unit_of_measure, decimals,
    period, breakdown, value, missing, status

where `breakdown` is "" for the total, `missing` says why `value` is None (the observations'
codes: not_collected, not_shared, confidential, not_applicable; "" for a value), `status` is
"published" or "unpublished", and the names are already in the reader's language. Who may
see which rows is the caller's business (see municipium.api.api).

Codes follow what statistical software expects: the total of a breakdown is `_T`;
observation statuses use the SDMX code list CL_OBS_STATUS and confidentiality CL_CONF_STATUS,
in JSON-stat as in SDMX-CSV, so that the files say the same thing (`obs_status`,
`obs_conf`). A missing value carries its reason in every format (DESIGN principle 2):

    value, published            A  normal value              F  free
    value, not yet published    P  provisional value         N  not for publication
    not collected               O  missing value             F/N as the row's status
    not shared                  L  missing, data exist but were not collected
    confidential                Q  missing value, suppressed C  confidential
    not applicable              M  missing, data cannot exist
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import polars as pl
from django.utils.translation import gettext as _

TOTAL = "_T"
# Rows read, written and held at a time by the streamed downloads (a frame's rows).
CHUNK_ROWS = 20_000
OBS_STATUS = {"published": "A", "unpublished": "P"}
MISSING_STATUS = {"not_collected": "O", "not_shared": "L", "confidential": "Q", "not_applicable": "M"}
OBS_CONF = {"published": "F", "unpublished": "N"}
CONFIDENTIAL = "C"
SDMX_AGENCY = "MUNICIPIUM"
SDMX_DATAFLOW = "INDICATOR_VALUES"
SDMX_VERSION = "1.0"
SDMX_STRUCTURE_ID = f"{SDMX_AGENCY}:{SDMX_DATAFLOW}({SDMX_VERSION})"
SDMX_COLUMNS = [
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "UNIT",
    "INDICATOR",
    "TIME_PERIOD",
    "BREAKDOWN",
    "OBS_VALUE",
    "OBS_STATUS",
    "OBS_CONF",
    "UNIT_MEASURE",
]
TABLE_COLUMNS = [
    "indicator",
    "indicator_name",
    "unit_of_measure",
    "unit",
    "unit_name",
    "period",
    "breakdown",
    "value",
    "missing",
    "status",
]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonstat": "application/json",
    "sdmx.csv": "application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8",
}


def obs_status(row: Mapping) -> str:
    """The row's CL_OBS_STATUS code: why a value is missing, or whether it is published."""
    if row.get("value") is None:
        return MISSING_STATUS.get(row.get("missing") or "", "O")
    return OBS_STATUS.get(row.get("status") or "published", "A")


def obs_conf(row: Mapping) -> str:
    """The row's CL_CONF_STATUS code: confidential, free, or not for publication (yet)."""
    if row.get("value") is None and row.get("missing") == "confidential":
        return CONFIDENTIAL
    return OBS_CONF.get(row.get("status") or "published", "F")


def status_labels() -> dict[str, str]:
    """What each CL_OBS_STATUS code we write means, in the active language."""
    return {
        "A": _("normal value (published)"),
        "P": _("provisional value (not yet published)"),
        "O": _("missing value: not collected"),
        "L": _("missing value: not shared"),
        "Q": _("missing value: confidential"),
        "M": _("missing value: not applicable"),
    }


# The columns of the frames the streamed writers take, in this order.
FRAME_SCHEMA: dict[str, pl.DataType] = {c: pl.String() for c in TABLE_COLUMNS} | {
    "value": pl.Float64(),
    "decimals": pl.Int64(),
}


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=FRAME_SCHEMA)


def mapped(frame: pl.DataFrame, columns: list[str], function, dtype=pl.String) -> pl.Series:
    """`function(*values)` of each row's `columns`, called once for each distinct
    combination (a handful: statuses and reasons, period codes) and joined back in the
    rows' order, so that a rule stays the one Python function it is for a single row."""
    keys = frame.select(columns).unique()
    results = pl.Series("_mapped", [function(*key) for key in keys.iter_rows()], dtype=dtype)
    keys = keys.with_columns(results)
    return frame.select(columns).join(keys, on=columns, how="left", maintain_order="left")["_mapped"]


def _by_status(frame: pl.DataFrame, rule, dtype=pl.String) -> pl.Series:
    """`rule` (obs_status, obs_conf) of each row, from what it reads of one: whether the row
    has a value, why not, and its status (`mapped`)."""
    keys = frame.select(
        pl.col("value").is_not_null().alias("has_value"),
        pl.col("missing").fill_null(""),
        pl.col("status").fill_null(""),
    )

    def of(has_value: bool, missing: str, status: str):
        return rule({"value": 0.0 if has_value else None, "missing": missing, "status": status})

    return mapped(keys, keys.columns, of, dtype)


# Between these magnitudes Python's repr and Polars write a double's shortest round-trip
# digits the same way, without an exponent (checked over a million random doubles in
# tests/api/test_opendata_streaming.py); outside them the exponent is written differently
# (1e-05 / 1e-5), so repr writes those itself.
_PLAIN = (1e-4, 1e16)


def float_texts(values: pl.Series) -> pl.Series:
    """repr() of each double (null stays null), as a column operation but for the rare
    magnitudes where Polars would write another text (`_PLAIN`)."""
    texts = values.cast(pl.String)
    size = values.abs()
    odd = ((values != 0) & ((size < _PLAIN[0]) | (size >= _PLAIN[1]) | ~values.is_finite())).arg_true()
    if len(odd):  # only those go through Python, not the chunk they are in
        texts = texts.scatter(odd, [repr(v) for v in values.gather(odd).to_list()])
    return texts


def number_texts(values: pl.Series) -> pl.Series:
    """`_number` of each double (null stays null), as a column operation."""
    integral = values.is_finite() & (values == values.floor()) & (values.abs() < 1e15)
    frame = pl.DataFrame({"v": values, "i": integral, "f": float_texts(values)})
    # Only whole numbers below 1e15 go through the integer cast, which others would overflow.
    whole = pl.when(pl.col("i")).then(pl.col("v")).otherwise(0.0).cast(pl.Int64).cast(pl.String)
    return frame.select(pl.when(pl.col("i")).then(whole).otherwise(pl.col("f"))).to_series()


def csv_chunks(frames: Iterable[pl.DataFrame]) -> Iterator[bytes]:
    """Plain CSV (UTF-8 with a BOM so that Excel opens it right), one row per value, as
    pieces of bytes written frame by frame: memory holds one frame, whatever the rows."""
    from municipium.lib.tabular import csv_pieces

    return csv_pieces(
        (frame.select(TABLE_COLUMNS) for frame in frames), bom=True, empty=empty_frame().select(TABLE_COLUMNS)
    )


def write_xlsx(rows: Iterable[Mapping], target, sheet: str = "Indicators") -> int:
    """An Excel workbook with one sheet of values, written into `target` (a file) row by
    row in XlsxWriter's constant-memory mode; returns the number of rows."""
    from municipium.lib.tabular import write_sheet

    numeric = {"value"}
    return write_sheet(
        target, sheet, TABLE_COLUMNS, ([row.get(c) for c in TABLE_COLUMNS] for row in rows), numeric=numeric
    )


def sdmx_period(code: str) -> str:
    """Our period code as SDMX writes TIME_PERIOD: 2024, 2024-Q1, 2024-01."""
    if len(code) == 6 and code[4] in "Qq":
        return f"{code[:4]}-Q{code[5]}"
    return code


def _number(value: float) -> str:
    # repr gives the shortest text that reads back to the same double: no digits lost.
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def sdmx_csv_chunks(frames: Iterable[pl.DataFrame], *, action: str = "I") -> Iterator[bytes]:
    """SDMX-CSV 2.0 data message: the fixed STRUCTURE, STRUCTURE_ID and ACTION columns, then
    the dimensions (UNIT, INDICATOR, TIME_PERIOD, BREAKDOWN), the measure OBS_VALUE and the
    attributes OBS_STATUS, OBS_CONF and UNIT_MEASURE; a missing value is OBS_VALUE NaN
    whose OBS_STATUS (and OBS_CONF) say why. ACTION "I" marks the file as information (a
    download), not an instruction to replace or delete data in the receiver's database.
    Written frame by frame, as pieces of bytes, quoted as RFC 4180 and Python's csv module
    quote (only a field holding a comma, a quote or a line break)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(SDMX_COLUMNS)
    yield buffer.getvalue().encode("utf-8")
    for frame in frames:
        if frame.is_empty():
            continue
        value = frame.get_column("value")
        out = pl.DataFrame(
            {
                "STRUCTURE": pl.repeat("dataflow", frame.height, eager=True),
                "STRUCTURE_ID": pl.repeat(SDMX_STRUCTURE_ID, frame.height, eager=True),
                "ACTION": pl.repeat(action, frame.height, eager=True),
                "UNIT": frame.get_column("unit"),
                "INDICATOR": frame.get_column("indicator"),
                "TIME_PERIOD": mapped(frame, ["period"], sdmx_period),
                "BREAKDOWN": frame.get_column("breakdown").fill_null("").replace("", TOTAL),
                # NaN is SDMX's intentionally missing value (an empty field would mean
                # "not reported" and fails readers' numeric conversion).
                "OBS_VALUE": number_texts(value).fill_null("NaN"),
                "OBS_STATUS": _by_status(frame, obs_status),
                "OBS_CONF": _by_status(frame, obs_conf),
                "UNIT_MEASURE": frame.get_column("unit_of_measure").fill_null(""),
            }
        )
        # An empty text is an empty field, as the csv module writes it (Polars would quote it).
        out = out.with_columns(pl.col(pl.String).replace("", None))
        text = out.write_csv(include_header=False, line_terminator="\r\n", quote_style="necessary", null_value="")
        yield text.encode("utf-8")


# The status codes a JSON-stat cell may carry, by their number in the spool (0: no value).
_STATUS_CODES = ["", *OBS_STATUS.values(), *MISSING_STATUS.values()]
_STATUS_NUMBER = {code: number for number, code in enumerate(_STATUS_CODES)}
_SPOOL = np.dtype(
    [("unit", "<i4"), ("indicator", "<i4"), ("period", "<i4"), ("breakdown", "<i4"), ("value", "<f8"), ("status", "u1")]
)


def jsonstat_chunks(
    frames: Iterable[pl.DataFrame],
    *,
    label: str = "",
    source: str = "",
    updated: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """A JSON-stat 2.0 dataset with the dimensions unit, indicator, period and breakdown, as
    UTF-8 JSON in pieces.

    `labels` overrides the names of the dimensions (by default in the active language). Values are a dense array in
    row-major order of `id` (JSON-stat's default), absent combinations are null; `status`
    gives each present value's SDMX status code, which for a missing value (null too) says
    why it is missing (`extension.status` labels the codes); `extension.unit_of_measure` and the
    metric dimension's `category.unit` give each indicator's unit of measure.

    The dense array needs every dimension's categories before its first value, and the rows
    come in any order: they are read once into a spool file on disk (the categories kept in
    memory, a few thousand at most), then placed in a disk-backed array of the cube's cells,
    which is written out slice by slice. Memory holds one frame and the categories.
    """
    labels = {
        "unit": _("Unit"),
        "indicator": _("Indicator"),
        "period": _("Period"),
        "breakdown": _("Breakdown"),
        **(labels or {}),
    }
    total = _("Total")
    status_labels_ = status_labels()
    ids = ["unit", "indicator", "period", "breakdown"]
    categories: dict[str, dict[str, str]] = {dim: {} for dim in ids}
    numbers: dict[str, dict[str, int]] = {dim: {} for dim in ids}
    measures: dict[str, dict] = {}

    def numbered(dim: str, codes: pl.Series, names: pl.Series) -> np.ndarray:
        """Each row's number in `dim` (the categories numbered as first met)."""
        pairs = pl.DataFrame({"code": codes, "name": names}).unique(subset="code", keep="first", maintain_order=True)
        for code, name in pairs.iter_rows():
            if code not in numbers[dim]:
                numbers[dim][code] = len(numbers[dim])
                categories[dim][code] = name
        return codes.replace_strict(numbers[dim], return_dtype=pl.Int32).to_numpy()

    def named(names: str, codes: str) -> pl.Expr:
        return pl.when(pl.col(names).fill_null("") == "").then(pl.col(codes)).otherwise(pl.col(names))

    with tempfile.TemporaryFile(prefix="municipium-jsonstat-") as spool:
        count = 0
        for frame in frames:
            if frame.is_empty():
                continue
            for indicator, measure, decimals in (
                frame.select("indicator", "unit_of_measure", "decimals").unique(maintain_order=True).iter_rows()
            ):
                if indicator not in measures:
                    measures[indicator] = {"label": measure or "", "decimals": int(decimals or 0)}
            frame = frame.with_columns(pl.col("breakdown").fill_null("").replace("", TOTAL))
            names = frame.select(
                named("unit_name", "unit").alias("unit"),
                named("indicator_name", "indicator").alias("indicator"),
                pl.when(pl.col("breakdown") == TOTAL)
                .then(pl.lit(total))
                .otherwise(pl.col("breakdown"))
                .alias("breakdown"),
            )
            records = np.zeros(frame.height, dtype=_SPOOL)
            records["unit"] = numbered("unit", frame.get_column("unit"), names.get_column("unit"))
            records["indicator"] = numbered("indicator", frame.get_column("indicator"), names.get_column("indicator"))
            records["period"] = numbered("period", frame.get_column("period"), frame.get_column("period"))
            records["breakdown"] = numbered("breakdown", frame.get_column("breakdown"), names.get_column("breakdown"))
            records["value"] = frame.get_column("value").fill_null(np.nan).to_numpy()
            records["status"] = _by_status(frame, lambda row: _STATUS_NUMBER[obs_status(row)], pl.UInt8).to_numpy()
            spool.write(records.tobytes())
            count += frame.height

        order = {dim: sorted(categories[dim]) for dim in ids}
        # Periods sort as text correctly within a kind (2023 < 2024, 2024Q1 < 2024Q2).
        index = {dim: {code: i for i, code in enumerate(codes)} for dim, codes in order.items()}
        size = [len(order[dim]) for dim in ids]
        dimension = {
            dim: {
                "label": labels[dim],
                "category": {"index": index[dim], "label": {code: categories[dim][code] for code in order[dim]}},
            }
            for dim in ids
        }
        dimension["indicator"]["category"]["unit"] = {code: measures[code] for code in order["indicator"]}
        head = {
            "version": "2.0",
            "class": "dataset",
            "label": label,
            "source": source,
            "id": ids,
            "size": size,
            "role": {"geo": ["unit"], "metric": ["indicator"], "time": ["period"]},
            "dimension": dimension,
        }
        tail = {
            "extension": {
                "unit_of_measure": {code: measures[code]["label"] for code in order["indicator"]},
                "status": status_labels_,
            }
        }
        if updated:
            tail["updated"] = updated
        yield _dumps(head)[:-1].encode("utf-8")

        cells = int(np.prod(size, dtype=np.int64)) if count else 0
        with tempfile.TemporaryFile(prefix="municipium-jsonstat-") as cube_file:
            if cells:
                cube_file.truncate(cells * 9)
                values = np.memmap(cube_file, dtype="<f8", mode="r+", shape=(cells,))
                status = np.memmap(cube_file, dtype="u1", mode="r+", offset=cells * 8, shape=(cells,))
                values[:] = np.nan
                # Each category's number as first met -> its place in the sorted order.
                places = {dim: np.array([index[dim][code] for code in numbers[dim]], dtype=np.int64) for dim in ids}
                spool.seek(0)
                while chunk := spool.read(_SPOOL.itemsize * CHUNK_ROWS):
                    records = np.frombuffer(chunk, dtype=_SPOOL)
                    position = np.zeros(len(records), dtype=np.int64)
                    for dim, n in zip(ids, size, strict=True):
                        position = position * n + places[dim][records[dim]]
                    values[position] = records["value"]
                    status[position] = records["status"]
            yield b', "value": ['
            for start in range(0, cells, CHUNK_ROWS):
                part = pl.Series(values[start : start + CHUNK_ROWS], nan_to_null=True)
                text = float_texts(part).fill_null("null").str.join(", ").item()
                yield ((", " if start else "") + text).encode("utf-8")
            yield b'], "status": {'
            first = True
            codes = np.array(_STATUS_CODES, dtype=object)
            for start in range(0, cells, CHUNK_ROWS):
                part = status[start : start + CHUNK_ROWS]
                present = np.flatnonzero(part)
                if not len(present):
                    continue
                pairs = pl.DataFrame({"p": present + start, "c": codes[part[present]].astype(str)})
                text = pairs.select(pl.format('"{}": "{}"', "p", "c").str.join(", ")).item()
                yield (("" if first else ", ") + text).encode("utf-8")
                first = False
            yield b"}, " + _dumps(tail)[1:].encode("utf-8")


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


# ----------------------------------------------------------------------------------------
# The SDMX structure the SDMX-CSV follows: SDMX-ML 2.1, served at a stable address so that
# SDMX software reads our data without a hand-made structure.

SDMX_NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common",
}
SDMX_CONCEPTS = f"CS_{SDMX_DATAFLOW}"
STRUCTURE_MEDIA_TYPE = "application/vnd.sdmx.structure+xml; version=2.1; charset=utf-8"


def _concept_names() -> dict[str, str]:
    return {
        "UNIT": _("Unit"),
        "INDICATOR": _("Indicator"),
        "TIME_PERIOD": _("Period"),
        "BREAKDOWN": _("Breakdown"),
        "OBS_VALUE": _("Value"),
        "OBS_STATUS": _("Observation status"),
        "OBS_CONF": _("Confidentiality status"),
        "UNIT_MEASURE": _("Unit of measure"),
    }


def _conf_labels() -> dict[str, str]:
    return {
        "F": _("free (published)"),
        "N": _("not for publication (seen inside the group only)"),
        "C": _("confidential"),
    }


def _fixed_codelists() -> dict[str, tuple[str, dict[str, str]]]:
    """Codelists whose names come from our catalogues: id -> (name, {code: name})."""
    return {
        "CL_OBS_STATUS": (_("Observation status (the codes of SDMX CL_OBS_STATUS 2.2 in use)"), status_labels()),
        "CL_CONF_STATUS": (_("Confidentiality status (the codes of SDMX CL_CONF_STATUS 1.3 in use)"), _conf_labels()),
    }


def sdmx_structure(
    *,
    units: Mapping[str, Mapping[str, str]],
    indicators: Mapping[str, Mapping[str, str]],
    breakdowns: Mapping[str, Mapping[str, str]],
    languages: Iterable[str],
    prepared: str,
) -> bytes:
    """An SDMX-ML 2.1 structure message for `to_sdmx_csv`'s files: the codelists of units,
    indicators, breakdown categories (with the total `_T`, labelled), observation and
    confidentiality statuses; the concept scheme; the data structure definition; and the
    dataflow named in the files' STRUCTURE_ID. `units` etc. give each code's name per
    language; every label is written in each of `languages` (SDMX names are multilingual,
    so the one structure serves every reader)."""
    import xml.etree.ElementTree as ET

    from django.utils import translation

    languages = list(languages)
    for prefix, uri in SDMX_NS.items():
        ET.register_namespace(prefix, uri)

    def tag(prefix: str, name: str) -> str:
        return f"{{{SDMX_NS[prefix]}}}{name}"

    def translated(make) -> dict[str, object]:
        out = {}
        for language in languages:
            with translation.override(language):
                out[language] = make()
        return out

    def names(element, texts: Mapping[str, str]) -> None:
        for language in languages:
            text = texts.get(language)
            if text:
                name = ET.SubElement(element, tag("com", "Name"))
                name.set("{http://www.w3.org/XML/1998/namespace}lang", language)
                name.text = text

    def maintainable(parent, kind: str, id: str, texts: Mapping[str, str]):
        element = ET.SubElement(parent, tag("str", kind), id=id, agencyID=SDMX_AGENCY, version=SDMX_VERSION)
        element.set("urn", f"urn:sdmx:org.sdmx.infomodel.{URN_PACKAGE[kind]}={SDMX_AGENCY}:{id}({SDMX_VERSION})")
        names(element, texts)
        return element

    def ref(parent, wrapper: str, **attributes) -> None:
        holder = ET.SubElement(parent, tag("str", wrapper))
        ET.SubElement(holder, "Ref", {k: str(v) for k, v in attributes.items()})

    def concept_ref(parent, concept: str) -> None:
        ref(
            parent,
            "ConceptIdentity",
            id=concept,
            maintainableParentID=SDMX_CONCEPTS,
            maintainableParentVersion=SDMX_VERSION,
            agencyID=SDMX_AGENCY,
            package="conceptscheme",
            **{"class": "Concept"},
        )

    def enumeration(parent, codelist: str) -> None:
        representation = ET.SubElement(parent, tag("str", "LocalRepresentation"))
        ref(
            representation,
            "Enumeration",
            id=codelist,
            version=SDMX_VERSION,
            agencyID=SDMX_AGENCY,
            package="codelist",
            **{"class": "Codelist"},
        )

    def text_format(parent, text_type: str) -> None:
        representation = ET.SubElement(parent, tag("str", "LocalRepresentation"))
        ET.SubElement(representation, tag("str", "TextFormat"), textType=text_type)

    concept_names = translated(_concept_names)
    fixed = translated(_fixed_codelists)
    titles = translated(
        lambda: {
            "dataflow": _("Municipium indicator values"),
            "concepts": _("Concepts of the Municipium indicator values"),
            "CL_UNIT": _("Units"),
            "CL_INDICATOR": _("Indicators"),
            "CL_BREAKDOWN": _("Breakdown categories"),
            "total": _("Total"),
        }
    )

    def title(key: str) -> dict[str, str]:
        return {language: titles[language][key] for language in languages}

    root = ET.Element(tag("mes", "Structure"))
    header = ET.SubElement(root, tag("mes", "Header"))
    ET.SubElement(header, tag("mes", "ID")).text = f"{SDMX_DATAFLOW}_STRUCTURE"
    ET.SubElement(header, tag("mes", "Test")).text = "false"
    ET.SubElement(header, tag("mes", "Prepared")).text = prepared
    ET.SubElement(header, tag("mes", "Sender"), id=SDMX_AGENCY)
    structures = ET.SubElement(root, tag("mes", "Structures"))

    # The order of the 2.1 schema: dataflows, codelists, concepts, data structures.
    dataflows = ET.SubElement(structures, tag("str", "Dataflows"))
    dataflow = maintainable(dataflows, "Dataflow", SDMX_DATAFLOW, title("dataflow"))
    ref(
        dataflow,
        "Structure",
        id=SDMX_DATAFLOW,
        version=SDMX_VERSION,
        agencyID=SDMX_AGENCY,
        package="datastructure",
        **{"class": "DataStructure"},
    )

    codelists = ET.SubElement(structures, tag("str", "Codelists"))
    totals = {language: titles[language]["total"] for language in languages}
    coded = {
        "CL_UNIT": (title("CL_UNIT"), units),
        "CL_INDICATOR": (title("CL_INDICATOR"), indicators),
        "CL_BREAKDOWN": (title("CL_BREAKDOWN"), {TOTAL: totals, **breakdowns}),
    }
    for id, (name, codes) in coded.items():
        codelist = maintainable(codelists, "Codelist", id, name)
        for code, texts in codes.items():
            names(
                ET.SubElement(codelist, tag("str", "Code"), id=code),
                {language: texts.get(language) or code for language in languages},
            )
    for id in _fixed_codelists():
        codelist = maintainable(codelists, "Codelist", id, {language: fixed[language][id][0] for language in languages})
        for code in fixed[languages[0]][id][1]:
            names(
                ET.SubElement(codelist, tag("str", "Code"), id=code),
                {language: fixed[language][id][1][code] for language in languages},
            )

    concepts = ET.SubElement(structures, tag("str", "Concepts"))
    scheme = maintainable(concepts, "ConceptScheme", SDMX_CONCEPTS, title("concepts"))
    for concept in _concept_names():
        names(
            ET.SubElement(scheme, tag("str", "Concept"), id=concept),
            {language: concept_names[language][concept] for language in languages},
        )

    data_structures = ET.SubElement(structures, tag("str", "DataStructures"))
    dsd = maintainable(data_structures, "DataStructure", SDMX_DATAFLOW, title("dataflow"))
    components = ET.SubElement(dsd, tag("str", "DataStructureComponents"))
    dimensions = ET.SubElement(components, tag("str", "DimensionList"), id="DimensionDescriptor")
    for position, (dimension, codelist) in enumerate(
        [("UNIT", "CL_UNIT"), ("INDICATOR", "CL_INDICATOR"), ("TIME_PERIOD", None), ("BREAKDOWN", "CL_BREAKDOWN")],
        start=1,
    ):
        kind = "TimeDimension" if codelist is None else "Dimension"
        element = ET.SubElement(dimensions, tag("str", kind), id=dimension, position=str(position))
        concept_ref(element, dimension)
        if codelist is None:
            text_format(element, "ObservationalTimePeriod")
        else:
            enumeration(element, codelist)
    attributes = ET.SubElement(components, tag("str", "AttributeList"), id="AttributeDescriptor")
    for attribute, codelist, status in [
        ("OBS_STATUS", "CL_OBS_STATUS", "Mandatory"),
        ("OBS_CONF", "CL_CONF_STATUS", "Mandatory"),
        ("UNIT_MEASURE", None, "Conditional"),
    ]:
        element = ET.SubElement(attributes, tag("str", "Attribute"), id=attribute, assignmentStatus=status)
        concept_ref(element, attribute)
        if codelist is None:
            text_format(element, "String")
        else:
            enumeration(element, codelist)
        relationship = ET.SubElement(element, tag("str", "AttributeRelationship"))
        ET.SubElement(relationship, tag("str", "PrimaryMeasure")).text = "OBS_VALUE"
    measures = ET.SubElement(components, tag("str", "MeasureList"), id="MeasureDescriptor")
    measure = ET.SubElement(measures, tag("str", "PrimaryMeasure"), id="OBS_VALUE")
    concept_ref(measure, "OBS_VALUE")
    text_format(measure, "Double")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


URN_PACKAGE = {
    "Dataflow": "datastructure.Dataflow",
    "DataStructure": "datastructure.DataStructure",
    "Codelist": "codelist.Codelist",
    "ConceptScheme": "conceptscheme.ConceptScheme",
}
