"""What a laid-out PDF holds, page by page (WeasyPrint's boxes: no PDF text extractor needed)."""

from weasyprint.formatting_structure import boxes


def _content(page):
    """The boxes of the page's own content: not its margin boxes (the page number)."""
    for child in page._page_box.children:
        if not isinstance(child, boxes.MarginBox):
            yield from child.descendants()


def page_texts(document) -> list[str]:
    return [" ".join(b.text for b in _content(page) if isinstance(b, boxes.TextBox)) for page in document.pages]


def page_fill(document) -> list[float]:
    """How far down each page its content reaches, as a share of the page's content height."""
    shares = []
    for page in document.pages:
        box = page._page_box
        top = box.content_box_y()
        bottom = max(
            (
                b.position_y + b.margin_height()
                for b in _content(page)
                if isinstance(b, boxes.TextBox | boxes.InlineReplacedBox)
            ),
            default=top,
        )
        shares.append((bottom - top) / box.height)
    return shares
