"""The project's gettext catalogues: extract, update, compile and check, with Babel.

Babel is already a dependency (number formatting), so using it here means a fresh machine
needs no GNU gettext tools. Run as `python -m municipium.lib.messages update|compile|check`.

- update: extract every translatable string from the Python sources (and templates) and
  merge it into each language's django.po, keeping existing translations. The project's
  catalogue is `municipium/locale/`; an app with a `locale/` folder of its own (the planning
  modules) has its own catalogue of the strings in its package, templates included.
- compile: write the .mo files Django reads.
- fill FILE.yaml: write translations given as {msgid: {language: text}} into whichever
  catalogue holds each msgid (plural messages take a list of forms per language).
- check: list every string that lacks a translation in some language (the test suite fails
  on any), and translations whose %(placeholders)s differ from the original.
"""

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent  # the municipium package
LOCALE = ROOT / "locale"
LANGUAGES = ("pl", "sr", "bg", "lt", "fa")  # English is the source language
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|\{(\w*)\}")


def own_catalogues() -> list[Path]:
    """The apps that keep their own catalogue: every app folder with a `locale/` of its own.

    New apps (meetings, tariffs, siting, ...) keep their strings, templates and translations
    inside their package, so that work on one app never edits another's catalogue; Django
    finds an installed app's `locale/` by itself.
    """
    return sorted(p.parent for p in ROOT.glob("*/locale") if p.is_dir() and p.parent != ROOT)


def catalogues() -> list[Path]:
    """Every catalogue root: the project's (`municipium/locale`) and each app's own."""
    return [ROOT, *own_catalogues()]


def _po_path(language: str, root: Path = ROOT) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


def extract(root: Path = ROOT) -> Catalog:
    """The strings of one catalogue: the project's (all sources but the apps with their own
    catalogue, plus the top-level templates) or one app's (its sources and its templates)."""
    catalog = Catalog(project="municipium", charset="utf-8")
    template_method = "municipium.lib.messages:extract_django_template"
    if root == ROOT:
        ignored = [(f"{app.name}/**", "ignore") for app in own_catalogues()]
        sources = [
            (ROOT, [*ignored, ("**/tests/**", "ignore"), ("**.py", "python")]),
            (ROOT.parent / "templates", [("**.html", template_method)]),
        ]
    else:
        sources = [(root, [("**/tests/**", "ignore"), ("**.py", "python"), ("**.html", template_method)])]
    for source_dir, mapping in sources:
        if not source_dir.is_dir():
            continue
        for filename, lineno, message, comments, context in extract_from_dir(
            str(source_dir),
            method_map=mapping,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def extract_django_template(fileobj, keywords, comment_tags, options):
    """Babel extractor for Django templates, through Django's own templatize()."""
    import io

    from babel.messages.extract import extract_python
    from django.utils.translation.template import templatize

    source = fileobj.read().decode("utf-8")
    # templatize() keeps the template's indentation, which Python's tokenizer reads as
    # unexpected indents; stripping each line keeps line numbers and the strings.
    python = "\n".join(line.lstrip() for line in templatize(source).splitlines())
    yield from extract_python(io.BytesIO(python.encode("utf-8")), keywords, comment_tags, options)


def load(language: str, root: Path = ROOT) -> Catalog:
    path = _po_path(language, root)
    if not path.exists():
        return Catalog(locale=language, project="municipium", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _save(catalog: Catalog, language: str, root: Path = ROOT) -> None:
    path = _po_path(language, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # No "#: file:line" comments: they change whenever code moves and make parallel
        # branches conflict in every catalogue; msgids are sorted instead.
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True, no_location=True)


def update() -> None:
    for root in catalogues():
        template = extract(root)
        for language in LANGUAGES:
            catalog = load(language, root)
            # Keep the header's date: a new date on every update would make every branch
            # that touches strings conflict with every other in the header.
            template.creation_date = catalog.creation_date
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            _save(catalog, language, root)


def compile_all() -> None:
    for root in catalogues():
        for language in LANGUAGES:
            catalog = load(language, root)
            path = _po_path(language, root)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)


def _ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def _strs(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def problems() -> list[str]:
    """Every missing, fuzzy or placeholder-breaking translation, as readable lines."""
    found = []
    for root in catalogues():
        where = "" if root == ROOT else f" [{root.name}]"
        wanted = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in extract(root) if m.id}
        for language in LANGUAGES:
            catalog = load(language, root)
            have = {}
            for message in catalog:
                if message.id:
                    have[(message.id if isinstance(message.id, str) else message.id[0], message.context)] = message
            for key in sorted(wanted, key=lambda k: (k[0], k[1] or "")):
                found_message = have.get(key)
                if found_message is None or not all(_strs(found_message)) or found_message.fuzzy:
                    found.append(f"{language}{where}: no translation for {key[0]!r}")
                    continue
                expected = {m.group(0) for m in PLACEHOLDER.finditer(_ids(found_message)[0])}
                for text in _strs(found_message):
                    got = {m.group(0) for m in PLACEHOLDER.finditer(text)}
                    if got != expected:
                        found.append(
                            f"{language}{where}: placeholders {sorted(got)} instead of {sorted(expected)} in {key[0]!r}"
                        )
    return found


def fill(path: Path) -> int:
    """Write translations from a YAML file into the catalogues that hold each msgid.

    The file maps each English msgid to its translations, e.g.
    `"Planning": {pl: "Planowanie", sr: "Планирање", bg: ..., lt: ..., fa: ...}`; a plural
    message takes a list per language (one entry per plural form of that language). Returns
    how many msgids were found in no catalogue (run `update` first).
    """
    import yaml

    wanted = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unplaced = set(wanted)
    for root in catalogues():
        for language in LANGUAGES:
            catalog = load(language, root)
            changed = False
            for message in catalog:
                key = message.id if isinstance(message.id, str) else (message.id[0] if message.id else "")
                if key in wanted and language in wanted[key]:
                    text = wanted[key][language]
                    message.string = tuple(text) if isinstance(message.id, tuple | list) else text
                    message.flags.discard("fuzzy")
                    unplaced.discard(key)
                    changed = True
            if changed:
                _save(catalog, language, root)
    for key in sorted(unplaced):
        print(f"not in any catalogue: {key!r}", file=sys.stderr)
    return len(unplaced)


def main(argv: list[str]) -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "municipium.settings")
    django.setup()
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "fill" and len(argv) == 2:
        return 1 if fill(Path(argv[1])) else 0
    elif command == "check":
        lines = problems()
        print("\n".join(lines) or "all strings translated")
        return 1 if lines else 0
    else:
        print("usage: python -m municipium.lib.messages update|compile|check|fill FILE.yaml", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
