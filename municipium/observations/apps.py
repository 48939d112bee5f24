from django.apps import AppConfig


class ObservationsConfig(AppConfig):
    name = "municipium.observations"
    label = "observations"
