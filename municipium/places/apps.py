from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "municipium.places"
    label = "places"
