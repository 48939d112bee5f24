from django.urls import path

from . import indicator_views as indicator
from . import profile_views as profile

urlpatterns = [
    path("units/<str:code>/", profile.unit_profile, name="unit"),
    path("indicators/<str:code>/", indicator.indicator_page, name="indicator"),
    path("indicators/<str:code>/map.geojson", indicator.indicator_map, name="indicator-map"),
    path("indicators/<str:code>/data/", indicator.indicator_data, name="indicator-data"),
    path("indicators/<str:code>/chart/<slug:name>.<slug:format>", indicator.indicator_chart, name="indicator-chart"),
    path("compare/", profile.compare, name="compare"),
    path("embed/indicators/<str:code>/<slug:name>/", indicator.indicator_embed, name="indicator-embed"),
]
