"""What a page must not write in a language. Persian writes its zero as a dot (۰), so a
middle dot between the parts of a line reads there as a zero: Persian pages separate them
with the Persian comma ({% sep %}, numbers.separator) (issue 19, item 4)."""

import re


def middle_dots(html: str) -> list[str]:
    """Each middle dot the page writes (text, title or attribute), with what is around it:
    empty when there is none, so `assert not middle_dots(page)` names the places it fails."""
    return [html[max(0, m.start() - 60) : m.end() + 60] for m in re.finditer("·", html)]
