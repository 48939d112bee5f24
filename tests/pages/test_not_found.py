"""A page that is not there reads in the reader's language, inside the site's frame, with a
way on (issue 19: a bare English "Not Found" under every language)."""

import pytest

pytestmark = pytest.mark.django_db

WAYS = {
    "en": "Page not found",
    "pl": "Nie znaleziono strony",
    "sr": "Страница није пронађена",
    "bg": "Страницата не е намерена",
    "lt": "Puslapis nerastas",
    "fa": "صفحه پیدا نشد",
}


@pytest.mark.parametrize("language", sorted(WAYS))
def test_an_unknown_address_is_not_found_in_the_readers_language_with_the_menu(client, language):
    response = client.get(f"/{language}/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert WAYS[language] in html
    assert f'lang="{language}"' in html
    assert 'class="navbar' in html  # the site's frame, so the reader can go on
    assert f'href="/{language}/compare/"' in html
    assert "Not Found" not in html


def test_a_shared_link_to_a_unit_that_is_not_there_is_not_found_in_the_readers_language(client):
    response = client.get("/sr/units/RS-NOPE/")
    assert response.status_code == 404
    assert WAYS["sr"] in response.content.decode()


def test_a_persian_not_found_page_is_right_to_left(client):
    html = client.get("/fa/no-such-page/").content.decode()
    assert 'dir="rtl"' in html


def test_the_error_page_titles_itself_without_a_middle_dot_in_persian(rf):
    """The page a crash shows (rendered without a request context) separates its title from
    'Municipium' as every page does: the Persian comma in Persian, not a dot read as a zero."""
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override("fa"):
        html = server_error(rf.get("/fa/")).content.decode()
    assert "، Municipium</title>" in html and "·" not in html
    assert "· Municipium</title>" in server_error(rf.get("/en/")).content.decode()


def test_a_shared_link_with_a_year_that_has_no_figures_is_not_found_in_the_readers_language(client):
    """Issue 19, item 10: also for a shared link with an unknown year."""
    from tests import factories as f

    f.indicator("nrw", "100 * water_produced / water_produced")
    response = client.get("/bg/indicators/nrw/?period=1850")
    assert response.status_code == 404
    html = response.content.decode()
    assert WAYS["bg"] in html and 'class="navbar' in html and "Not Found" not in html
