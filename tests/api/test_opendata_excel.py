"""The open-data workbook and the indicator page's workbook write every value as a number
cell holding exactly the stored double, also one that needs 17 significant digits (issue 11:
the open data wrote such values as text, which Excel leaves out of sums and charts, and the
indicator page rounded them to 15 digits, so the two files disagreed)."""

import io
import math
import re
import zipfile

from python_calamine import CalamineWorkbook

from tests import derived

from .conftest import Api

# Needs 17 significant digits: '%.16G' gives 0.3000000000000000, another double.
SEVENTEEN = 0.1 + 0.2


def _cells(content: bytes, sheet: int = 0) -> list[str]:
    """The <c> elements of a sheet (by index), as XML text."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        xml = book.read(f"xl/worksheets/sheet{sheet + 1}.xml").decode()
    return re.findall(r"<c [^>]*?(?:/>|>.*?</c>)", xml)


def _value_column(content: bytes, sheet: int = 0) -> dict[str, object]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    rows = book.get_sheet_by_index(sheet).to_python()
    header = rows[0]
    return {
        (row[header.index("unit")], str(row[header.index("period")]).removesuffix(".0")): row[header.index("value")]
        for row in rows[1:]
    }


def test_a_value_needing_17_digits_is_the_same_number_cell_in_open_data_and_on_the_indicator_page(world, client):
    assert f"{SEVENTEEN:.16G}" != repr(SEVENTEEN) and float(f"{SEVENTEEN:.15G}") != SEVENTEEN
    derived.update(
        {"indicator": world.nrw, "unit": world.a, "period": "2023", "breakdown": derived.ANY}, value=SEVENTEEN
    )
    opendata = Api().get("/data/indicators.xlsx", {"indicator": "nrw", "period_from": "2023", "period_to": "2023"})
    page = client.get("/en/indicators/nrw/data/?group=east&period=2023&format=xlsx&precision=full")
    assert opendata.status_code == page.status_code == 200
    # The page's workbook has its data on its second sheet, after the title sheet.
    for content, sheet in ((opendata.content, 0), (page.content, 1)):
        assert _value_column(content, sheet)[("A", "2023")] == SEVENTEEN
        cells = [c for c in _cells(content, sheet) if repr(SEVENTEEN) in c]
        # A number cell: no t="s" (shared string), t="str" or t="inlineStr".
        assert cells and all(' t="' not in c for c in cells), cells
    assert _value_column(opendata.content)[("B", "2023")] == _value_column(page.content, 1)[("B", "2023")]


def test_every_double_reads_back_from_a_workbook_unchanged():
    import polars as pl

    from municipium.lib.tabular import to_xlsx

    values = [SEVENTEEN, 1 / 3, math.pi * 1e20, -2.5e-300, 1e20, 21000.0, math.nextafter(1.0, 2.0)]
    content = to_xlsx({"s": pl.DataFrame({"value": values})})
    got = [row[0] for row in CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()[1:]]
    assert got == values
    assert all(' t="' not in c for c in _cells(content)[1:])
