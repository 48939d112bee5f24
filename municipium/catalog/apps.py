from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "municipium.catalog"
    label = "catalog"
