"""Build the Kolada example (observations.csv, units.yaml, boundaries.geojson) from a
folder holding `kolada-sample/` (Kolada's DDF dump) and `boundaries/se-kommuner.geojson`.

This is a developer tool, run by hand when the example is to be rebuilt; the project never
runs it and reads nothing outside itself at run time. The files it writes are committed.

    python examples/kolada/convert.py DATA_FOLDER [--since 2018]

Only the years from --since on are kept, so that observations.csv stays under ~1.5 MB;
`--since 1994` writes the whole series (about 96 000 rows, 5 MB).
"""

import argparse
import csv
import json
import math
import os
import pathlib
import sys

import django
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
django.setup()
from municipium.places.files import signed_area, simplify  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = "Kolada (RKA)"
LANGS = ("en", "pl", "sr", "bg", "lt", "fa")

# Standard exonyms and transcriptions. Swedish place names are proper names: where no
# established form exists, the Swedish spelling is used in every language.
SWEDEN = {"en": "Sweden", "pl": "Szwecja", "sr": "Шведска", "bg": "Швеция", "lt": "Švedija", "fa": "سوئد"}
REGION_NAMES = {  # code: (sr, bg, fa) of the place; "Region ..." is added per language
    "01": ("Стокхолм", "Стокхолм", "استکهلم"),
    "03": ("Упсала", "Упсала", "اوپسالا"),
    "04": ("Сермланд", "Сьормланд", "سورملاند"),
    "05": ("Естерјетланд", "Йостерйотланд", "استرگوتلند"),
    "06": ("Јенћепинг", "Йоншьопинг", "یونشوپینگ"),
    "07": ("Кронуберј", "Кронуберг", "کرونوبری"),
    "08": ("Калмар", "Калмар", "کالمار"),
    "09": ("Готланд", "Готланд", "گوتلند"),
    "10": ("Блекинге", "Блекинге", "بلکینگه"),
    "12": ("Сконе", "Сконе", "اسکونه"),
    "13": ("Халанд", "Халанд", "هالاند"),
    "14": ("Вестра Јеталанд", "Вестра Йоталанд", "وسترا گوتالاند"),
    "17": ("Вермланд", "Вермланд", "ورملاند"),
    "18": ("Еребру", "Йоребру", "اوربرو"),
    "19": ("Вестманланд", "Вестманланд", "وستمانلاند"),
    "20": ("Даларна", "Даларна", "دالارنا"),
    "21": ("Јевлеборј", "Йевлеборг", "یولبوری"),
    "22": ("Вестернорланд", "Вестернорланд", "وسترنورلاند"),
    "23": ("Јемтланд Херједален", "Ямтланд Херйедален", "یمتلاند هریه‌دالن"),
    "24": ("Вестерботен", "Вестерботен", "وستربوتن"),
    "25": ("Норботен", "Норботен", "نوربوتن"),
}
# Municipalities with an established form in some language: {code: {lang: name}}.
MUNICIPALITY_NAMES = {
    "0180": {"pl": "Sztokholm", "lt": "Stokholmas", "sr": "Стокхолм", "bg": "Стокхолм", "fa": "استکهلم"},
    "1480": {"en": "Gothenburg", "lt": "Geteborgas", "sr": "Гетеборг", "bg": "Гьотеборг", "fa": "گوتنبرگ"},
    "1280": {"lt": "Malmė", "sr": "Малме", "bg": "Малмьо", "fa": "مالمو"},
    "0380": {"lt": "Upsala", "sr": "Упсала", "bg": "Упсала", "fa": "اوپسالا"},
    "1980": {"sr": "Вестерос", "bg": "Вестерос", "fa": "وستروس"},
    "1880": {"sr": "Еребру", "bg": "Йоребру", "fa": "اوربرو"},
    "0580": {"sr": "Линћепинг", "bg": "Линшьопинг", "fa": "لینشوپینگ"},
    "1283": {"sr": "Хелсингборј", "bg": "Хелсингборг", "fa": "هلسینگبوری"},
    "0680": {"sr": "Јенћепинг", "bg": "Йоншьопинг", "fa": "یونشوپینگ"},
    "0581": {"sr": "Норћепинг", "bg": "Норшьопинг", "fa": "نورشوپینگ"},
    "1281": {"sr": "Лунд", "bg": "Лунд", "fa": "لوند"},
    "2480": {"sr": "Умео", "bg": "Умео", "fa": "اومئو"},
    "2180": {"sr": "Јевле", "bg": "Йевле", "fa": "یوله"},
    "1490": {"sr": "Бурос", "bg": "Бурос", "fa": "بوروس"},
    "0484": {"sr": "Ескилстуна", "bg": "Ескилстуна", "fa": "اسکیلستونا"},
    "1780": {"sr": "Карлстад", "bg": "Карлстад", "fa": "کارلستاد"},
    "0780": {"sr": "Векше", "bg": "Вексьо", "fa": "وکخو"},
    "1380": {"sr": "Халмстад", "bg": "Халмстад", "fa": "هالمستاد"},
    "2281": {"sr": "Сундсвал", "bg": "Сундсвал", "fa": "سوندسوال"},
    "2580": {"sr": "Лулео", "bg": "Лулео", "fa": "لولیو"},
    "2584": {"sr": "Кируна", "bg": "Кируна", "fa": "کیرونا"},
    "0980": {"sr": "Готланд", "bg": "Готланд", "fa": "گوتلند"},
    "0880": {"sr": "Калмар", "bg": "Калмар", "fa": "کالمار"},
    "2080": {"sr": "Фалун", "bg": "Фалун", "fa": "فالون"},
    "2380": {"sr": "Естерсунд", "bg": "Йостерсунд", "fa": "اوسترسوند"},
    "0181": {"sr": "Седертеље", "bg": "Сьодертелие", "fa": "سودرتلیه"},
    "1488": {"sr": "Тролхетан", "bg": "Тролхетан", "fa": "ترول‌هتان"},
    "1290": {"sr": "Кристијанстад", "bg": "Кристианстад", "fa": "کریستیانستاد"},
    "1080": {"sr": "Карлскруна", "bg": "Карлскруна", "fa": "کارلسکرونا"},
    "2482": {"sr": "Шелефтео", "bg": "Шелефтео", "fa": "شلفتئو"},
    "0182": {"sr": "Нака", "bg": "Нака", "fa": "ناکا"},
    "0184": {"sr": "Солна", "bg": "Солна", "fa": "سولنا"},
}
METROPOLITAN = ("0180", "1480", "1280")


def unit_code(geo: str) -> str:
    """Kolada's geo code to ours: 0 (the country) → SE, 01 → SE-01, 0114 → SE-0114."""
    return "SE" if geo in ("0", "0000") else f"SE-{geo}"


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def region_name(code: str, swedish: str) -> dict:
    sr, bg, fa = REGION_NAMES[code]
    name = {lang: swedish for lang in LANGS}
    name["sr"] = f"Регион {sr}"
    name["bg"] = f"Регион {bg}"
    name["fa"] = f"منطقه {fa}"
    return name


def build_units(kolada: pathlib.Path):
    units = [{"code": "SE", "kind": "country", "name": SWEDEN}]
    groups = []
    regions = read_csv(kolada / "ddf--entities--geo--region.csv")
    municipalities = read_csv(kolada / "ddf--entities--geo--kommun.csv")
    for row in regions:
        units.append(
            {
                "code": unit_code(row["region"]),
                "kind": "region",
                "parent": "SE",
                "name": region_name(row["region"], row["name"]),
            }
        )
    for row in municipalities:
        name = {lang: row["name"] for lang in LANGS}
        name.update(MUNICIPALITY_NAMES.get(row["kommun"], {}))
        units.append(
            {"code": unit_code(row["kommun"]), "kind": "municipality", "parent": unit_code(row["region"]), "name": name}
        )
    for row in regions:
        region = next(u for u in units if u["code"] == unit_code(row["region"]))
        members = [unit_code(m["kommun"]) for m in municipalities if m["region"] == row["region"]]
        groups.append({"code": f"se-{row['region']}", "kind": "region", "name": region["name"], "members": members})
    groups.append(
        {
            "code": "se-metro",
            "kind": "peer",
            "name": {
                "en": "Swedish metropolitan municipalities",
                "pl": "Szwedzkie gminy metropolitalne",
                "sr": "Шведске метрополитенске општине",
                "bg": "Шведски метрополни общини",
                "lt": "Švedijos didmiesčių savivaldybės",
                "fa": "شهرداری‌های کلان‌شهری سوئد",
            },
            "members": [unit_code(c) for c in METROPOLITAN],
        }
    )
    return units, groups


def number(value: str) -> str:
    """Shortest text that reads back as the same float ('12345.0' → '12345')."""
    x = float(value)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def build_observations(kolada: pathlib.Path, since: int):
    rows = []
    for path in sorted(kolada.glob("ddf--datapoints--*--by--geo--year.csv")):
        kpi = path.name.split("--")[2]
        for row in read_csv(path):
            if int(row["year"]) < since or row[kpi] == "":
                continue
            rows.append((unit_code(row["geo"]), kpi, row["year"], number(row[kpi])))
    rows.sort()
    return rows


# --- boundaries: the product's own simplifier and winding (one piece of code for both) ----


def _area(ring):
    return signed_area(ring) / 2


def _ring(ring, tolerance, exterior):
    closed = ring if ring[0] == ring[-1] else [*ring, ring[0]]
    out = []
    for x, y in simplify([tuple(p[:2]) for p in closed], tolerance):
        p = [round(x, 4), round(y, 4)]
        if not out or p != out[-1]:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    if len(out) < 4:
        return None
    # Clockwise exteriors (negative area), counter-clockwise holes: Vega/d3's winding.
    return out if (_area(out) < 0) == exterior else out[::-1]


def _polygon(rings, tolerance):
    exterior = _ring(rings[0], tolerance, True)
    if exterior is None:
        return None
    holes = [h for h in (_ring(r, tolerance, False) for r in rings[1:]) if h and abs(_area(h)) > 1e-5]
    return [exterior, *holes]


def simplify_geometry(geometry, tolerance):
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    kept = [p for p in (_polygon(rings, tolerance) for rings in polygons) if p]
    kept.sort(key=lambda p: -abs(_area(p[0])))
    kept = kept[:1] + [p for p in kept[1:] if abs(_area(p[0])) > 1e-4]  # drop islets under ~1 km²
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def build_boundaries(path: pathlib.Path, tolerance: float):
    source = json.loads(path.read_text(encoding="utf-8"))
    features = [
        {
            "type": "Feature",
            "properties": {"code": unit_code(f["properties"]["id"]), "name": f["properties"]["kom_namn"]},
            "geometry": simplify_geometry(f["geometry"], tolerance),
        }
        for f in source["features"]
    ]
    features.sort(key=lambda f: f["properties"]["code"])
    return {
        "type": "FeatureCollection",
        "attribution": (
            "Municipal boundaries of Sweden from github.com/okfse/sweden-geojson @ ff67bcb0 "
            "(Valmyndigheten, published as free to reuse). Simplified (Douglas–Peucker), "
            "coordinates rounded to 4 decimals, exterior rings wound clockwise."
        ),
        "features": features,
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # a region's name is repeated in its group: write it out, no &id001
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=pathlib.Path, help="folder with kolada-sample/ and boundaries/")
    parser.add_argument("--since", type=int, default=2018)
    parser.add_argument("--tolerance", type=float, default=0.001, help="degrees, for the boundaries")
    args = parser.parse_args()
    kolada = args.data / "kolada-sample"

    units, groups = build_units(kolada)
    with open(HERE / "units.yaml", "w", encoding="utf-8") as fh:
        fh.write(
            "# Sweden, its 21 regions and 290 municipalities, from Kolada (Källa: Kolada, RKA).\n"
            "# Generated by examples/kolada/convert.py; do not edit by hand.\n"
        )
        yaml.dump(
            {"units": units, "groups": groups},
            fh,
            Dumper=_Dumper,
            allow_unicode=True,
            sort_keys=False,
            default_flow_style=None,
            width=1000,
        )

    rows = build_observations(kolada, args.since)
    with open(HERE / "observations.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["unit", "variable", "period", "value", "missing", "breakdown", "source", "comment", "status"])
        for unit, variable, period, value in rows:
            writer.writerow([unit, variable, period, value, "", "", SOURCE, "", "published"])

    boundaries = build_boundaries(args.data / "boundaries" / "se-kommuner.geojson", args.tolerance)
    with open(HERE / "boundaries.geojson", "w", encoding="utf-8") as fh:
        json.dump(boundaries, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")
    print(
        f"{len(units)} units, {len(groups)} groups, {len(rows)} observations, {len(boundaries['features'])} boundaries"
    )


if __name__ == "__main__":
    main()
